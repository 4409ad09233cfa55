"""Colorize (or reconstruct) pictures of any size with a trained autoenc model.

    python scripts/colorize.py input=old_photo.jpg output=colour.png     # the shipped colorizer
    python scripts/colorize.py model=vivid input=old_photo.jpg output=colour.png   # the vivid one (saturation 2.1)
    python scripts/colorize.py ckpt=outputs/runs/.../checkpoints/best.ckpt input=some/folder output=out/folder
    options: side_by_side=true (input | output), device=cpu|cuda|auto, batch_size=16,
             temperature=0.2 (models trained with loss=classify: more vivid below their T, duller above),
             saturation=1.5 (colour tasks: the predicted chroma times this; 1 as predicted, 0 gray)

The task (y2uv, gray2rgb, l2ab, reconstruct) comes from the checkpoint. Colour tasks keep the
input's own full-resolution luminance and take only the colour from the model. Pictures are
read as a viewer shows them (EXIF orientation, colour profile to sRGB, 16-bit scaled to 8, the
first frame of an animation); a transparent picture's alpha goes back onto its output. Unreadable
pictures in a folder are reported and skipped.
"""

import sys
from pathlib import Path

from omegaconf import OmegaConf

from autoenc import UserError
from autoenc.inference.checkpoints import (
    SHIPPED_COLORIZER,
    VIVID_COLORIZER,
    load_checkpoint,
    set_saturation,
    set_temperature,
)
from autoenc.inference.predict import picture_files, run_on_files

MODELS = {"default": SHIPPED_COLORIZER, "vivid": VIVID_COLORIZER}  # model=...: the shipped colorizers
DEFAULTS = {
    "ckpt": None,
    "model": "default",
    "input": None,
    "output": None,
    "side_by_side": False,
    "device": "auto",
    "batch_size": 16,
    "temperature": None,
    "saturation": None,
}


def main(argv: list[str]) -> int:
    try:
        args = OmegaConf.merge(DEFAULTS, OmegaConf.from_dotlist(argv))
        unknown = set(args) - set(DEFAULTS)
        if unknown or args.input is None or args.output is None:
            raise UserError(
                f"usage: colorize.py input=PATH output=PATH [{', '.join(k for k in DEFAULTS)}=...]"
                + (f"; unknown: {', '.join(sorted(unknown))}" if unknown else "")
            )
        if args.batch_size < 1:
            raise UserError(f"batch_size={args.batch_size}: must be a positive integer")
        import torch

        device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
        if args.model not in MODELS:
            raise UserError(f"model={args.model}: must be one of {', '.join(MODELS)} (or give ckpt=<checkpoint>)")
        model, _ = load_checkpoint(args.ckpt or MODELS[args.model], device)
        if args.temperature is not None:
            set_temperature(model, args.temperature)
        if args.saturation is not None:
            set_saturation(model, args.saturation)
        src, dst = Path(args.input), Path(args.output)
        if src.is_dir():
            jobs = [(p, (dst / p.relative_to(src)).with_suffix(".png")) for p in picture_files(src)]
            if not jobs:
                raise UserError(f"no pictures under {src}")
        elif src.is_file():
            jobs = [(src, dst / f"{src.stem}.png" if dst.is_dir() else dst)]
        else:
            raise UserError(f"input={src}: no such file or folder")
        written, messages = run_on_files(model, jobs, args.batch_size, args.side_by_side, progress=len(jobs) > 1)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for message in messages:
        print(message, file=sys.stderr)
    problems = [m for m in messages if m.startswith("skipped:")]
    skipped = f", skipped {len(problems)}" if problems else ""
    print(f"{model.task.name}: wrote {written} picture(s) to {dst}{skipped}")
    return 0 if written else 1


def run() -> None:
    """The console script autoenc-colorize."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    run()
