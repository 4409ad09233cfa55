"""Training speed as a user sees it: `python train.py ...` in a new process, exactly as typed
(progress bar, TensorBoard, checkpoints, image grids: the defaults), against a plain PyTorch
loop in its own process and the bare training step, on the same pictures and the same split.

    python scripts/dev/bench_user.py                         # 4 archs, 16,000 and 48,000 training images
    python scripts/dev/bench_user.py --archs classic --sizes 16000 --repeats 3 --epochs 3

  plain:    a 30-line loop a user writes from NHWC uint8 arrays: permute -> float (channels_last
            strides, so the fast kernels unasked), fp32, shuffled slices, Adam, batch 64.
  train.py: `python train.py arch=<a> dataset=images dataset.root=<pictures> trainer.max_epochs=E`,
            its output to a log file; metrics.json's train_images_per_s.
  bare:     the step alone, in train.py's precision and layout, on one fixed batch (the ceiling).
Training images/s, validation excluded on every side, median over epochs; the variants
alternate within each repeat and the table gives medians of repeats and of per-repeat ratios.
Pictures: CIFAR-sized tiles of the offline `photos` (scripts/dev/bench.py), the study's 80/10/10.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from bench import ARCHS, BATCH, bare, make_images

from autoenc.data.datamodule import ImageDataModule
from autoenc.model.cae import CAE
from autoenc.speed.settings import cpu_name

ROOT = Path(__file__).resolve().parents[2]

DEFAULT_ARCHS = ["classic", "4-6-8", "32-48-64_single", "32-48-64_double"]


def plain_loop(arch: str, root: str, epochs: int) -> dict:
    """The plain loop (run in its own process by --plain): training images/s of each epoch."""
    data = load(root)  # the same pictures and split as train.py; loading is not timed on either side
    torch.manual_seed(0)
    train_x, val_x = data.train_set.numpy(), data.val_set.numpy()  # uint8 NHWC arrays, as a user has them
    to_float = lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).float().div(127.5).sub(1)  # noqa: E731
    model = CAE(*ARCHS[arch], 3, 3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    per_epoch, val = [], float("nan")
    for _ in range(epochs):
        order = torch.randperm(len(train_x)).numpy()
        start = time.perf_counter()
        for i in range(0, len(order), BATCH):
            x = to_float(train_x[order[i : i + BATCH]])
            loss = F.mse_loss(model(x), x)
            opt.zero_grad()
            loss.backward()
            opt.step()
        per_epoch.append(len(order) / (time.perf_counter() - start))
        with torch.no_grad():
            val = sum(F.mse_loss(model(x), x, reduction="sum").item() for x in to_float(val_x).split(BATCH))
        val /= val_x.size
    return {"train_images_per_s": statistics.median(per_epoch), "epochs": per_epoch, "val_mse": val}


def load(root: str | Path) -> ImageDataModule:
    data = ImageDataModule("images", root=str(root), cache_dir="auto")
    data.setup()
    return data


def run_plain(arch: str, root: Path, epochs: int) -> dict:
    cmd = [sys.executable, __file__, "--plain", arch, str(root), str(epochs)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_train_py(arch: str, root: Path, epochs: int, out: Path, extra: list[str]) -> dict:
    """`python train.py` as typed, output to a log file as a user redirects it."""
    cmd = [
        sys.executable,
        "train.py",
        f"arch={arch}",
        "dataset=images",
        f"dataset.root={root}",
        f"trainer.max_epochs={epochs}",
        f"hydra.run.dir={out}",
        *extra,
    ]
    start = time.perf_counter()
    with open(out.with_suffix(".log"), "w") as log:
        subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=True, cwd=ROOT)
    metrics = json.loads((out / "metrics.json").read_text())
    return {
        "train_images_per_s": metrics["train_images_per_s"],
        "wall_s": time.perf_counter() - start,
        "test_mse": metrics["test_mse"],
        "precision": metrics["precision"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", nargs="+", default=DEFAULT_ARCHS, choices=list(ARCHS))
    parser.add_argument("--sizes", nargs="+", type=int, default=[16_000, 48_000], help="training images")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--extra", nargs="*", default=[], help="more overrides for train.py (a variant to try)")
    args = parser.parse_args()
    if any(size <= 0 or size % 80 for size in args.sizes):
        parser.error(f"--sizes {args.sizes}: each must be a positive multiple of 80 (80% of a multiple of 100 tiles)")
    print(
        f"host: {cpu_name()}; torch {torch.__version__}, {torch.get_num_threads()} threads; {args.epochs} "
        f"epochs, {args.repeats} repeats; train.py extra: {' '.join(args.extra) or 'none'}",
        flush=True,
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            root = Path(tmp) / f"images_{size}"
            root.mkdir()
            make_images(root, size * 10 // 8)  # 80/10/10: size training images
            data = load(root)  # decoded once into the tile cache (dataset.cache_dir=auto): no run pays it
            for arch in args.archs:
                runs: dict[str, list] = {"plain": [], "train.py": [], "bare": []}
                for r in range(args.repeats):
                    runs["plain"].append(run_plain(arch, root, args.epochs))
                    runs["train.py"].append(
                        run_train_py(arch, root, args.epochs, Path(tmp) / f"run_{size}_{arch}_{r}", args.extra)
                    )
                    runs["bare"].append({"train_images_per_s": bare(arch, data, "cpu")})
                    latest = ", ".join(f"{k} {v[-1]['train_images_per_s']:.0f}" for k, v in runs.items())
                    print(f"  {size} {arch} repeat {r}: {latest}", flush=True)
                rows.append(summary(size, arch, runs))
    print(
        "\n| training images | arch | precision | plain loop | `python train.py` | bare step | train.py / plain "
        "| train.py / bare | train.py wall s |\n|--:|---|---|--:|--:|--:|--:|--:|--:|"
    )
    for row in rows:
        print("| " + " | ".join(row) + " |")


def summary(size: int, arch: str, runs: dict) -> list[str]:
    speed = {k: [r["train_images_per_s"] for r in v] for k, v in runs.items()}
    med = {k: statistics.median(v) for k, v in speed.items()}
    vs_plain = statistics.median(t / p for t, p in zip(speed["train.py"], speed["plain"], strict=True))
    vs_bare = statistics.median(t / b for t, b in zip(speed["train.py"], speed["bare"], strict=True))
    wall = statistics.median(r["wall_s"] for r in runs["train.py"])
    return [
        f"{size:,}",
        arch,
        runs["train.py"][0]["precision"],
        f"{med['plain']:,.0f}",
        f"{med['train.py']:,.0f}",
        f"{med['bare']:,.0f}",
        f"{vs_plain:.2f}x",
        f"{100 * vs_bare:.0f}%",
        f"{wall:.1f}",
    ]


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--plain":
        print(json.dumps(plain_loop(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
    else:
        main()
