"""Judge a colorizer on colour photos it never saw (scikit-image's), turned gray: RGB MSE of its
colours and of the plain gray picture against the truth, colourfulness (the ratio to the truth's,
and the field's error |CF_pred - CF_truth| / CF_truth, with its median over the photos), colour
distance (1 - the overlap of the predicted and true a,b histograms: whether the colours are the
right ones, not just strong), and input | output | truth pictures.

    python scripts/dev/judge_colorizer.py [ckpt=<checkpoint>] [out=docs] [names=astronaut,coffee,...]
        [temperature=T] (loss=classify models) [saturation=S] (the chroma times S)
        [beside=<checkpoint>] (its output too: gray | beside | ckpt | truth)
        [tag=_vivid] (picture names: colorize_<photo><tag>.png)
"""

import sys
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf

from autoenc.inference.checkpoints import SHIPPED_COLORIZER, load_checkpoint, set_saturation, set_temperature
from autoenc.inference.predict import predict_rgb, to_picture, to_tensor
from autoenc.model.colour import ColourMaths
from autoenc.model.metrics import colour_distance, colourfulness

ROOT = Path(__file__).resolve().parents[2]

DEFAULTS = {
    "ckpt": str(SHIPPED_COLORIZER),
    "out": None,
    "temperature": None,
    "saturation": None,
    "beside": None,
    "tag": "",
    "names": "astronaut,coffee,chelsea,rocket,hubble_deep_field,immunohistochemistry",
}


def gray(rgb: torch.Tensor) -> torch.Tensor:
    """(1, 3, H, W) in [-1, 1] -> its luma (BT.601, YUV's Y) in all three channels."""
    weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    return (rgb * weights).sum(1, keepdim=True).expand(-1, 3, -1, -1)


def main(argv: list[str]) -> int:
    import skimage.data
    from PIL import Image

    args = OmegaConf.merge(DEFAULTS, OmegaConf.from_dotlist(argv))
    model, _ = load_checkpoint(args.ckpt)
    if args.temperature is not None:
        set_temperature(model, args.temperature)
    if args.saturation is not None:
        set_saturation(model, args.saturation)
    beside = load_checkpoint(args.beside)[0] if args.beside else None
    lab = lambda x: ColourMaths().rgb_to_lab((x.clamp(-1, 1) + 1) / 2)  # noqa: E731
    print(
        "| photo | size | RGB MSE, colorized | RGB MSE, gray | colourfulness, colorized / truth | "
        "colourfulness error | colour distance, colorized | colour distance, gray |"
    )
    print("|---|---|--:|--:|--:|--:|--:|--:|")
    errors = []
    for name in str(args.names).split(","):
        truth = to_tensor(np.ascontiguousarray(getattr(skimage.data, name)()[..., :3]))
        gray_input = gray(truth)
        out = predict_rgb(model, gray_input)
        mse_out, mse_gray = (torch.mean((x - truth) ** 2).item() for x in (out, gray_input))
        ratio = (colourfulness((out + 1) / 2) / colourfulness((truth + 1) / 2)).item()
        h, w = truth.shape[-2:]
        dist_out, dist_gray = (colour_distance(lab(x), lab(truth)).item() for x in (out, gray_input))
        errors.append(abs(ratio - 1))  # |CF_pred - CF_truth| / CF_truth
        print(
            f"| {name} | {w}x{h} | {mse_out:.4f} | {mse_gray:.4f} | {ratio:.2f} | {errors[-1]:.2f} | "
            f"{dist_out:.3f} | {dist_gray:.3f} |"
        )
        if args.out:
            panels = (gray_input, *([predict_rgb(beside, gray_input)] if beside else []), out, truth)
            strip = np.concatenate([to_picture(x[0]) for x in panels], axis=1)
            Path(args.out).mkdir(parents=True, exist_ok=True)
            Image.fromarray(strip).save(Path(args.out) / f"colorize_{name}{args.tag}.png")
    within = sum(e <= 0.2 for e in errors)
    print(f"| median of {len(errors)} | | | | | {np.median(errors):.2f} ({within} within 20%) | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
