"""Train the colorizer that ships with autoenc (autoenc/assets/colorizer_y2uv_cifar.ckpt):
32-48-64_single, y2uv, 15 epochs on CIFAR-10's pictures, given as a folder (for example the
JPEG copy of CIFAR-10's 60,000 pictures; about 13 minutes on a 2-core CPU without AMX).

    python scripts/make_colorizer.py root=data/cifar10-jpeg [extra train.py overrides]
    python scripts/make_colorizer.py root=data/cifar10-jpeg vivid=true [temperature=T]

vivid=true trains the vivid colorizer instead (autoenc/assets/colorizer_y2uv_vivid.ckpt): the
same with loss=classify (colour as a class, autoenc/loss.py) for 8 epochs (its 100-class output
trains at about 540 pictures/s on a 2-core AMD EPYC: 12 minutes), shipped decoding at temperature T
(default: the training's 0.38; README, "Vivid colour", says how T was chosen).
"""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autoenc.inference import SHIPPED_COLORIZER, VIVID_COLORIZER, slim_checkpoint  # noqa: E402


def option(name: str) -> str | None:
    values = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith(f"{name}=")]
    return values[-1] if values else None


if __name__ == "__main__":
    root, vivid, temperature = option("root"), option("vivid") == "true", option("temperature")
    if root is None:
        sys.exit("usage: python scripts/make_colorizer.py root=<folder of CIFAR-10's pictures> [vivid=true "
                 "[temperature=T]] [train.py overrides]")  # fmt: skip
    asset, run = (
        (VIVID_COLORIZER, ROOT / "outputs" / "colorizer_vivid")
        if vivid
        else (SHIPPED_COLORIZER, ROOT / "outputs" / "colorizer")
    )
    shutil.rmtree(run, ignore_errors=True)  # a fresh run, so its checkpoint is best.ckpt
    ours = ("root=", "vivid=", "temperature=")
    cmd = [sys.executable, str(ROOT / "train.py"), "arch=32-48-64_single", "task=y2uv", "dataset=images",
           f"dataset.root={root}", f"trainer.max_epochs={8 if vivid else 15}", "trainer.enable_progress_bar=false",
           *(["loss=classify"] if vivid else []), f"hydra.run.dir={run}",
           *(a for a in sys.argv[1:] if not a.startswith(ours))]  # fmt: skip
    subprocess.run(cmd, check=True)
    # vivid: the last epoch's, not the lowest val MSE's: more vivid colours cost MSE, so val MSE picks the
    # least trained epoch (the classes' own val loss is not monitored yet)
    ckpt = run / "checkpoints" / ("last.ckpt" if vivid else "best.ckpt")
    slim_checkpoint(ckpt, asset, temperature=float(temperature) if temperature else None)
    print(f"wrote {asset} ({asset.stat().st_size // 1024} KiB); its run: {run}")
