"""Export a trained autoenc network to ONNX, with dynamic batch, height and width.

    python scripts/export_onnx.py ckpt=outputs/runs/.../checkpoints/best.ckpt output=model.onnx

The graph maps the task's input to its output in task space, on the [-1, 1] scale (e.g. y2uv:
Y (N, 1, H, W) -> U, V (N, 2, H, W)); H and W must be multiples of the model's stride, stored
with the task in the model's metadata (autoenc.task, autoenc.stride, ...).
"""

import sys
from pathlib import Path

from omegaconf import OmegaConf

from autoenc import UserError
from autoenc.inference.export import export_onnx

DEFAULTS = {"ckpt": None, "output": None, "opset": 17}


def main(argv: list[str]) -> int:
    try:
        args = OmegaConf.merge(DEFAULTS, OmegaConf.from_dotlist(argv))
        if set(args) - set(DEFAULTS) or args.ckpt is None or args.output is None:
            raise UserError("usage: export_onnx.py ckpt=PATH output=PATH.onnx [opset=17]")
        meta = export_onnx(args.ckpt, Path(args.output), args.opset)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.output}: {meta}")
    return 0


def run() -> None:
    """The console script autoenc-export-onnx."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    run()
