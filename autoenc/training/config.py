"""The composed config, read once: every impossible number refused before anything is built or
written, and a typed spec that the rest of training reads instead of the raw config. Defaults live
in conf/ alone; every key read here is there. Imports no Lightning: train.py answers a bad number
before that import (2.3 s instead of 5.6 s on a 2-core AMD EPYC Zen 4)."""

from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from autoenc import UserError
from autoenc.data.batches import batches_within
from autoenc.data.sources import check_dataset
from autoenc.model.cae import check_arch
from autoenc.model.loss import check_loss
from autoenc.model.tasks import get_task, task_options
from autoenc.model.unet import check_net
from autoenc.speed import cuda_graph
from autoenc.speed.blocks import in_calls, resolve_steps_per_call
from autoenc.speed.settings import compile_backend, on_cuda, resolve_channels_last, resolve_precision
from autoenc.training.optim import check_optimizer
from autoenc.training.schedule import check_scheduler

LOGGERS = ("tensorboard", "csv", "mlflow")  # conf/logger: autoenc/training/loggers.py builds each


@dataclass(frozen=True)
class Speed:
    """conf/config.yaml `speed:`, resolved for this run (autoenc/speed/)."""

    device_data: bool
    channels_last: bool
    compile: str | None  # a torch.compile backend, or None
    threads: int | None
    progress_every: int
    steps_per_call: int  # batches per training_step call
    malloc_keep_mb: int
    cuda_graph: bool  # this run captures its step
    prepared: bool = False  # the training split's fixed per-picture work done once (a CUDA device)


@dataclass(frozen=True)
class RunSpec:
    """What one run trains and how: the checked, resolved config."""

    arch: str
    widths: list[int]
    kernel_size: int
    block: str
    skips: bool  # U-Net skips (autoenc/model/unet.py)
    residual: bool  # the net predicts a correction to its input
    task: str
    task_options: dict
    loss: dict
    dataset: dict  # ImageDataModule's keyword arguments
    optimizer: dict
    scheduler: dict
    trainer: dict  # lightning.Trainer's keyword arguments: batch counts in calls, precision resolved
    train_limit: int | float  # trainer.limit_train_batches, in batches (the data serves it)
    seed: int
    output_dir: str
    retrain: bool
    ckpt_path: str | None
    patience: int | None  # early stopping; None: never
    min_delta: float
    speed: Speed
    loggers: dict = field(default_factory=dict)  # conf/logger: name -> its settings
    config_yaml: str = ""  # the composed config, resolved: what TensorBoard's TEXT tab shows

    @property
    def optimizer_name(self) -> str:
        return self.optimizer["_target_"].rsplit(".", 1)[-1]

    @property
    def precision(self) -> str:
        return self.trainer["precision"]


def read_config(cfg: DictConfig) -> RunSpec:
    """The composed config as a RunSpec; each impossible number a UserError naming it and why."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    arch, data, trainer, speed = plain["arch"], plain["dataset"], plain["trainer"], plain["speed"]
    check_arch(list(arch["widths"]), arch["kernel_size"], arch["block"])
    options = task_options(plain["task"])
    task = get_task(plain["task"]["name"], **options)
    skips, residual = arch.get("skips", False), arch.get("residual", False)  # arch YAMLs older than them
    check_net(skips, residual, task.name, task.restores)
    loss = check_loss(plain["loss"], task.name)
    if task.options.get("saturation", 1) != 1:
        raise UserError(
            f"task.saturation={task.options['saturation']}: a decoding setting, which training never sees; "
            "give it to eval.py or scripts/colorize.py (saturation=...), or keep it in a colorizer with "
            "scripts/dev/make_colorizer.py vivid=true"
        )
    check_optimizer(plain["optimizer"])
    check_dataset(data["name"], data["root"], data["batch_size"], data["split"])
    if plain["ckpt_path"] and not Path(plain["ckpt_path"]).expanduser().is_file():
        raise UserError(f"ckpt_path={plain['ckpt_path']}: no such checkpoint")
    patience = plain["early_stopping"]["patience"]
    if patience is not None and (not isinstance(patience, int) or isinstance(patience, bool) or patience < 1):
        raise UserError(f"early_stopping.patience={patience}: must be a positive integer, or null (never stop early)")
    lr = plain["optimizer"].get("lr")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise UserError(f"optimizer.lr={lr}: must be a positive number")
    epochs = trainer.get("max_epochs")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise UserError(f"trainer.max_epochs={epochs}: must be a positive integer")
    loggers = check_loggers(plain.get("logger"))
    precision = resolve_precision(trainer["precision"], trainer["accelerator"], arch["block"])
    resolved = resolve_speed(speed, trainer, precision, plain["scheduler"]["name"])
    schedule = check_scheduler(plain["scheduler"])  # last: building its test optimizer imports torch._dynamo (1 s)
    trainer_args, train_limit = in_calls(trainer, resolved.steps_per_call)
    trainer_args["precision"] = precision
    return RunSpec(
        arch=arch["name"],
        widths=[int(w) for w in arch["widths"]],
        kernel_size=arch["kernel_size"],
        block=arch["block"],
        skips=skips,
        residual=residual,
        task=task.name,
        task_options=options,
        loss=loss,
        dataset=data,
        optimizer=plain["optimizer"],
        scheduler=schedule,
        trainer=trainer_args,
        train_limit=train_limit,
        seed=plain["seed"],
        output_dir=plain["output_dir"],
        retrain=bool(plain["retrain"]),
        ckpt_path=plain["ckpt_path"],
        patience=patience,
        min_delta=plain["early_stopping"]["min_delta"],
        speed=resolved,
        loggers=loggers,
        config_yaml=OmegaConf.to_yaml(cfg, resolve=True),
    )


def resolve_speed(speed: dict, trainer: dict, precision: str, scheduler: str = "none") -> Speed:
    """conf/config.yaml `speed:` for this trainer: each setting checked and its auto decided."""
    accelerator = trainer["accelerator"]
    steps = resolve_steps_per_call(speed["steps_per_call"], trainer)
    if (limit := trainer.get("limit_train_batches")) is not None:
        batches_within(1, limit)  # a bad limit: one line, now
    keep = speed["malloc_keep_mb"]
    if isinstance(keep, bool) or not isinstance(keep, int) or not 0 <= keep < 2048:
        raise UserError(f"speed.malloc_keep_mb={keep}: must be an integer from 0 (glibc's defaults) to 2047")
    return Speed(
        device_data=bool(speed["device_data"]),
        channels_last=resolve_channels_last(speed["channels_last"], accelerator),
        compile=compile_backend(speed["compile"]),
        threads=speed["threads"],
        progress_every=speed["progress_every"],
        steps_per_call=steps,
        malloc_keep_mb=keep,
        cuda_graph=graph_the_step(speed["cuda_graph"], accelerator, precision, one_device(trainer), scheduler),
        prepared=bool(speed["device_data"]) and on_cuda(accelerator),
    )


def graph_the_step(setting, accelerator: str, precision: str, single: bool, scheduler: str) -> bool:
    """speed.cuda_graph for this run: auto where it can (one CUDA device, bf16 or fp32, the constant
    rate: a captured step keeps the learning rate it was captured with); true where it cannot is an error."""
    graphed = cuda_graph.wanted(setting, accelerator, precision, single)
    if graphed and scheduler != "none":
        if str(setting).lower() == "true":
            raise UserError(
                f"speed.cuda_graph with scheduler={scheduler}: a captured step keeps the learning "
                "rate it was captured with; use one or the other"
            )
        return False
    return graphed


def one_device(trainer: dict) -> bool:
    """Lightning's single-device strategy: strategy auto on one device (trainer=ddp stays DDP on one)."""
    return str(trainer.get("strategy", "auto")) in ("auto", "single_device") and str(trainer["devices"]) in ("1", "[0]")


def check_loggers(chosen: dict | None) -> dict:
    """conf/logger's choice (logger=tensorboard, 'logger=[tensorboard,mlflow]', ~logger for none)."""
    chosen = chosen or {}
    for name in chosen:
        if name not in LOGGERS:
            raise UserError(f"logger={name!r} is unknown; valid loggers: {', '.join(LOGGERS)}")
    return {name: settings or {} for name, settings in chosen.items()}
