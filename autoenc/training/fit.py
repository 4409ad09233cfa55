"""train(cfg): build data and model from the composed config, fit, test the best
checkpoint, write metrics.json into the run's output dir and return it."""

import os
import statistics
import time
import warnings
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.strategies import SingleDeviceStrategy
from omegaconf import DictConfig, OmegaConf

from autoenc import UserError
from autoenc.data.datamodule import ImageDataModule
from autoenc.model.tasks import task_options
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
from autoenc.speed import cuda_graph
from autoenc.speed.blocks import in_calls
from autoenc.speed.settings import apply as apply_speed
from autoenc.speed.settings import (
    compile_backend,
    gpu_for_job,
    keep_freed_memory,
    resolve_channels_last,
    resolve_precision,
    threads_per_job,
)
from autoenc.training import dashboard
from autoenc.training.config import check_config, loss_spec, optimizer_name, scheduler_spec, steps_per_call
from autoenc.training.module import AutoEncoder
from autoenc.training.progress import BatchProgressBar

# TensorBoard's graph is traced with torch.jit, which announces its deprecation on every run
warnings.filterwarnings("ignore", message=r"`torch\.jit\.trace", category=FutureWarning)
# autoenc logs per epoch, never per step: Lightning's step-logging interval does not matter to it
warnings.filterwarnings("ignore", message=r"The number of training batches \(\d+\) is smaller than the logging")


def train(cfg: DictConfig) -> dict:
    """Fit, test the best checkpoint, write metrics.json; one process per run folder (a lock)."""
    check_config(cfg)
    out = prepare_output_dir(cfg.output_dir)
    if not is_rank_zero():  # DDP's other processes: rank 0 holds the lock and keeps the records
        return fit_and_test(cfg, out)
    with RunLock(out), ddp.run_of_a_sweep(out):
        check_same_run(out, cfg)
        if cfg.get("retrain"):
            set_aside_earlier_run(out)
        record_new_run(out, cfg)
        link_job_logs(out)
        return fit_and_test(cfg, out)


def fit_and_test(cfg: DictConfig, out: Path) -> dict:
    started_at = time.time()
    finished, resume = previous_state(out, cfg)
    if finished is not None:
        print(
            f"autoenc: {out} already holds a finished run (test mse {finished['test_mse']:.6f}); "
            "add retrain=true to train it again"
        )
        return finished
    L.seed_everything(cfg.seed, verbose=False)
    speed = cfg.get("speed") or {}
    keep_freed_memory(speed.get("malloc_keep_mb", 256))
    block = steps_per_call(cfg)
    trainer_args, train_limit = in_calls(OmegaConf.to_container(cfg.trainer, resolve=True), block)
    data = ImageDataModule(
        **OmegaConf.to_container(cfg.dataset, resolve=True),
        seed=cfg.seed,
        on_device=speed.get("device_data", True),
        steps_per_call=block,
        train_limit=train_limit,
    )
    data.setup()
    load_seconds = time.time() - started_at
    model = make_model(cfg)
    net = model.describe()
    network = dashboard.network_table(model, net["latent_shape"])  # before channels_last: plain shapes
    accelerator = trainer_args.get("accelerator", "auto")
    compiled = compile_backend(speed.get("compile", False))
    apply_speed(
        model,
        resolve_channels_last(speed.get("channels_last", "auto"), accelerator),
        compiled,
        speed.get("threads") or threads_per_job(),
    )
    if (gpu := gpu_for_job(accelerator, trainer_args.get("devices", 1))) is not None:
        trainer_args["devices"] = [gpu]  # parallel jobs on a machine with several GPUs: one each
    trainer_args["precision"] = resolve_precision(
        trainer_args.get("precision", "auto"), trainer_args.get("accelerator", "auto"), cfg.arch.block
    )
    say = print if is_rank_zero() else lambda *_: None  # once per run, not once per DDP process
    say(
        f"autoenc: arch {cfg.arch.name} {net['widths']} k{net['kernel_size']} {net['block']}, task {net['task']}, "
        f"latent {'x'.join(map(str, net['latent_shape']))} = {net['latent_size']}, {net['params']:,} params; "
        f"{cfg.dataset.name} {data.sizes()}; output {out}"
    )
    resumed_step = check_fits(model, resume) if resume else None
    if resume:
        say(f"autoenc: resuming from {resume}")
    # a resumed run hides what its killed self logged after the checkpoint (steps > the checkpoint's);
    # the graph is traced with torch.jit, which cannot trace a compiled network
    logger = dashboard.RunLogger(
        out,
        name="tb",
        version="",
        default_hp_metric=False,
        log_graph=compiled is None,
        purge_step=None if resumed_step is None else resumed_step + 1,
    )
    checkpoint = ModelCheckpoint(
        dirpath=out / "checkpoints",
        filename="best",
        monitor=model.monitor,
        mode="min",
        save_last=True,
        auto_insert_metric_name=False,
        enable_version_counter=False,
    )
    callbacks = [checkpoint]
    if (stop := cfg.get("early_stopping") or {}).get("patience"):
        callbacks.append(EarlyStopping(model.monitor, patience=stop.patience, min_delta=stop.get("min_delta", 0.0)))
    if trainer_args.get("enable_progress_bar", True):  # drawn every few steps: not every step's cost
        callbacks.append(BatchProgressBar(speed.get("progress_every", 20), block))
    trainer = L.Trainer(
        **trainer_args, logger=logger, callbacks=callbacks, default_root_dir=out, plugins=[AtomicCheckpointIO()]
    )
    logger.optimizer_steps = lambda: trainer.global_step  # scalars counted in batches, blocks or not
    model.cuda_graph = graph_the_step(speed.get("cuda_graph", False), trainer)
    hparams = dashboard.run_hparams(
        cfg.arch.name,
        net,
        cfg.dataset.name,
        optimizer_name(cfg),
        cfg.optimizer.lr,
        cfg.dataset.batch_size,
        cfg.trainer.max_epochs,
        cfg.seed,
        trainer.precision,
        model.schedule["name"],
    )
    if is_rank_zero():
        dashboard.start(logger, hparams, OmegaConf.to_yaml(cfg, resolve=True), network)

    start = time.perf_counter()
    trainer.fit(model, datamodule=data, ckpt_path=resume, weights_only=True)
    train_seconds = time.perf_counter() - start
    if trainer.interrupted:
        raise UserError("training was interrupted; no result written")
    history = {k: list(v) for k, v in model.history.items()}
    test_start = time.perf_counter()
    test = trainer.test(model, datamodule=data, ckpt_path="best", verbose=False)[0]
    # wall-clock times (unix seconds) and durations of this process's part of the run: a sweep's
    # table sums them up (time to the first step, data loading, training, testing; autoenc/report/table.py)
    timing = {
        "process_start": process_start_time(),
        "start": started_at,
        "first_step": model.first_step_at,
        "end": time.time(),
        "load_s": round(load_seconds, 3),
        "fit_s": round(train_seconds, 3),
        "test_s": round(time.perf_counter() - test_start, 3),
    }

    metrics = {
        "arch": cfg.arch.name,
        **net,
        "dataset": cfg.dataset.name,
        "seed": cfg.seed,
        "epochs": len(history["train_mse"]),
        "max_epochs": cfg.trainer.max_epochs,  # more than epochs where early stopping ended the run
        "scheduler": model.schedule["name"],
        "loss": model.objective.name,
        **model.decoding(),  # classify's temperature, a colour task's saturation
        "batch_size": cfg.dataset.batch_size,
        "optimizer": optimizer_name(cfg),
        "lr": cfg.optimizer.lr,
        "split": cfg.dataset.split,
        "sizes": data.sizes(),
        **{key.replace("/", "_"): value for key, value in test.items()},  # test_mse, test_psnr, ...
        **model.best_scores(checkpoint.best_model_score.item()),
        "train_seconds": round(train_seconds, 2),  # of this process: after a resume, the resumed part
        # training images/s (validation excluded), median over this process's epochs, all processes
        "train_images_per_s": round(statistics.median(model.throughput.epochs or [0.0]) * trainer.world_size, 1),
        "resumed_from": resume,
        "device": str(trainer.strategy.root_device),
        "precision": str(trainer.precision),
        "cuda_graph": model.step_captured,
        "best_checkpoint": os.path.relpath(checkpoint.best_model_path, out),
        "history": history,
        "timing": timing,
    }
    if trainer.is_global_zero:
        write_json(out / "metrics.json", metrics)
        dashboard.finish(logger, hparams, metrics, trainer.global_step)
    say(
        f"autoenc: test mse {metrics['test_mse']:.6f} (rgb {metrics['test_mse_rgb']:.6f}, "
        f"psnr {metrics['test_psnr']:.2f} dB) -> {out / 'metrics.json'}"
    )
    return metrics


def process_start_time() -> float | None:
    """When this process was launched (unix seconds, to within a second: Linux's /proc), else None."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])  # field 22: starttime
        boot = next(
            int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime")
        )
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def graph_the_step(setting, trainer: L.Trainer) -> bool:
    """speed.cuda_graph for this trainer: a CUDA device with bf16 or fp32, single-device strategy."""
    accelerator = "gpu" if trainer.strategy.root_device.type == "cuda" else "cpu"
    single = isinstance(trainer.strategy, SingleDeviceStrategy)
    return cuda_graph.wanted(setting, accelerator, str(trainer.precision), single)


def make_model(cfg: DictConfig) -> AutoEncoder:
    return AutoEncoder(
        widths=list(cfg.arch.widths),
        kernel_size=cfg.arch.kernel_size,
        block=cfg.arch.block,
        task=cfg.task.name,
        optimizer=OmegaConf.to_container(cfg.optimizer, resolve=True),
        scheduler=scheduler_spec(cfg),
        task_options=task_options(OmegaConf.to_container(cfg.task, resolve=True)) or None,
        loss=loss_spec(cfg),
    )
