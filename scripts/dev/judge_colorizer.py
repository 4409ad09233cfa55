"""Judge a colorizer on colour photos it never saw (scikit-image's), turned gray: RGB MSE of its
colours and of the plain gray picture against the truth, colourfulness (the ratio to the truth's,
and the field's error |CF_pred - CF_truth| / CF_truth, with its median over the photos), colour
distance (1 - the overlap of the predicted and true a,b histograms: whether the colours are the
right ones, not just strong), and input | output | truth pictures.

    python scripts/dev/judge_colorizer.py [ckpt=<checkpoint>] [out=docs] [names=astronaut,coffee,...]
        [temperature=T] (loss=classify models) [saturation=S] (the chroma times S)
        [beside=<checkpoint>] (its output too: gray | beside | ckpt | truth)
        [tag=_vivid] (picture names: colorize_<photo><tag>.png)
        [split_root=data/cifar10-jpeg] (also its scores on that folder's test split, the study's split)
        [record=docs/anchors/colorizers.json name=<its name there>] (the scores kept in a json record)
"""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf

from autoenc.inference.checkpoints import SHIPPED_COLORIZER, load_checkpoint, set_saturation, set_temperature
from autoenc.inference.predict import predict_rgb, to_picture, to_tensor
from autoenc.model.colour import ColourMaths
from autoenc.model.metrics import colour_distance, colourfulness, colourfulness_error
from autoenc.speed.settings import cpu_name

ROOT = Path(__file__).resolve().parents[2]

DEFAULTS = {
    "ckpt": str(SHIPPED_COLORIZER),
    "out": None,
    "temperature": None,
    "saturation": None,
    "beside": None,
    "tag": "",
    "names": "astronaut,coffee,chelsea,rocket,hubble_deep_field,immunohistochemistry",
    "split_root": None,
    "record": None,
    "name": None,
}
SPLIT_SCORES = ("test_mse_rgb", "test_colour_distance", "test_colourfulness_ratio", "test_colourfulness_error")


def gray(rgb: torch.Tensor) -> torch.Tensor:
    """(1, 3, H, W) in [-1, 1] -> its luma (BT.601, YUV's Y) in all three channels."""
    weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    return (rgb * weights).sum(1, keepdim=True).expand(-1, 3, -1, -1)


def judge_photos(model, args) -> list[dict]:
    """Each photo's scores (and its strip into args.out), printed as a table with the median error."""
    import skimage.data
    from PIL import Image

    beside = load_checkpoint(args.beside)[0] if args.beside else None
    lab = lambda x: ColourMaths().rgb_to_lab((x.clamp(-1, 1) + 1) / 2)  # noqa: E731
    print(
        "| photo | size | RGB MSE, colorized | RGB MSE, gray | colourfulness, colorized / truth | "
        "colourfulness error | colour distance, colorized | colour distance, gray |"
    )
    print("|---|---|--:|--:|--:|--:|--:|--:|")
    rows = []
    for name in str(args.names).split(","):
        truth = to_tensor(np.ascontiguousarray(getattr(skimage.data, name)()[..., :3]))
        gray_input = gray(truth)
        out = predict_rgb(model, gray_input)
        mse_out, mse_gray = (torch.mean((x - truth) ** 2).item() for x in (out, gray_input))
        cf_out, cf_truth = colourfulness((out + 1) / 2), colourfulness((truth + 1) / 2)
        ratio, error = (cf_out / cf_truth).item(), colourfulness_error(cf_out, cf_truth).item()
        dist_out, dist_gray = (colour_distance(lab(x), lab(truth)).item() for x in (out, gray_input))
        rows.append(
            {
                "photo": name,
                "rgb_mse": mse_out,
                "colourfulness_ratio": ratio,
                "colourfulness_error": error,
                "colour_distance": dist_out,
            }
        )
        h, w = truth.shape[-2:]
        print(
            f"| {name} | {w}x{h} | {mse_out:.4f} | {mse_gray:.4f} | {ratio:.2f} | {error:.2f} | "
            f"{dist_out:.3f} | {dist_gray:.3f} |"
        )
        if args.out:
            panels = (gray_input, *([predict_rgb(beside, gray_input)] if beside else []), out, truth)
            strip = np.concatenate([to_picture(x[0]) for x in panels], axis=1)
            Path(args.out).mkdir(parents=True, exist_ok=True)
            Image.fromarray(strip).save(Path(args.out) / f"colorize_{name}{args.tag}.png")
    errors = [r["colourfulness_error"] for r in rows]
    within = sum(e <= 0.2 for e in errors)
    print(f"| median of {len(errors)} | | | | | {np.median(errors):.2f} ({within} within 20%) | | |")
    return rows


def split_scores(args) -> dict:
    """The checkpoint's scores on the test split of the pictures in args.split_root (eval.py's path)."""
    from hydra import compose, initialize_config_dir

    from autoenc import CONF
    from autoenc.inference.evaluate import evaluate

    overrides = [f"ckpt_path={args.ckpt}", "dataset=images", f"dataset.root={args.split_root}", "split=test"]
    overrides += [f"{key}={args[key]}" for key in ("temperature", "saturation") if args[key] is not None]
    with tempfile.TemporaryDirectory() as out, initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        metrics = evaluate(compose("eval", overrides=[*overrides, f"output_dir={out}"]))
    kept = (*SPLIT_SCORES, "params", "arch", "widths", "block", "skips", "epochs", "loss")
    return {key: metrics[key] for key in kept} | {"images": metrics["evaluated"]["images"]}


def keep(args, photos: list[dict], split: dict | None) -> None:
    """This colorizer's scores into the json record (other colorizers' entries kept)."""
    path = Path(args.record)
    record = json.loads(path.read_text()) if path.is_file() else {}
    record[args.name or Path(args.ckpt).stem] = {
        "command": "python scripts/dev/judge_colorizer.py " + " ".join(sys.argv[1:]),
        "host": cpu_name(),
        "photos": photos,
        "photos_median_colourfulness_error": float(np.median([p["colourfulness_error"] for p in photos])),
        "photos_within_20_percent": sum(p["colourfulness_error"] <= 0.2 for p in photos),
        "test_split": split,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")


def main(argv: list[str]) -> int:
    args = OmegaConf.merge(DEFAULTS, OmegaConf.from_dotlist(argv))
    model, _ = load_checkpoint(args.ckpt)
    if args.temperature is not None:
        set_temperature(model, args.temperature)
    if args.saturation is not None:
        set_saturation(model, args.saturation)
    photos = judge_photos(model, args)
    split = split_scores(args) if args.split_root else None
    if split:
        print("test split: " + ", ".join(f"{k} {split[k]:.4f}" for k in SPLIT_SCORES))
    if args.record:
        keep(args, photos, split)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
