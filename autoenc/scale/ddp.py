"""trainer=ddp in a Hydra sweep (-m). Lightning starts a run's other processes by running the
command line again, -m included, so each of them would start the whole sweep on its own (and
run it in lockstep with the first process, or hang when they part). Here a run's other
processes get that run's own overrides instead, and each run of the sweep starts its own."""

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RUN_ARGS = "AUTOENC_DDP_RUN_ARGS"  # the run's command line, for the processes Lightning starts
CONFIG_FLAGS = ("-cn", "--config-name", "-cp", "--config-path", "-cd", "--config-dir")
SWEEP_ONLY = (
    "hydra.mode",
    "hydra.sweep",
    "hydra/launcher",
    "hydra.launcher",
    "hydra/sweeper",
    "hydra.sweeper",
    "hydra.run.dir",
    "hydra.output_subdir",
    "hydra.job.name",
)
LAUNCH_ENV = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE", RUN_ARGS)


def child_argv(argv: list[str], environ: os._Environ | dict) -> list[str]:
    """In a process Lightning started for a run of a sweep: the run's own command line (one run,
    no -m); anywhere else argv as it is."""
    if "LOCAL_RANK" not in environ or RUN_ARGS not in environ:
        return argv
    return [argv[0], *json.loads(environ[RUN_ARGS]), f"hydra.job.name=train_ddp_process_{environ['LOCAL_RANK']}"]


def config_flags(argv: list[str]) -> list[str]:
    """The command line's choice of config (-cn/-cp/-cd, in either spelling), which a run's other
    processes must share."""
    flags, i = [], 0
    while i < len(argv):
        name = argv[i].split("=", 1)[0]
        if name in CONFIG_FLAGS:
            takes_next = "=" not in argv[i] and i + 1 < len(argv)
            flags += argv[i : i + 2] if takes_next else [argv[i]]
            i += 2 if takes_next else 1
        else:
            i += 1
    return flags


def in_sweep() -> bool:
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        return HydraConfig.get().mode == RunMode.MULTIRUN
    except (ImportError, ValueError):
        return False


@contextmanager
def run_of_a_sweep(out: Path) -> Iterator[None]:
    """Around one run of a sweep in its first process: its overrides for the processes Lightning
    may start; afterwards the process group and Lightning's launch variables are dropped, so that
    the next run starts its own processes (on a fresh port)."""
    if not in_sweep() or "LOCAL_RANK" in os.environ:  # not a sweep, or a process started for a run
        yield
        return
    from hydra.core.hydra_config import HydraConfig

    before = {key: os.environ.get(key) for key in LAUNCH_ENV}
    overrides = HydraConfig.get().overrides
    hydra_own = [o for o in overrides.hydra if not o.lstrip("~+").startswith(SWEEP_ONLY)]
    run = [
        *config_flags(sys.argv[1:]),
        *overrides.task,
        *hydra_own,
        f'hydra.run.dir="{out}"',
        "hydra.output_subdir=null",
    ]
    os.environ[RUN_ARGS] = json.dumps(run)
    try:
        yield
    finally:
        import torch  # here: train.py imports this module, and a typo's answer needs no torch

        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
