"""train(cfg): one run, as a sequence: read the config once, hold the run folder, build the data,
the model, the loggers, the callbacks and the trainer, fit, test the best checkpoint, write
metrics.json into the run folder and return it."""

import time
import warnings
from functools import partial
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from omegaconf import DictConfig

from autoenc import UserError
from autoenc.data.datamodule import ImageDataModule
from autoenc.model.prepared import prepare_pictures
from autoenc.runs.folder import (
    AtomicCheckpointIO,
    RunLock,
    check_fits,
    is_rank_zero,
    link_job_logs,
    prepare_output_dir,
    previous_state,
    set_aside_earlier_run,
    write_json,
)
from autoenc.runs.record import check_same_run, record_new_run
from autoenc.scale import ddp
from autoenc.speed.settings import apply as apply_speed
from autoenc.speed.settings import gpu_for_job, keep_freed_memory, threads_per_job
from autoenc.training import dashboard, loggers
from autoenc.training.config import RunSpec, read_config
from autoenc.training.module import AutoEncoder
from autoenc.training.progress import BatchProgressBar
from autoenc.training.results import process_start_time, run_record

# TensorBoard's graph is traced with torch.jit, which announces its deprecation on every run
warnings.filterwarnings("ignore", message=r"`torch\.jit\.trace", category=FutureWarning)
# autoenc logs per epoch, never per step: Lightning's step-logging interval does not matter to it
warnings.filterwarnings("ignore", message=r"The number of training batches \(\d+\) is smaller than the logging")


def train(cfg: DictConfig, spec: RunSpec | None = None) -> dict:
    """Fit, test the best checkpoint, write metrics.json; one process per run folder (a lock).
    spec: the config as read_config read it already (train.py reads it before importing this)."""
    spec = spec or read_config(cfg)
    out = prepare_output_dir(spec.output_dir)
    if not is_rank_zero():  # DDP's other processes: rank 0 holds the lock and keeps the records
        return fit_and_test(spec, out)
    with RunLock(out), ddp.run_of_a_sweep(out):
        check_same_run(out, cfg)
        if spec.retrain:
            set_aside_earlier_run(out)
        record_new_run(out, cfg)
        link_job_logs(out)
        return fit_and_test(spec, out)


def fit_and_test(spec: RunSpec, out: Path) -> dict:
    started_at = time.time()
    finished, resume = previous_state(out, spec.retrain, spec.ckpt_path)
    if finished is not None:
        print(
            f"autoenc: {out} already holds a finished run (test mse {finished['test_mse']:.6f}); "
            "add retrain=true to train it again"
        )
        return finished
    L.seed_everything(spec.seed, verbose=False)
    keep_freed_memory(spec.speed.malloc_keep_mb)
    model = build_model(spec)
    prepare = partial(prepare_pictures, model.task, channels_last=spec.speed.channels_last)
    data = load_data(spec, prepare if spec.speed.prepared else None)
    load_seconds = time.time() - started_at
    net = model.describe()
    network = dashboard.network_table(model, net["latent_shape"])  # before channels_last: plain shapes
    apply_speed(model, spec.speed.channels_last, spec.speed.compile, spec.speed.threads or threads_per_job())
    resumed_step = check_fits(model, resume) if resume else None
    say(f"autoenc: {describe(spec, net)}; {data.name} {data.sizes()}; output {out}")
    if resume:
        say(f"autoenc: resuming from {resume}")
    chosen = loggers.build_loggers(spec, out, resumed_step)
    checkpoint = best_checkpoint(out, model.monitor)
    trainer = build_trainer(spec, out, chosen, [checkpoint, *callbacks(spec, model.monitor)])
    hparams = run_hparams(spec, net, str(trainer.precision), model.schedule["name"])
    if is_rank_zero():
        loggers.start(chosen, hparams, spec.config_yaml, network)

    fit_seconds = fit(trainer, model, data, resume)
    test_started = time.perf_counter()
    test = trainer.test(model, datamodule=data, ckpt_path="best", verbose=False)[0]
    # wall-clock times (unix seconds) and durations of this process's part of the run: a sweep's
    # table sums them up (time to the first step, data loading, training, testing; autoenc/report/table.py)
    timing = {
        "process_start": process_start_time(),
        "start": started_at,
        "first_step": model.first_step_at,
        "end": time.time(),
        "load_s": round(load_seconds, 3),
        "fit_s": round(fit_seconds, 3),
        "test_s": round(time.perf_counter() - test_started, 3),
    }
    metrics = run_record(spec, net, data, model, trainer, checkpoint, test, resume, fit_seconds, timing, out)
    if trainer.is_global_zero:
        write_json(out / "metrics.json", metrics)
        loggers.finish(chosen, hparams, metrics, trainer.global_step)
    say(
        f"autoenc: test mse {metrics['test_mse']:.6f} (rgb {metrics['test_mse_rgb']:.6f}, "
        f"psnr {metrics['test_psnr']:.2f} dB) -> {out / 'metrics.json'}"
    )
    return metrics


def say(line: str) -> None:
    """Once per run, not once per DDP process."""
    if is_rank_zero():
        print(line)


def load_data(spec: RunSpec, prepare=None) -> ImageDataModule:
    data = ImageDataModule(
        **spec.dataset,
        seed=spec.seed,
        on_device=spec.speed.device_data,
        steps_per_call=spec.speed.steps_per_call,
        train_limit=spec.train_limit,
        reuse=ddp.in_sweep(),  # the runs of a sweep in one process load the pictures once
        prepare=prepare,
    )
    data.setup()
    return data


def build_model(spec: RunSpec) -> AutoEncoder:
    return AutoEncoder(
        widths=spec.widths,
        kernel_size=spec.kernel_size,
        block=spec.block,
        skips=spec.skips,
        residual=spec.residual,
        task=spec.task,
        optimizer=spec.optimizer,
        scheduler=spec.scheduler,
        task_options=spec.task_options or None,
        loss=spec.loss,
        channels_last=spec.speed.channels_last,
        cuda_graph=spec.speed.cuda_graph,
    )


def describe(spec: RunSpec, net: dict) -> str:
    latent = "x".join(map(str, net["latent_shape"]))
    options = "".join(f" {key}" for key in ("skips", "residual") if net[key])
    deepest = "deepest stage (skips pass around it)" if net["skips"] else "latent"
    return (
        f"arch {spec.arch} {net['widths']} k{net['kernel_size']} {net['block']}{options}, task {net['task']}, "
        f"{deepest} {latent} = {net['latent_size']}, {net['params']:,} params"
    )


def best_checkpoint(out: Path, monitor: str) -> ModelCheckpoint:
    """checkpoints/best.ckpt (lowest monitored score) and last.ckpt, never versioned."""
    return ModelCheckpoint(
        dirpath=out / "checkpoints",
        filename="best",
        monitor=monitor,
        mode="min",
        save_last=True,
        auto_insert_metric_name=False,
        enable_version_counter=False,
    )


def callbacks(spec: RunSpec, monitor: str) -> list[Callback]:
    """The validation grid (TensorBoard), early stopping (early_stopping.patience) and the progress bar."""
    chosen: list[Callback] = [dashboard.ValidationGrid()] if "tensorboard" in spec.loggers else []
    if spec.patience:
        chosen.append(EarlyStopping(monitor, patience=spec.patience, min_delta=spec.min_delta))
    if spec.trainer["enable_progress_bar"]:  # drawn every few steps: not every step's cost
        chosen.append(BatchProgressBar(spec.speed.progress_every, spec.speed.steps_per_call))
    return chosen


def build_trainer(spec: RunSpec, out: Path, chosen: list, watchers: list[Callback]) -> L.Trainer:
    args = dict(spec.trainer)
    if (gpu := gpu_for_job(args["accelerator"], args["devices"])) is not None:
        args["devices"] = [gpu]  # parallel jobs on a machine with several GPUs: one each
    return L.Trainer(
        **args,
        logger=chosen or False,
        callbacks=watchers,
        default_root_dir=out,
        plugins=[AtomicCheckpointIO()],
    )


def fit(trainer: L.Trainer, model: AutoEncoder, data: ImageDataModule, resume: str | None) -> float:
    """Train; its seconds. An interrupted fit (Ctrl-C) writes no result."""
    start = time.perf_counter()
    trainer.fit(model, datamodule=data, ckpt_path=resume, weights_only=True)
    if trainer.interrupted:
        raise UserError("training was interrupted; no result written")
    return time.perf_counter() - start


def run_hparams(spec: RunSpec, net: dict, precision: str, scheduler: str) -> dict:
    return dashboard.run_hparams(
        spec.arch,
        net,
        spec.dataset["name"],
        spec.optimizer_name,
        spec.optimizer["lr"],
        spec.dataset["batch_size"],
        spec.trainer["max_epochs"],
        spec.seed,
        precision,
        scheduler,
    )
