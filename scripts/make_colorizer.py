"""Train the colorizer that ships with autoenc (autoenc/assets/colorizer_y2uv_photos.ckpt):
32-48-64_single, y2uv, on the offline photos, 15 epochs (about 1.5 min on a 2-core CPU).

    python scripts/make_colorizer.py [extra train.py overrides]
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
    run = ROOT / "outputs" / "colorizer"
    shutil.rmtree(run, ignore_errors=True)  # a fresh run, so its checkpoint is best.ckpt
    cmd = [sys.executable, str(ROOT / "train.py"), "arch=32-48-64_single", "task=y2uv", "dataset=photos",
           f"hydra.run.dir={run}", *sys.argv[1:]]  # fmt: skip
    subprocess.run(cmd, check=True)
    slim_checkpoint(run / "checkpoints" / "best.ckpt", ASSET)
    print(f"wrote {ASSET} ({ASSET.stat().st_size // 1024} KiB); its run: {run}")
