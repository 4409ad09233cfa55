"""Train the colorizer that ships with autoenc (autoenc/assets/colorizer_y2uv_cifar.ckpt):
32-48-64_single, y2uv, 15 epochs on CIFAR-10's pictures, given as a folder (for example the
JPEG copy of CIFAR-10's 60,000 pictures; about 13 minutes on a 2-core CPU without AMX).

    python scripts/make_colorizer.py root=data/cifar10-jpeg [extra train.py overrides]
"""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autoenc.inference import SHIPPED_COLORIZER as ASSET  # noqa: E402
from autoenc.inference import slim_checkpoint  # noqa: E402

if __name__ == "__main__":
    roots = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("root=")]
    if not roots:
        sys.exit("usage: python scripts/make_colorizer.py root=<folder of CIFAR-10's pictures> [train.py overrides]")
    run = ROOT / "outputs" / "colorizer"
    shutil.rmtree(run, ignore_errors=True)  # a fresh run, so its checkpoint is best.ckpt
    cmd = [sys.executable, str(ROOT / "train.py"), "arch=32-48-64_single", "task=y2uv", "dataset=images",
           f"dataset.root={roots[0]}", "trainer.max_epochs=15", "trainer.enable_progress_bar=false",
           f"hydra.run.dir={run}", *(a for a in sys.argv[1:] if not a.startswith("root="))]  # fmt: skip
    subprocess.run(cmd, check=True)
    slim_checkpoint(run / "checkpoints" / "best.ckpt", ASSET)
    print(f"wrote {ASSET} ({ASSET.stat().st_size // 1024} KiB); its run: {run}")
