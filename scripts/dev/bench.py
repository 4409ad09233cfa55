"""Training speed: a plain PyTorch loop against train.py's path, per arch, in one run.

    python scripts/dev/bench.py                                  # every arch, 2 epochs, 3 repeats
    python scripts/dev/bench.py --archs classic 32-48-64_single --epochs 2 --repeats 3

Data: 60,000 CIFAR-sized (32x32) tiles made from the offline `photos` (its 7,830 tiles under
the 8 flips/rotations), written as PNG mosaics and read back through `dataset=images`; the
study's 80/10/10 split, so 48,000 training images. Reconstruction, batch 64, Adam 1e-3.

  (a) plain:   PyTorch defaults: float NCHW TensorDataset + DataLoader(shuffle), fp32, Adam.
  (a') nhwc:   the loop a user writes from NHWC arrays (CIFAR-10's `.data`, a numpy file):
               torch.from_numpy(x).permute(0, 3, 1, 2).float(), shuffled slices, fp32. The
               permute leaves channels_last strides, so it gets the fast kernels unasked.
  (b) autoenc: autoenc.training.fit.train(cfg), i.e. `python train.py dataset=images ...` minus
               start-up: device-resident uint8 data, channels_last, precision=auto, progress
               bar on, checkpoints, TensorBoard and image grids as always; once per
               --steps-per-call value (optimizer steps per Lightning training_step), and
               with --cuda-graph true/both also with speed.cuda_graph (the step replayed as
               one CUDA graph).
  (c) hand:    a hand-written loop with (b)'s settings and no Lightning: (b)/(c) is
               Lightning's overhead.
  (d) bare:    the bare training step in (b)'s precision and layout, on one fixed batch:
               x -> loss -> backward -> Adam.step, nothing else: the ceiling.
(a), (a'), (b), (c) do a validation pass per epoch and are timed over fitting (train + val);
(b) also reports its training images/s without validation (metrics.json train_images_per_s),
which is what compares with (d). The variants alternate within each repeat; medians are
reported. Also: start-up time, from launching `python train.py` to its first training step.
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

from autoenc.data.datamodule import ImageDataModule
from autoenc.data.tiles import photo_tiles
from autoenc.model.cae import CAE
from autoenc.model.tasks import to_unit_rgb
from autoenc.speed.settings import resolve_channels_last, resolve_precision

ROOT = Path(__file__).resolve().parents[2]

ARCHS = {
    "classic": ([8, 12, 16], 3, "single"),
    "4-6-8": ([4, 6, 8], 3, "single"),
    "16-24-32": ([16, 24, 32], 3, "single"),
    "16-24-32_k5": ([16, 24, 32], 5, "single"),
    "32-48-64_single": ([32, 48, 64], 3, "single"),
    "32-48-64_double": ([32, 48, 64], 3, "double"),
}
BATCH = 64


def make_images(folder: Path, n: int = 60_000) -> None:
    """n tiles (a multiple of 100) from photos under the 8 flips/rotations, as PNG mosaics of up to
    60 x 100 tiles."""
    from PIL import Image

    base = photo_tiles()
    variants = [np.rot90(base, k, axes=(1, 2)) for k in range(4)]
    tiles = np.concatenate(variants + [v[:, :, ::-1] for v in variants])[:n]
    for i in range(0, n, 6000):
        rows = len(tiles[i : i + 6000]) // 100
        block = tiles[i : i + 6000].reshape(rows, 100, 32, 32, 3).swapaxes(1, 2).reshape(rows * 32, 100 * 32, 3)
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
            plain_step(model, opt, x.to(device))
        mse(val_x)
    sync(device)
    return time.perf_counter() - start, mse(test_x)


def plain_step(model: torch.nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor) -> None:
    """One reconstruction step as a plain PyTorch user writes it: fp32, no autocast."""
    opt.zero_grad()
    loss = F.mse_loss(model(x), x)
    loss.backward()
    opt.step()


def nhwc(arch: str, data: ImageDataModule, epochs: int, device: str) -> tuple[float, float]:
    """(a'): the plain loop written from NHWC uint8 arrays, fp32, the model as built."""
    torch.manual_seed(0)
    train_x, val_x, test_x = (
        torch.from_numpy(s.numpy()).permute(0, 3, 1, 2).float().div(127.5).sub(1).to(device)
        for s in (data.train_set, data.val_set, data.test_set)
    )
    model = CAE(*ARCHS[arch], 3, 3).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def mse(images: torch.Tensor) -> float:
        with torch.no_grad():
            total = sum(F.mse_loss(model(x), x, reduction="sum").item() for x in images.split(BATCH))
        return total / images.numel()

    sync(device)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(train_x), device=device)
        for i in range(0, len(order), BATCH):
            plain_step(model, opt, train_x[order[i : i + BATCH]])
        mse(val_x)
    sync(device)
    return time.perf_counter() - start, mse(test_x)


def bare(arch: str, data: ImageDataModule, device: str, steps: int = 300) -> float:
    """(d): images/s of the bare step in (b)'s precision and default layout, on one fixed batch."""
    torch.manual_seed(0)
    dtype = autocast_dtype(arch, device)
    channels_last = resolve_channels_last("auto", "cuda" if device == "cuda" else "cpu")
    model = CAE(*ARCHS[arch], 3, 3).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = to_unit_rgb(data.train_set[:BATCH].to(device), channels_last)
    autocast = (lambda: torch.autocast(device, dtype=dtype)) if dtype else contextlib.nullcontext

    def step() -> None:
        with autocast():
            loss = F.mse_loss(model(x), x)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(20):
        step()
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return steps * BATCH / (time.perf_counter() - start)


def autocast_dtype(arch: str, device: str) -> torch.dtype | None:
    precision = resolve_precision("auto", "cuda" if device == "cuda" else "cpu", ARCHS[arch][2])
    return torch.bfloat16 if precision.startswith("bf16") else torch.float16 if precision.startswith("16") else None


def hand(arch: str, data: ImageDataModule, epochs: int, device: str) -> tuple[float, float]:
    """(c): (b)'s settings written out by hand, without Lightning."""
    torch.manual_seed(0)
    dtype = autocast_dtype(arch, device)
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


def autoenc_path(
    arch: str,
    root: Path,
    epochs: int,
    device: str,
    out: Path,
    steps_per_call: int = 1,
    cuda_graph: bool = False,
    layout: str = "auto",
):
    """(b): train.py's own path, in this process (start-up is measured separately).
    Returns (fit seconds, test MSE, training images/s without validation)."""
    from hydra import compose, initialize_config_dir

    from autoenc.training.fit import train

    overrides = [
        f"output_dir={out}",
        f"arch={arch}",
        "dataset=images",
        f"dataset.root={root}",
        f"trainer.max_epochs={epochs}",
        "trainer.precision=auto",
        "trainer.enable_model_summary=false",
        f"trainer.accelerator={'gpu' if device == 'cuda' else 'cpu'}",
        f"speed.steps_per_call={steps_per_call}",
        f"speed.cuda_graph={str(cuda_graph).lower()}",
        f"speed.channels_last={layout}",
    ]
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        metrics = train(cfg)  # the progress bar still draws, into a buffer
    return metrics["train_seconds"], metrics["test_mse"], metrics["train_images_per_s"]


def train_flops_per_image(arch: str) -> float:
    """FLOPs of one training step's forward + backward per image (torch's flop counter, fp32)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = CAE(*ARCHS[arch], 3, 3)
    x = torch.zeros(BATCH, 3, 32, 32)
    with FlopCounterMode(display=False) as counter:
        F.mse_loss(model(x), x).backward()
    return counter.get_total_flops() / BATCH


# dense bf16 tensor-core peaks (vendor datasheets, TFLOP/s): the achieved rate is put against these
BF16_PEAK_TFLOPS = {"H100 80GB HBM3": 989.0, "H100 PCIe": 756.0, "H200": 989.0, "A100": 312.0}


def peak_tflops(device: str) -> float | None:
    if device != "cuda":
        return None
    name = torch.cuda.get_device_name()
    return next((v for k, v in BF16_PEAK_TFLOPS.items() if k in name), None)


def device_line(device: str) -> str:
    if device != "cuda":
        return f"CPU, {torch.get_num_threads()} threads"
    try:
        driver = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        driver = "?"
    return f"{torch.cuda.get_device_name()}, driver {driver}, CUDA {torch.version.cuda}"


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def startup_seconds(tmp: Path, repeats: int) -> float:
    """From launching `python train.py` to its first training step (photos, cached files)."""
    times = []
    for i in range(repeats):
        env = {**os.environ, "AUTOENC_T0": repr(time.time())}
        cmd = [
            sys.executable,
            str(ROOT / "train.py"),
            "dataset=photos",
            "trainer=debug",
            "trainer.enable_progress_bar=false",
            f"hydra.run.dir={tmp / f'startup{i}'}",
        ]
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
    parser.add_argument("--steps-per-call", type=int, nargs="+", default=[1, 16], help="(b) once per value")
    parser.add_argument(
        "--cuda-graph",
        choices=["false", "true", "both"],
        default="false",
        help="(b) with speed.cuda_graph off, on, or both (CUDA only)",
    )
    parser.add_argument(
        "--layouts",
        nargs="+",
        default=["auto"],
        choices=list(LAYOUT_SUFFIX),
        help="(b) once per speed.channels_last value (true: channels_last, false: NCHW)",
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=["plain", "nhwc", "hand", "bare", "startup"])
    parser.add_argument("--images", type=int, default=60_000, help="tiles made, a multiple of 100 (80%% train)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "images").mkdir()
        make_images(tmp / "images", args.images)
        data = ImageDataModule("images", root=str(tmp / "images"))
        data.setup()
        n_train = len(data.train_set)
        name = device_line(args.device)
        setup = f"{n_train} training images, batch {BATCH}, {args.epochs} epochs, {args.repeats} repeats"
        print(f"device: {name}; torch {torch.__version__}; {setup}")
        graphs = {"false": [""], "true": ["+graph"], "both": ["", "+graph"]}[args.cuda_graph]
        autoenc = [
            f"autoenc{k}{g}{LAYOUT_SUFFIX[lay]}" for k in args.steps_per_call for g in graphs for lay in args.layouts
        ]
        variants = ["plain", "nhwc", *autoenc, "hand", "bare"]
        runs: dict[tuple[str, str], list[tuple[float, ...]]] = {}
        for r in range(args.repeats):
            for arch in args.archs:
                for variant in (v for v in variants if v not in args.skip):
                    if variant == "bare":
                        result = (bare(arch, data, args.device), float("nan"))
                    elif variant.startswith("autoenc"):
                        out = tmp / f"run_{arch}_{variant}_{r}"
                        k, graph, layout = parse_variant(variant)
                        seconds, test_mse, train_only = autoenc_path(
                            arch, tmp / "images", args.epochs, args.device, out, k, graph, layout
                        )
                        result = (args.epochs * n_train / seconds, test_mse, train_only)
                    else:
                        seconds, test_mse = {"plain": plain, "nhwc": nhwc, "hand": hand}[variant](
                            arch, data, args.epochs, args.device
                        )
                        result = (args.epochs * n_train / seconds, test_mse)
                    runs.setdefault((arch, variant), []).append(result)
                    extra = f"  training only {result[2]:9.0f} img/s" if len(result) > 2 else ""
                    print(
                        f"  repeat {r} {arch:16s} {variant:9s} {result[0]:9.0f} img/s  test MSE {result[1]:.5f}{extra}",
                        flush=True,
                    )
        report(runs, args.archs, autoenc, args.device)
        if "startup" not in args.skip:
            seconds = startup_seconds(tmp, 3)
            print(f"\nstart-up, `python train.py` to first training step: {seconds:.2f} s (median of 3)")


LAYOUT_SUFFIX = {"auto": "", "true": "+cl", "false": "+nchw"}  # speed.channels_last -> (b)'s variant name


def parse_variant(variant: str) -> tuple[int, bool, str]:
    """autoenc<k>[+graph][+cl|+nchw] -> (steps per call, CUDA graph, speed.channels_last)."""
    parts = variant[len("autoenc") :].split("+")
    layout = next((key for key, suffix in LAYOUT_SUFFIX.items() if suffix and suffix[1:] in parts), "auto")
    return int(parts[0]), "graph" in parts, layout


def report(runs: dict, archs: list[str], autoenc: list[str], device: str) -> None:
    def med(arch: str, variant: str, i: int = 0) -> float:
        values = [x[i] for x in runs.get((arch, variant), [])]
        return statistics.median(values) if values else float("nan")

    def ratio(arch: str, num: tuple[str, int], dens: list[str]) -> float:
        """Median over repeats of num / the fastest of dens in the same repeat (variants alternate)."""
        per_den = [[r[0] for r in runs[(arch, d)]] for d in dens if (arch, d) in runs]
        tops = [max(x) for x in zip(*per_den, strict=True)]
        nums = [r[num[1]] for r in runs.get((arch, num[0]), [])]
        if not nums or not tops:
            return float("nan")
        return statistics.median([n / t for n, t in zip(nums, tops, strict=True)])

    print(
        "\nimages/s, medians; (b) fit = train + val like (a), (a'), (c); (b) train = without validation, "
        "against (d); ratios: medians of the per-repeat ratios"
    )
    print(
        "| arch | precision | (a) plain | (a') nhwc | (b) fit | (b) train | (c) hand | (d) bare | (b) fit / "
        "max(a, a') | (b) train / (d) | (b) train TFLOP/s | test MSE (a) | (a') | (b) |"
    )
    print("|---|---|" + "--:|" * 12)
    peak = peak_tflops(device)
    for arch in archs:
        for b in autoenc:  # (b)'s variants: autoenc<steps per call>[+graph][+cl|+nchw]
            dtype = autocast_dtype(arch, device)
            k, graph, layout = parse_variant(b)
            kind = "bf16" if dtype == torch.bfloat16 else "fp16" if dtype else "fp32"
            shown = {"auto": "", "true": ", channels_last", "false": ", NCHW"}[layout]
            precision = f"{kind}, steps_per_call={k}{', CUDA graph' if graph else ''}{shown}"
            a, a2, fit, train_only, c, d = (
                med(arch, "plain"),
                med(arch, "nhwc"),
                med(arch, b),
                med(arch, b, 2),
                med(arch, "hand"),
                med(arch, "bare"),
            )
            vs_plain, vs_bare = ratio(arch, (b, 0), ["plain", "nhwc"]), ratio(arch, (b, 2), ["bare"])
            tflops = train_only * train_flops_per_image(arch) / 1e12
            of_peak = f" ({100 * tflops / peak:.2f}% of {peak:.0f})" if peak else ""
            print(
                f"| {arch} | {precision} | {a:.0f} | {a2:.0f} | {fit:.0f} | {train_only:.0f} | {c:.0f} | {d:.0f} | "
                f"{vs_plain:.2f}x | {100 * vs_bare:.0f}% | {tflops:.3f}{of_peak} | {med(arch, 'plain', 1):.5f} | "
                f"{med(arch, 'nhwc', 1):.5f} | {med(arch, b, 1):.5f} |"
            )


if __name__ == "__main__":
    main()
