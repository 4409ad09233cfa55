"""What a trained network's latent space holds.

    python scripts/latents.py ckpt=outputs/runs/<run>/checkpoints/best.ckpt              # its own data, test split
    python scripts/latents.py ckpt=... dataset=images dataset.root=<folder with a sub-folder per class>
    python scripts/latents.py ckpt=... map=pca queries=[10,20] interpolate=[3,7] probe=false

Writes into output_dir (outputs/latents/<time>/): codes.npz (each picture's code, `codes`
(N, latent_size) float32, and `labels`, its class or -1, with the `classes` names), map.png
(t-SNE or PCA of the codes, coloured by class), neighbours.png (each query picture and its
nearest neighbours in code space), interpolation.png (two pictures and the decoded codes between
them) and latents.json (the linear probe's accuracy on the test split, and with
probe_pixels=true the same probe's on the pictures' own pixels, the baseline; the settings). Classes:
cifar10's labels; dataset=images takes a picture's class from the folder it is in, as
torchvision's ImageFolder does; dataset=array a .npz file's `labels`.
"""

import json
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from autoenc import CONF


def latents(cfg: DictConfig) -> dict:
    import numpy as np

    from autoenc import UserError
    from autoenc.data.datamodule import ImageDataModule
    from autoenc.inference.checkpoints import load_checkpoint
    from autoenc.inference.evaluate import dataset_of
    from autoenc.inference.latent_plots import plot_interpolation, plot_map, plot_neighbours
    from autoenc.inference.latents import check_labelled, encode, probe_model

    if OmegaConf.is_missing(cfg, "ckpt"):
        raise UserError("give the checkpoint: python scripts/latents.py ckpt=outputs/runs/.../checkpoints/best.ckpt")
    if cfg.split not in ("train", "val", "test", "all") or cfg.map not in ("tsne", "pca"):
        raise UserError(f"split={cfg.split}, map={cfg.map}: split is train, val, test or all; map is tsne or pca")
    model, ckpt = load_checkpoint(cfg.ckpt)
    dataset = dataset_of(cfg, ckpt, cfg.ckpt)
    data = ImageDataModule(**dataset)
    data.setup()
    images = {"train": data.train_set, "val": data.val_set, "test": data.test_set, "all": data.all_set}[cfg.split]
    labels = data.labels[cfg.split]
    check_choices(cfg, len(images))
    if cfg.probe:
        check_labelled(data.labels["train"], data.labels["test"])  # before the time the codes take
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    codes = encode(model, images)
    np.savez(out / "codes.npz", codes=codes.numpy(), labels=labels.numpy(), classes=np.array(data.classes))
    shown = slice(0, min(cfg.map_pictures, len(codes)))
    plot_map(codes[shown], labels[shown], data.classes, cfg.map, out / "map.png")
    near = plot_neighbours(images, codes, list(cfg.queries), cfg.neighbours, out / "neighbours.png")
    plot_interpolation(
        model, images[cfg.interpolate[0]], images[cfg.interpolate[1]], cfg.steps, out / "interpolation.png"
    )
    result = {
        "checkpoint": str(cfg.ckpt),
        "dataset": data.name,
        "split": cfg.split,
        "pictures": len(codes),
        "latent_size": codes.shape[1],
        "classes": data.classes,
        "neighbours": dict(zip(cfg.queries, near, strict=True)),
    }
    if cfg.probe:
        result |= probe_model(model, data, cfg.probe_pictures)
    if cfg.probe_pixels:  # the same probe on the pictures' pixels: what the code adds, or loses
        result["pixels_probe_accuracy"] = probe_model(None, data, cfg.probe_pictures)["probe_accuracy"]
    (out / "latents.json").write_text(json.dumps(result, indent=1))
    probe = f"; linear probe {result['probe_accuracy']:.3f} on the test split" if cfg.probe else ""
    probe += f" (on pixels {result['pixels_probe_accuracy']:.3f})" if cfg.probe_pixels else ""
    print(f"autoenc latents: {len(codes)} codes of {codes.shape[1]}{probe} -> {out}/")
    return result


def check_choices(cfg: DictConfig, pictures: int) -> None:
    """The pictures asked for (queries, interpolate) within the split; the counts possible."""
    from autoenc import UserError

    picked = [*cfg.queries, *cfg.interpolate]
    if len(cfg.interpolate) != 2 or any(not 0 <= i < pictures for i in picked):
        raise UserError(
            f"queries={list(cfg.queries)}, interpolate={list(cfg.interpolate)}: indices of the "
            f"{cfg.split} split (0 to {pictures - 1}); interpolate takes two"
        )
    if cfg.steps < 2 or cfg.neighbours < 1 or cfg.map_pictures < 2:
        raise UserError("steps must be at least 2, neighbours at least 1, map_pictures at least 2")


@hydra.main(version_base="1.3", config_path=str(CONF), config_name="latents")
def main(cfg: DictConfig) -> None:
    from autoenc import UserError

    try:
        latents(cfg)
    except UserError as e:
        sys.exit(f"error: {e}")


def run() -> None:
    """The console script autoenc-latents."""
    main()


if __name__ == "__main__":
    run()
