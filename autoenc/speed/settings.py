"""Speed settings (conf/config.yaml `speed:` and trainer.precision=auto): these nets are tiny,
so time goes into data handling, framework overhead and kernel choice, not arithmetic."""

import ctypes
import functools
import os
import sys
from pathlib import Path

import torch

from autoenc import UserError


@functools.cache
def cpu_supports_bf16() -> bool:
    """Whether bf16 autocast trains faster than fp32 on this CPU (measured per host kind, bare
    step of classic, 2 cores, channels_last; docs/benchmarks.md):
    - Intel with AMX: bf16 1.3-1.65x faster;
    - Intel with AVX-512-BF16 but no AMX: bf16 slower (3,367 img/s against 4,449 in fp32);
    - AMD EPYC (Zen 4) with AVX-512-BF16: bf16 1.3x faster for classic, 1.7x for 32-48-64_single;
    - AMD EPYC with AVX2 only: no bf16 instructions at all (emulated: slower)."""
    try:
        return bf16_pays(Path("/proc/cpuinfo").read_text())
    except OSError:
        return False


def cpu_flags(cpuinfo: str) -> set[str]:
    """The feature flags of /proc/cpuinfo's first CPU."""
    return set(next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags")), []))


def cpu_name(cpuinfo: str | None = None) -> str:
    """The CPU's model name, its cores and the flags that decide speed here (AVX2, AVX-512, AMX): the
    host that records and benchmark logs name (this machine's /proc/cpuinfo unless given its text)."""
    cpuinfo_file = Path("/proc/cpuinfo")
    info = cpuinfo if cpuinfo is not None else cpuinfo_file.read_text() if cpuinfo_file.exists() else ""
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    shown = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in cpu_flags(info)]
    return f"{name}, {os.cpu_count()} cores, {' '.join(shown) or 'no AVX2'}"


def bf16_pays(cpuinfo: str) -> bool:
    """The rule above, from /proc/cpuinfo's text."""
    flags = cpu_flags(cpuinfo)
    amd = "AuthenticAMD" in cpuinfo
    return "amx_bf16" in flags or (amd and "avx512_bf16" in flags)


# Measured on photos, 15 epochs, seeds 0-2 (docs/benchmarks.md, "bf16 on double blocks"): bf16 autocast left the
# test MSE within the seed spread (< 1.1%) for single blocks, but 4.4% (2 std) worse for double;
# re-checked without AMX (scripts/dev/bf16_probe.py, docs/benchmarks.md): 0-4% worse, wider spread.
# One rule on every device: a GPU's bf16 rounds as the CPU's does, so double blocks stay fp32 there
# too until a measurement on a GPU says otherwise; a GPU table is then the CPU table's.
LOW_PRECISION_BLOCKS = {"single"}


def resolve_precision(precision: str, accelerator: str, block: str = "single") -> str:
    """trainer.precision=auto -> bf16 autocast where the hardware has it and it trains as well
    as fp32 (single blocks, on the CPU and on a GPU alike), else fp32."""
    if str(precision) != "auto":
        return str(precision)
    if block not in LOW_PRECISION_BLOCKS:
        return "32-true"
    if on_cuda(accelerator):
        return gpu_precision()
    return "bf16-mixed" if cpu_supports_bf16() else "32-true"


def on_cuda(accelerator: str) -> bool:
    return accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())


def gpu_precision() -> str:
    """bf16 autocast where the GPU computes bf16 natively (Ampere and newer); torch also says yes
    for older GPUs that only emulate it, slowly: fp16 autocast on those with tensor cores (V100,
    T4: compute capability 7.x), fp32 below."""
    if torch.cuda.is_bf16_supported(including_emulation=False):
        return "bf16-mixed"
    return "16-mixed" if torch.cuda.get_device_capability()[0] >= 7 else "32-true"


LAYOUTS = ("auto", "true", "false")


def resolve_channels_last(setting, accelerator: str) -> bool:
    """speed.channels_last=auto -> channels_last on the CPU (measured: the faster layout there, see
    docs/benchmarks.md), NCHW on a CUDA GPU: cuDNN's NHWC kernels want channel counts in multiples
    of 8, which 4, 6, 12, 24 and 48 are not, and no GPU measurement says otherwise yet."""
    mode = str(setting).lower()
    if mode not in LAYOUTS:
        raise UserError(f"speed.channels_last={setting!r}: must be one of {', '.join(LAYOUTS)}")
    return not on_cuda(accelerator) if mode == "auto" else mode == "true"


def compile_backend(setting) -> str | None:
    """speed.compile: false -> None; true -> torch's default backend (inductor); or a backend by
    name (e.g. aot_eager: no C++ compiler needed, compiles in seconds)."""
    if setting is None or str(setting).lower() == "false":
        return None
    if str(setting).lower() == "true":
        return "inductor"
    backends = torch.compiler.list_backends(exclude_tags=())
    if setting not in backends:
        names = ", ".join(backends)
        raise UserError(f"speed.compile={setting!r}: must be true, false or one of torch's backends: {names}")
    return str(setting)


def apply(
    model: torch.nn.Module, channels_last: bool = True, compile: str | None = None, threads: int | None = None
) -> None:
    """channels_last weights (the batches already come NHWC), torch.compile with this backend, CPU threads.
    The network is compiled in place (nn.Module.compile): its state-dict keys stay those of an
    uncompiled one, so checkpoints of compiled and uncompiled runs are interchangeable."""
    if threads:
        torch.set_num_threads(int(threads))
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if compile:
        model.net.compile(backend=compile)


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
MMAP_THRESHOLD_MAX = 32 * 2**20  # glibc's largest on 64-bit


def keep_freed_memory(megabytes: int) -> bool:
    """speed.malloc_keep_mb: glibc malloc keeps up to this much freed memory for reuse instead of
    giving it back to the system after every step. A training step frees and re-allocates its
    activations (megabytes of them); with glibc's defaults the threshold it adapts at run time
    depends on what the process freed before, and in train.py it stayed low: each step's
    activations were fresh pages from the kernel (on a 2-core AMD EPYC, 6x the page faults of a
    plain loop, 8 s of 23 in the kernel, 0.7x its speed). Large blocks (up to 32 MB) come from
    the heap then, and its top is trimmed only past this size. 0: glibc's defaults. Returns
    whether it was applied (Linux with glibc only)."""
    if not megabytes or sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)) and bool(
            libc.mallopt(M_TRIM_THRESHOLD, int(megabytes) * 2**20)
        )
    except (OSError, AttributeError):  # another C library (musl)
        return False


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


def gpu_for_job(accelerator: str, devices) -> int | None:
    """Under Hydra's joblib launcher on a machine with several GPUs, a run on one GPU
    (trainer.devices=1): the GPU of its job number, round robin, so parallel jobs spread over
    the GPUs instead of all landing on cuda:0. None elsewhere."""
    if str(devices) != "1" or not on_cuda(accelerator) or torch.cuda.device_count() < 2:
        return None
    try:
        from hydra.core.hydra_config import HydraConfig

        hydra = HydraConfig.get()
    except (ImportError, ValueError):
        return None
    if "joblib" not in str(hydra.launcher.get("_target_", "")):
        return None
    return spread(int(hydra.job.num), torch.cuda.device_count())


def spread(job_num: int, gpus: int) -> int:
    return job_num % gpus
