"""Speed settings (conf/config.yaml `speed:` and trainer.precision=auto): these nets are tiny,
so time goes into data handling, framework overhead and kernel choice, not arithmetic."""

import functools
from pathlib import Path

import torch


@functools.cache
def cpu_supports_bf16() -> bool:
    """Native bf16 on this CPU (AVX-512-BF16 or AMX): where bf16 autocast pays off."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, accelerator: str) -> str:
    """trainer.precision=auto -> bf16 autocast where the hardware has it, else fp32."""
    if str(precision) != "auto":
        return str(precision)
    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    if on_gpu:
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
    return "bf16-mixed" if cpu_supports_bf16() else "32-true"


def apply(model: torch.nn.Module, channels_last: bool = True, compile: bool = False,
          threads: int | None = None) -> None:  # fmt: skip
    """channels_last weights (the batches already come NHWC), optional torch.compile, CPU threads."""
    if threads:
        torch.set_num_threads(int(threads))
    model.channels_last = channels_last
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if compile:
        model.net = torch.compile(model.net)
