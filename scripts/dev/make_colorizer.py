"""Make the colorizers that ship with autoenc.

    python scripts/dev/make_colorizer.py root=data/cifar10-jpeg [extra train.py overrides]
    python scripts/dev/make_colorizer.py root=data/cifar10-jpeg vivid=true [ckpt=<a colour checkpoint>]
    options: out=<file> (instead of the asset), run=<folder> (the training's, instead of outputs/colorizer)

The default trains autoenc/assets/colorizer_y2uv_cifar.ckpt: 32-48-64_single, y2uv, 15 epochs on
CIFAR-10's pictures given as a folder (for example the JPEG copy of its 60,000 pictures; about 13
minutes on a 2-core CPU without AMX).

vivid=true makes autoenc/assets/colorizer_y2uv_vivid.ckpt: the same colorizer (trained as above,
or ckpt=... an existing one, e.g. the shipped colorizer: seconds) decoded with a saturation gain
(task.saturation) chosen on the validation split of its pictures: the largest gain of 1.0, 1.1,
..., 4.0 at which the RGB MSE is still at or under the gray picture's. The MSE-trained net predicts
the mean of the colours it cannot tell apart, a washed-out colour; the gain restores the strength
(README, "Vivid colour", compares it with loss=classify).
"""

import subprocess
import sys
from pathlib import Path

import torch

from autoenc import UserError
from autoenc.data.datamodule import ImageDataModule
from autoenc.inference.checkpoints import (
    SHIPPED_COLORIZER,
    VIVID_COLORIZER,
    load_checkpoint,
    set_saturation,
    slim_checkpoint,
)
from autoenc.model.tasks import to_unit_rgb

ROOT = Path(__file__).resolve().parents[2]

GAINS = [round(1 + i / 10, 1) for i in range(31)]  # 1.0 .. 4.0
OURS = ("root=", "vivid=", "ckpt=", "out=", "run=")


def option(argv: list[str], name: str) -> str | None:
    values = [a.split("=", 1)[1] for a in argv if a.startswith(f"{name}=")]
    return values[-1] if values else None


def train_colorizer(root: str, run: Path, overrides: list[str]) -> Path:
    """The shipped colorizer's training, trained afresh into run (retrain=true: an earlier run there is
    set aside, not deleted) -> its best checkpoint."""
    cmd = [
        sys.executable,
        str(ROOT / "train.py"),
        "arch=32-48-64_single",
        "task=y2uv",
        "dataset=images",
        f"dataset.root={root}",
        "trainer.max_epochs=15",
        "trainer.enable_progress_bar=false",
        "retrain=true",
        f"hydra.run.dir={run}",
        *overrides,
    ]
    if subprocess.run(cmd).returncode != 0:
        raise UserError("the colorizer's training failed (its message is above); nothing written to the assets")
    return run / "checkpoints" / "best.ckpt"


@torch.no_grad()
def saturation_curve(ckpt: Path, root: str | None) -> list[tuple[float, float, float]]:
    """(gain, RGB MSE, the gray picture's RGB MSE) on the validation split of the checkpoint's own
    data (root: its pictures, where they are now), as the test step scores RGB."""
    model, saved = load_checkpoint(ckpt)
    if "datamodule_hyper_parameters" not in saved and root is None:
        raise UserError(f"{ckpt} does not say which pictures it was trained on: add root=<folder of those pictures>")
    dataset = dict(saved.get("datamodule_hyper_parameters") or {"name": "images"})
    data = ImageDataModule(**{**dataset, "on_device": False, **({"root": root} if root else {})})
    data.setup()
    rgb = to_unit_rgb(data.val_set, channels_last=False)
    x, _ = model.task.split(rgb)
    set_saturation(model, 1.0)
    output = torch.cat([model(part) for part in x.split(512)])
    gray = torch.mean((model.task.colour.gray(rgb).expand(-1, 3, -1, -1) - rgb) ** 2).item()
    curve = []
    for gain in GAINS:
        set_saturation(model, gain)
        curve.append((gain, torch.mean((model.task.to_rgb(x, model.task.saturate(output)) - rgb) ** 2).item(), gray))
    return curve


def choose_gain(curve: list[tuple[float, float, float]]) -> float:
    """The largest gain whose RGB MSE is at or under the gray picture's (1.0 if none is)."""
    return max((gain for gain, mse, gray in curve if mse <= gray), default=1.0)


def main(argv: list[str]) -> int:
    try:
        return make(argv)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


def make(argv: list[str]) -> int:
    root, vivid, ckpt = option(argv, "root"), option(argv, "vivid") == "true", option(argv, "ckpt")
    overrides = [a for a in argv if not a.startswith(OURS)]
    if ckpt and not vivid:
        raise UserError("ckpt=... is for vivid=true (a gain for an existing colorizer); the default trains one")
    if ckpt and overrides:
        raise UserError(f"{' '.join(overrides)}: train.py overrides, but vivid=true ckpt=... trains nothing")
    if root is None and not ckpt:
        raise UserError(
            "usage: python scripts/dev/make_colorizer.py root=<folder of CIFAR-10's pictures> [vivid=true "
            "[ckpt=<checkpoint>]] [out=<file>] [run=<folder>] [train.py overrides]"
        )
    out = Path(option(argv, "out") or (VIVID_COLORIZER if vivid else SHIPPED_COLORIZER))
    run = Path(option(argv, "run") or ROOT / "outputs" / "colorizer")
    source = Path(ckpt) if ckpt else train_colorizer(root, run, overrides)
    if not vivid:
        slim_checkpoint(source, out)
        print(f"wrote {out} ({out.stat().st_size // 1024} KiB) from {source}")
        return 0
    curve = saturation_curve(source, root)
    print("| saturation | val RGB MSE | gray picture |\n|--:|--:|--:|")
    for gain, mse, gray in curve:
        print(f"| {gain:.1f} | {mse:.5f} | {gray:.5f} |")
    gain = choose_gain(curve)
    slim_checkpoint(source, out, saturation=gain)
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB): {source} at saturation {gain}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
