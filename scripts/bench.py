"""Training speed: a plain PyTorch loop against train.py's path, per arch, in one run.

    python scripts/bench.py                                  # every arch, 2 epochs, 3 repeats
    python scripts/bench.py --archs classic 32-48-64_single --epochs 2 --repeats 3

Data: 60,000 CIFAR-sized (32x32) tiles made from the offline `photos` (its 7,830 tiles under
the 8 flips/rotations), written as PNG mosaics and read back through `dataset=images`; the
study's 80/10/10 split, so 48,000 training images. Reconstruction, batch 64, Adam 1e-3.

  (a) plain:   PyTorch defaults: float NCHW TensorDataset + DataLoader(shuffle), fp32, Adam.
  (b) autoenc: autoenc.train.train(cfg), i.e. `python train.py dataset=images ...` minus
               start-up: device-resident uint8 data, channels_last, precision=auto, progress
               bar on, checkpoints, TensorBoard and image grids as always.
  (c) hand:    a hand-written loop with (b)'s settings and no Lightning: (b)/(c) is
               Lightning's overhead.
Each does a validation pass per epoch and is timed over fitting only (train + val). The
variants alternate within each repeat; medians are reported. Also: start-up time, from
launching `python train.py` to its first training step.
"""

import argparse
import contextlib
import io
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autoenc.data import ImageDataModule, photo_tiles  # noqa: E402
from autoenc.model import CAE  # noqa: E402
from autoenc.module import to_unit_rgb  # noqa: E402
from autoenc.speed import resolve_precision  # noqa: E402

ARCHS = {"classic": ([8, 12, 16], 3, "single"), "4-6-8": ([4, 6, 8], 3, "single"),
         "16-24-32": ([16, 24, 32], 3, "single"), "16-24-32_k5": ([16, 24, 32], 5, "single"),
         "32-48-64_single": ([32, 48, 64], 3, "single"), "32-48-64_double": ([32, 48, 64], 3, "double")}  # fmt: skip
BATCH = 64


def make_images(folder: Path, n: int = 60_000) -> None:
    """n tiles from photos under the 8 flips/rotations, as PNG mosaics of 60 x 100 tiles."""
    from PIL import Image

    base = photo_tiles()
    variants = [np.rot90(base, k, axes=(1, 2)) for k in range(4)]
    tiles = np.concatenate(variants + [v[:, :, ::-1] for v in variants])[:n]
    for i in range(0, n, 6000):
        block = tiles[i : i + 6000].reshape(60, 100, 32, 32, 3).swapaxes(1, 2).reshape(60 * 32, 100 * 32, 3)
        Image.fromarray(np.ascontiguousarray(block)).save(folder / f"mosaic_{i // 6000:02d}.png")


def plain(arch: str, data: ImageDataModule, epochs: int, device: str) -> tuple[float, float]:
    """(a): what a PyTorch user writes with the defaults."""
    torch.manual_seed(0)
    splits = (data.train_set, data.val_set, data.test_set)
    train_x, val_x, test_x = (to_unit_rgb(s, channels_last=False) for s in splits)
    model = CAE(*ARCHS[arch], 3, 3).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(train_x), batch_size=BATCH, shuffle=True)

    def mse(images: torch.Tensor) -> float:
        model.eval()
        total = 0.0
        with torch.no_grad():
            for (x,) in DataLoader(TensorDataset(images), batch_size=BATCH):
                x = x.to(device)
                total += F.mse_loss(model(x), x, reduction="sum").item()
        model.train()
        return total / images.numel()

    sync(device)
    start = time.perf_counter()
    for _ in range(epochs):
        for (x,) in loader:
            x = x.to(device)
            opt.zero_grad()
            loss = F.mse_loss(model(x), x)
            loss.backward()
            opt.step()
        mse(val_x)
    sync(device)
    return time.perf_counter() - start, mse(test_x)


def hand(arch: str, data: ImageDataModule, epochs: int, device: str) -> tuple[float, float]:
    """(c): (b)'s settings written out by hand, without Lightning."""
    torch.manual_seed(0)
    precision = resolve_precision("auto", "cuda" if device == "cuda" else "cpu", ARCHS[arch][2])
    dtype = torch.bfloat16 if precision.startswith("bf16") else torch.float16 if precision.startswith("16") else None
    train_u8, val_u8, test_u8 = (s.to(device) for s in (data.train_set, data.val_set, data.test_set))
    model = CAE(*ARCHS[arch], 3, 3).to(device, memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    autocast = (lambda: torch.autocast(device, dtype=dtype)) if dtype else contextlib.nullcontext

    def mse(images: torch.Tensor) -> float:
        total = torch.zeros((), device=device)
        with torch.no_grad(), autocast():
            for i in range(0, len(images), BATCH):
                x = to_unit_rgb(images[i : i + BATCH])
                total += F.mse_loss(model(x).float(), x, reduction="sum")
        return total.item() / (images.numel())

    sync(device)
    start = time.perf_counter()
    for epoch in range(epochs):
        order = torch.randperm(len(train_u8), generator=torch.Generator().manual_seed(epoch)).to(device)
        for i in range(0, len(order), BATCH):
            x = to_unit_rgb(train_u8[order[i : i + BATCH]])
            with autocast():
                loss = F.mse_loss(model(x), x)
            opt.zero_grad()
            loss.backward()
            opt.step()
        mse(val_u8)
    sync(device)
    return time.perf_counter() - start, mse(test_u8)


def autoenc_path(arch: str, root: Path, epochs: int, device: str, out: Path) -> tuple[float, float]:
    """(b): train.py's own path, in this process (start-up is measured separately)."""
    from hydra import compose, initialize_config_dir

    from autoenc.train import train

    overrides = [f"output_dir={out}", f"arch={arch}", "dataset=images", f"dataset.root={root}",
                 f"trainer.max_epochs={epochs}", "trainer.precision=auto", "trainer.enable_model_summary=false",
                 f"trainer.accelerator={'gpu' if device == 'cuda' else 'cpu'}"]  # fmt: skip
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        metrics = train(cfg)  # the progress bar still draws, into a buffer
    return metrics["train_seconds"], metrics["test_mse"]


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def startup_seconds(tmp: Path, repeats: int) -> float:
    """From launching `python train.py` to its first training step (photos, cached files)."""
    times = []
    for i in range(repeats):
        env = {**os.environ, "AUTOENC_T0": repr(time.time())}
        cmd = [sys.executable, str(ROOT / "train.py"), "dataset=photos", "trainer=debug",
               "trainer.enable_progress_bar=false", f"hydra.run.dir={tmp / f'startup{i}'}"]  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=True).stdout
        times.append(float(out.split("first training step ")[1].split(" s")[0]))
    return statistics.median(times)


def main() -> None:
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # (b)'s chatter, not the results
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", nargs="+", default=list(ARCHS), choices=list(ARCHS))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--skip", nargs="*", default=[], choices=["plain", "hand", "startup"])
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "images").mkdir()
        make_images(tmp / "images")
        data = ImageDataModule("images", root=str(tmp / "images"))
        data.setup()
        n_train = len(data.train_set)
        name = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {torch.get_num_threads()} threads"
        precision = resolve_precision("auto", "cuda" if args.device == "cuda" else "cpu")
        setup = f"{n_train} training images, batch {BATCH}, {args.epochs} epochs, {args.repeats} repeats"
        print(f"device: {name}; torch {torch.__version__}; precision auto -> {precision} (single blocks); {setup}")
        runs: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for r in range(args.repeats):
            for arch in args.archs:
                for variant in ("plain", "autoenc", "hand"):
                    if variant in args.skip:
                        continue
                    if variant == "plain":
                        seconds, test_mse = plain(arch, data, args.epochs, args.device)
                    elif variant == "hand":
                        seconds, test_mse = hand(arch, data, args.epochs, args.device)
                    else:
                        out = tmp / f"run_{arch}_{r}"
                        seconds, test_mse = autoenc_path(arch, tmp / "images", args.epochs, args.device, out)
                    runs.setdefault((arch, variant), []).append((seconds, test_mse))
                    print(f"  repeat {r} {arch:16s} {variant:8s} {args.epochs * n_train / seconds:9.0f} img/s  "
                          f"test MSE {test_mse:.5f}", flush=True)  # fmt: skip

        def med(arch: str, variant: str, i: int) -> float:
            return statistics.median(x[i] for x in runs[(arch, variant)]) if (arch, variant) in runs else float("nan")

        print("\n| arch | (a) plain img/s | (b) autoenc img/s | (b)/(a) | (c) hand img/s | Lightning overhead "
              "(c)/(b)-1 | test MSE (a) | test MSE (b) |\n|---|--:|--:|--:|--:|--:|--:|--:|")  # fmt: skip
        for arch in args.archs:
            a, b, c = (args.epochs * n_train / med(arch, v, 0) for v in ("plain", "autoenc", "hand"))
            print(f"| {arch} | {a:.0f} | {b:.0f} | {b / a:.2f}x | {c:.0f} | {100 * (c / b - 1):+.1f}% | "
                  f"{med(arch, 'plain', 1):.5f} | {med(arch, 'autoenc', 1):.5f} |")  # fmt: skip
        if "startup" not in args.skip:
            seconds = startup_seconds(tmp, 3)
            print(f"\nstart-up, `python train.py` to first training step: {seconds:.2f} s (median of 3)")


if __name__ == "__main__":
    main()
