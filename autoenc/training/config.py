"""The composed config as train(cfg) reads it: every impossible number refused before anything is
built or written, and the plain settings each part is built from. Imports no Lightning: train.py
answers a bad number before that import (2.3 s instead of 5.6 s on a 2-core AMD EPYC Zen 4)."""

from omegaconf import DictConfig, OmegaConf

from autoenc import UserError
from autoenc.data.batches import batches_within
from autoenc.data.sources import check_dataset
from autoenc.model.cae import check_arch
from autoenc.model.loss import check_loss
from autoenc.model.tasks import get_task, task_options
from autoenc.speed import cuda_graph
from autoenc.speed.blocks import resolve_steps_per_call
from autoenc.speed.settings import compile_backend, resolve_channels_last, resolve_precision
from autoenc.training.optim import check_optimizer
from autoenc.training.schedule import check_scheduler


def check_config(cfg: DictConfig) -> None:
    """Every impossible number, with which one and why, before anything is built or written."""
    check_arch(list(cfg.arch.widths), cfg.arch.kernel_size, cfg.arch.block)
    task = get_task(cfg.task.name, **task_options(OmegaConf.to_container(cfg.task, resolve=True)))
    check_loss(loss_spec(cfg), task.name)
    if task.options.get("saturation", 1) != 1:
        raise UserError(
            f"task.saturation={task.options['saturation']}: a decoding setting, which training never sees; "
            "give it to eval.py or scripts/colorize.py (saturation=...), or keep it in a colorizer with "
            "scripts/dev/make_colorizer.py vivid=true"
        )
    check_optimizer(OmegaConf.to_container(cfg.optimizer, resolve=True))
    data = cfg.dataset
    check_dataset(data.name, data.get("root"), data.get("batch_size", 64), data.get("split", "study"))
    patience = (cfg.get("early_stopping") or {}).get("patience")
    if patience is not None and (not isinstance(patience, int) or patience < 1):
        raise UserError(f"early_stopping.patience={patience}: must be a positive integer, or null (never stop early)")
    lr = cfg.optimizer.get("lr")
    if not isinstance(lr, (int, float)) or not lr > 0:
        raise UserError(f"optimizer.lr={lr}: must be a positive number")
    epochs = cfg.trainer.get("max_epochs")
    if not isinstance(epochs, int) or epochs < 1:
        raise UserError(f"trainer.max_epochs={epochs}: must be a positive integer")
    accelerator = cfg.trainer.get("accelerator", "auto")
    speed = cfg.get("speed") or {}
    resolve_channels_last(speed.get("channels_last", "auto"), accelerator)
    compile_backend(speed.get("compile", False))
    steps_per_call(cfg)
    if (limit := cfg.trainer.get("limit_train_batches")) is not None:
        batches_within(1, limit)  # a bad limit: one line, now
    keep = speed.get("malloc_keep_mb", 256)
    if not isinstance(keep, int) or not 0 <= keep < 2048:
        raise UserError(f"speed.malloc_keep_mb={keep}: must be an integer from 0 (glibc's defaults) to 2047")
    precision = resolve_precision(cfg.trainer.get("precision", "auto"), accelerator, cfg.arch.block)
    one_device = str(cfg.trainer.get("strategy", "auto")) in ("auto", "single_device") and str(
        cfg.trainer.get("devices", 1)
    ) in ("1", "[0]")
    graphed = cuda_graph.wanted(speed.get("cuda_graph", False), accelerator, precision, one_device)
    schedule = check_scheduler(scheduler_spec(cfg))  # last: building its test optimizer imports torch._dynamo (1 s)
    if graphed and schedule["name"] != "none":
        raise UserError(
            f"speed.cuda_graph with scheduler={schedule['name']}: a captured step keeps the learning "
            "rate it was captured with; use one or the other"
        )


def steps_per_call(cfg: DictConfig) -> int:
    """speed.steps_per_call for this config (auto: 16 unless the trainer counts steps exactly)."""
    speed = cfg.get("speed") or {}
    return resolve_steps_per_call(speed.get("steps_per_call", 1), OmegaConf.to_container(cfg.trainer, resolve=True))


def loss_spec(cfg: DictConfig) -> dict | None:
    """conf/loss's settings (None: mse; configs from before the group had none)."""
    return OmegaConf.to_container(cfg.loss, resolve=True) if cfg.get("loss") else None


def scheduler_spec(cfg: DictConfig) -> dict | None:
    """conf/scheduler's settings (None: the constant rate; configs from before the group had none)."""
    return OmegaConf.to_container(cfg.scheduler, resolve=True) if cfg.get("scheduler") else None


def optimizer_name(cfg: DictConfig) -> str:
    return cfg.optimizer._target_.rsplit(".", 1)[-1]
