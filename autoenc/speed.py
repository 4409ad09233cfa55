"""Speed settings (conf/config.yaml `speed:` and trainer.precision=auto): these nets are tiny,
so time goes into data handling, framework overhead and kernel choice, not arithmetic."""

import functools
import os
from pathlib import Path

import torch


@functools.cache
def cpu_supports_bf16() -> bool:
    """bf16 matrix units on this CPU (AMX): where bf16 autocast pays off. AVX-512-BF16 alone
    does not: on such a 2-core Xeon without AMX the bare step of classic ran at 3,367 img/s in
    bf16 against 4,449 in fp32 (channels_last), while with AMX bf16 was 1.3-1.65x faster."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags


# Measured on photos, 15 epochs, seeds 0-2 (README, "bf16 on the CPU"): bf16 autocast left the
# test MSE within the seed spread (< 1.1%) for single blocks, but 4.4% (2 std) worse for double;
# re-checked without AMX (scripts/bf16_probe.py, docs/benchmarks.md): 0-4% worse, wider spread.
CPU_BF16_BLOCKS = {"single"}


def resolve_precision(precision: str, accelerator: str, block: str = "single") -> str:
    """trainer.precision=auto -> bf16 autocast where the hardware has it and it trains as well
    as fp32 (on the CPU: single blocks), else fp32."""
    if str(precision) != "auto":
        return str(precision)
    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    if on_gpu:
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
    return "bf16-mixed" if cpu_supports_bf16() and block in CPU_BF16_BLOCKS else "32-true"


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


def threads_per_job() -> int | None:
    """Under Hydra's joblib launcher (parallel jobs on one machine): this machine's cores shared
    out among the jobs, so they do not fight over them. In a SLURM job: the CPUs it was given.
    None elsewhere (torch's default)."""
    if os.environ.get("SLURM_CPUS_PER_TASK", "").isdigit():
        return int(os.environ["SLURM_CPUS_PER_TASK"])
    try:
        from hydra.core.hydra_config import HydraConfig

        launcher = HydraConfig.get().launcher
    except (ImportError, ValueError):  # not under Hydra (tests, scripts)
        return None
    if "joblib" not in str(launcher.get("_target_", "")):
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    jobs = launcher.get("n_jobs") or -1
    jobs = cores + 1 + jobs if jobs < 0 else jobs  # joblib's convention: -1 = all cores
    return max(1, cores // max(1, jobs))
