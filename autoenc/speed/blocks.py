"""speed.steps_per_call: each Lightning training_step takes a block of batches in turn, so that
Lightning's fixed cost per call (about 1 ms: docs/benchmarks.md) is paid once per block. What a
user counts in batches still counts batches: the progress bar, trainer.limit_train_batches,
val_check_interval and log_every_n_steps are translated here (the progress bar in autoenc/training/progress.py).
Plain arithmetic, no Lightning: train.py checks a config with it before Lightning is imported."""

import math

from autoenc import UserError

# auto's block: Lightning's ~1 ms per call against a 6-9 ms step of the smallest nets (classic, 4-6-8)
# was 10-15% of their training on a 2-core AMD EPYC; 16 steps a call brought it under 1%
AUTO_STEPS_PER_CALL = 16


def resolve_steps_per_call(setting, trainer: dict) -> int:
    """speed.steps_per_call -> batches per call: auto is 16, or 1 where the trainer counts
    optimizer steps in a way blocks cannot keep exactly (see `cannot_block`); a number is taken
    as it is, and refused with one line where it cannot be kept."""
    if str(setting).lower() == "auto":
        return 1 if cannot_block(trainer, AUTO_STEPS_PER_CALL) else AUTO_STEPS_PER_CALL
    if isinstance(setting, bool) or not isinstance(setting, int) or setting < 1:
        raise UserError(f"speed.steps_per_call={setting!r}: must be auto or a positive integer")
    if setting > 1 and (why := cannot_block(trainer, setting)):
        raise UserError(f"speed.steps_per_call={setting} with {why}; use speed.steps_per_call=1 (or auto)")
    return setting


def cannot_block(trainer: dict, steps: int) -> str | None:
    """Why blocks of this many batches cannot keep the trainer's counts exactly, or None."""
    if (max_steps := trainer.get("max_steps") or -1) > 0:
        return f"trainer.max_steps={max_steps}: a block would run past it"
    interval = trainer.get("val_check_interval")
    if isinstance(interval, int) and not isinstance(interval, bool) and interval % steps:
        return f"trainer.val_check_interval={interval}: validation would wait for the end of a block of {steps}"
    return None


def in_calls(trainer: dict, steps: int) -> tuple[dict, int | float]:
    """Lightning's keyword arguments with their batch counts turned into counts of calls, and
    limit_train_batches taken out: the data serves that many batches itself (autoenc/data/datamodule.py)."""
    args = dict(trainer)
    limit = args.pop("limit_train_batches", 1.0)
    if limit is None:
        limit = 1.0
    if steps > 1:
        if isinstance(interval := args.get("val_check_interval"), int) and not isinstance(interval, bool):
            args["val_check_interval"] = interval // steps
        args["log_every_n_steps"] = max(1, math.ceil(args.get("log_every_n_steps", 50) / steps))
    return args, limit
