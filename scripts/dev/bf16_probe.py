"""Where does bf16 autocast lose test MSE on double-block nets? Trains one arch in several
precision layouts, same seeds and batches, and evaluates every model in fp32 and in bf16.

    python scripts/dev/bf16_probe.py                                    # 32-48-64_double, photos, 15 epochs, seeds 0-2
    python scripts/dev/bf16_probe.py --epochs 3 --seeds 0 --variants fp32 bf16

Variants (autocast dtype bfloat16 on the device; parameters and Adam's state stay fp32 in all):
  fp32          no autocast
  bf16          autocast over forward and loss, as train.py's bf16-mixed does
  bf16_lastfp32 autocast, but the decoder's last conv (the output) in fp32
  bf16_enc      autocast over the encoder only
  bf16_dec      autocast over the decoder only
Reconstruction on the `photos` split (the one README's bf16 table used), batch 64, Adam 1e-3.
"""

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from bench import ARCHS  # noqa: E402  (scripts/dev/bench.py: the arch table, one place)

from autoenc.data.datamodule import ImageDataModule
from autoenc.model.cae import CAE
from autoenc.model.tasks import to_unit_rgb

VARIANTS = ["fp32", "bf16", "bf16_lastfp32", "bf16_enc", "bf16_dec"]
BATCH = 64


def forward(model: CAE, x: torch.Tensor, variant: str) -> torch.Tensor:
    """The model's output with autocast over the parts the variant names; always fp32 out."""

    def bf16(on: bool):
        return torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=on)

    with bf16(variant in ("bf16", "bf16_lastfp32", "bf16_enc")):
        z = model.encoder(x).float()  # fp32 at each boundary: autocast casts down where it is on
    dec = list(model.decoder)
    with bf16(variant in ("bf16", "bf16_lastfp32", "bf16_dec")):
        for layer in dec[:-1]:
            z = layer(z)
        z = z.float()
        with bf16(variant in ("bf16", "bf16_dec")):
            return dec[-1](z).float()


def test_mse(model: CAE, images: torch.Tensor, variant: str) -> float:
    with torch.no_grad():
        total = sum(
            F.mse_loss(forward(model, x, variant), x, reduction="sum").item() for x in to_unit_rgb(images).split(BATCH)
        )
    return total / (len(images) * 3 * 32 * 32)


def train_one(arch: str, variant: str, seed: int, data: ImageDataModule, epochs: int) -> dict:
    torch.manual_seed(seed)
    model = CAE(*ARCHS[arch], 3, 3).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_x = data.train_set
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(train_x), generator=generator)
        for i in range(0, len(order), BATCH):
            x = to_unit_rgb(train_x[order[i : i + BATCH]])
            loss = F.mse_loss(forward(model, x, variant), x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - start
    return {
        "test_fp32": test_mse(model, data.test_set, "fp32"),
        "test_bf16": test_mse(model, data.test_set, "bf16"),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="32-48-64_double", choices=list(ARCHS))
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=VARIANTS, choices=VARIANTS)
    args = parser.parse_args()
    data = ImageDataModule("photos")
    data.setup()
    print(
        f"{args.arch}, photos ({len(data.train_set)} training images), {args.epochs} epochs, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads",
        flush=True,
    )
    results: dict[str, list[dict]] = {}
    for seed in args.seeds:  # variants alternate within a seed
        for variant in args.variants:
            r = train_one(args.arch, variant, seed, data, args.epochs)
            results.setdefault(variant, []).append(r)
            print(
                f"  seed {seed} {variant:14s} test MSE fp32 eval {r['test_fp32']:.5f}  bf16 eval "
                f"{r['test_bf16']:.5f}  ({r['seconds']:.0f} s)",
                flush=True,
            )
    base = statistics.mean(r["test_fp32"] for r in results.get("fp32", [])) if "fp32" in results else None
    print("\n| trained as | test MSE, fp32 eval (mean ± std) | bf16 eval | vs fp32-trained |\n|---|--:|--:|--:|")
    for variant, rs in results.items():
        f32, b16 = [r["test_fp32"] for r in rs], [r["test_bf16"] for r in rs]
        std = statistics.stdev(f32) if len(f32) > 1 else float("nan")
        change = f"{statistics.mean(f32) / base - 1:+.1%}" if base else "-"
        print(f"| {variant} | {statistics.mean(f32):.5f} ± {std:.5f} | {statistics.mean(b16):.5f} | {change} |")


if __name__ == "__main__":
    main()
