"""Learning-rate schedules (conf/scheduler): none (the study's constant rate), cosine, onecycle
and plateau, as torch.optim.lr_scheduler builds them. Built from plain values (a checkpoint's
hyper-parameters too); the LightningModule steps them itself, since it steps its optimizer
itself (manual optimisation): after every `frequency` optimizer steps or epochs, plateau after
validation with the monitored MSE."""

import inspect
from collections.abc import Callable, Iterable

import torch
from torch.optim import lr_scheduler

from autoenc import UserError
from autoenc.training.optim import PLAIN, check_optimizer

SCHEDULES = {
    "none": None,
    "cosine": lr_scheduler.CosineAnnealingLR,
    "onecycle": lr_scheduler.OneCycleLR,
    "plateau": lr_scheduler.ReduceLROnPlateau,
}
SCHEDULE_KEYS = ("name", "interval", "frequency", "monitor")  # autoenc's; the other keys go to torch
MONITORS = ("val/mse", "train/mse")


def check_scheduler(spec: dict | None) -> dict:
    """A scheduler config -> itself with its defaults, checked: a known name, interval step|epoch
    (plateau: epoch), a positive frequency, a monitor autoenc logs, plain torch settings that the
    scheduler takes. Every mistake is one UserError naming the key."""
    spec = {"name": "none", "interval": "step", "frequency": 1, "monitor": "val/mse", **(spec or {})}
    if spec["name"] not in SCHEDULES:
        raise UserError(f"scheduler={spec['name']!r} is unknown; valid schedulers: {', '.join(SCHEDULES)}")
    if spec["name"] == "plateau":
        spec["interval"] = "epoch"  # it watches an epoch's MSE
    if spec["interval"] not in ("step", "epoch"):
        raise UserError(f"scheduler.interval={spec['interval']!r}: must be step or epoch")
    if not isinstance(spec["frequency"], int) or spec["frequency"] < 1:
        raise UserError(f"scheduler.frequency={spec['frequency']!r}: must be a positive integer")
    if spec["monitor"] not in MONITORS:
        raise UserError(f"scheduler.monitor={spec['monitor']!r}: must be one of {', '.join(MONITORS)}")
    for key, value in settings(spec).items():
        values = value if isinstance(value, (list, tuple)) else [value]
        if key.startswith("_") or not all(isinstance(v, PLAIN) for v in values):
            raise UserError(f"scheduler.{key}={value!r} is refused: scheduler settings are plain values")
    build(spec, torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1e-3), steps_per_epoch=10, epochs=2)
    return spec


def settings(spec: dict) -> dict:
    return {k: v for k, v in spec.items() if k not in SCHEDULE_KEYS}


def build(spec: dict, optimizer: torch.optim.Optimizer, steps_per_epoch: int, epochs: int):
    """The torch scheduler of a checked spec (None for none). Its length defaults to the run's:
    cosine's T_max and onecycle's total_steps count its intervals over all epochs; onecycle's
    max_lr defaults to the optimizer's lr."""
    kind = SCHEDULES[spec["name"]]
    if kind is None:
        return None
    periods = (steps_per_epoch * epochs if spec["interval"] == "step" else epochs) // spec["frequency"]
    args = settings(spec)
    if kind is lr_scheduler.CosineAnnealingLR:
        args.setdefault("T_max", max(periods, 1))
    elif kind is lr_scheduler.OneCycleLR:
        args.setdefault("total_steps", max(periods, 1))
        args.setdefault("max_lr", [group["lr"] for group in optimizer.param_groups])
    try:
        return kind(optimizer, **args)
    except (TypeError, ValueError) as e:
        raise UserError(f"scheduler={spec['name']}: {e}") from None


def on_the_device(kind: type, settings: dict, parameters: list) -> dict:
    """The optimizer's settings for where its parameters are: on a CUDA device its fused kernel
    (one launch for every parameter's update, Adam and AdamW) unless the config says otherwise."""
    on_cuda = any(getattr(p, "is_cuda", False) for p in parameters)
    takes = "fused" in inspect.signature(kind.__init__).parameters
    return {"fused": True, **settings} if on_cuda and takes and "foreach" not in settings else settings


def optimizers_for(
    parameters: Iterable, optimizer: dict | None, schedule: dict, length: Callable[[], tuple[int, int]]
) -> torch.optim.Optimizer | dict:
    """configure_optimizers' answer: the optimizer (checked again: a checkpoint's hyper-parameters can
    be edited), with its schedule over the run's length (steps per epoch, epochs) where it has one."""
    kind, settings = check_optimizer(optimizer)
    parameters = list(parameters)
    built = kind(parameters, **on_the_device(kind, settings, parameters))
    if schedule["name"] == "none":  # the constant rate: no trainer needed
        return built
    scheduler = build(schedule, built, *length())
    return {"optimizer": built, "lr_scheduler": {"scheduler": scheduler, "interval": schedule["interval"]}}
