"""train(cfg): build data and model from the composed config, fit, test the best
checkpoint, write metrics.json into the run's output dir and return it."""

import json
import os
import time
from pathlib import Path

import lightning as L
import torch
from lightning.fabric.plugins import TorchCheckpointIO
from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, OmegaConf

from autoenc import UserError
from autoenc.data import ImageDataModule
from autoenc.model import check_arch
from autoenc.module import AutoEncoder
from autoenc.speed import apply as apply_speed
from autoenc.speed import resolve_precision, threads_per_job
from autoenc.tasks import get_task


def check_config(cfg: DictConfig) -> None:
    """Every impossible number, with which one and why, before anything is built or written."""
    check_arch(list(cfg.arch.widths), cfg.arch.kernel_size, cfg.arch.block)
    get_task(cfg.task.name)
    lr = cfg.optimizer.get("lr")
    if not isinstance(lr, (int, float)) or not lr > 0:
        raise UserError(f"optimizer.lr={lr}: must be a positive number")
    epochs = cfg.trainer.get("max_epochs")
    if not isinstance(epochs, int) or epochs < 1:
        raise UserError(f"trainer.max_epochs={epochs}: must be a positive integer")


def write_json(path: Path, data: dict) -> None:
    """Write then rename, so a reader never sees a half-written file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written beside their final name, then renamed: a kill never leaves a
    truncated best.ckpt or last.ckpt for a resume to trust."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        torch.save(checkpoint, tmp)
        os.replace(tmp, path)


def previous_state(out: Path, cfg: DictConfig) -> tuple[dict | None, str | None]:
    """(finished metrics, checkpoint to resume from) of an earlier run in this output dir.
    ckpt_path=... resumes from that file; retrain=true sets earlier results aside."""
    metrics, last = out / "metrics.json", out / "checkpoints" / "last.ckpt"
    if cfg.get("retrain"):
        if metrics.exists() or last.exists():
            aside = out / f"replaced_{time.strftime('%Y-%m-%d_%H-%M-%S')}"
            aside.mkdir()
            for p in (metrics, out / "checkpoints"):
                if p.exists():
                    os.replace(p, aside / p.name)
            print(f"autoenc: retrain=true: earlier results moved to {aside}")
        return None, cfg.get("ckpt_path")
    if cfg.get("ckpt_path"):
        if not Path(cfg.ckpt_path).is_file():
            raise UserError(f"ckpt_path={cfg.ckpt_path}: no such checkpoint")
        return None, str(cfg.ckpt_path)
    if metrics.is_file():
        return json.loads(metrics.read_text()), None
    return None, str(last) if last.is_file() else None


def check_fits(model: AutoEncoder, path: str) -> None:
    """A checkpoint to resume from must hold this very network (loaded safely, weights_only)."""
    try:
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True)["state_dict"])
    except Exception as e:
        raise UserError(
            f"checkpoint {path} does not fit arch {list(model.hparams.widths)} k{model.hparams.kernel_size} "
            f"{model.hparams.block}, task {model.task.name}: {str(e).splitlines()[0]}"
        ) from None


def train(cfg: DictConfig) -> dict:
    check_config(cfg)
    out = Path(cfg.output_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / ".writable").touch()
        (out / ".writable").unlink()
    except OSError as e:
        raise UserError(f"cannot write to the output dir {out}: {e.strerror or e}") from None
    finished, resume = previous_state(out, cfg)
    if finished is not None:
        print(f"autoenc: {out} already holds a finished run (test mse {finished['test_mse']:.6f}); "
              "add retrain=true to train it again")  # fmt: skip
        return finished
    L.seed_everything(cfg.seed, verbose=False)
    speed = cfg.get("speed") or {}
    data = ImageDataModule(
        **OmegaConf.to_container(cfg.dataset, resolve=True), seed=cfg.seed, on_device=speed.get("device_data", True)
    )
    data.setup()
    model = AutoEncoder(
        widths=list(cfg.arch.widths),
        kernel_size=cfg.arch.kernel_size,
        block=cfg.arch.block,
        task=cfg.task.name,
        optimizer=OmegaConf.to_container(cfg.optimizer, resolve=True),
    )
    net = model.describe()
    threads = speed.get("threads") or threads_per_job()
    apply_speed(model, speed.get("channels_last", True), speed.get("compile", False), threads)
    trainer_args = OmegaConf.to_container(cfg.trainer, resolve=True)
    trainer_args["precision"] = resolve_precision(trainer_args.get("precision", "auto"),
                                                  trainer_args.get("accelerator", "auto"), cfg.arch.block)  # fmt: skip
    print(
        f"autoenc: arch {cfg.arch.name} {net['widths']} k{net['kernel_size']} {net['block']}, task {net['task']}, "
        f"latent {'x'.join(map(str, net['latent_shape']))} = {net['latent_size']}, {net['params']:,} params; "
        f"{cfg.dataset.name} {data.sizes()}; output {out}"
    )

    checkpoint = ModelCheckpoint(
        dirpath=out / "checkpoints",
        filename="best",
        monitor="val/mse",
        mode="min",
        save_last=True,
        auto_insert_metric_name=False,
        enable_version_counter=False,
    )
    logger = TensorBoardLogger(out, name="tb", version="", default_hp_metric=False)
    callbacks = [checkpoint]
    if trainer_args.get("enable_progress_bar", True):  # drawn every few steps: not every step's cost
        callbacks.append(TQDMProgressBar(refresh_rate=speed.get("progress_every", 20)))
    trainer = L.Trainer(**trainer_args, logger=logger, callbacks=callbacks, default_root_dir=out,
                        plugins=[AtomicCheckpointIO()])  # fmt: skip
    if resume:
        check_fits(model, resume)
        print(f"autoenc: resuming from {resume}")
    start = time.perf_counter()
    trainer.fit(model, datamodule=data, ckpt_path=resume, weights_only=True)
    train_seconds = time.perf_counter() - start
    if trainer.interrupted:
        raise UserError("training was interrupted; no result written")
    history = {k: list(v) for k, v in model.history.items()}
    test = trainer.test(model, datamodule=data, ckpt_path="best", verbose=False)[0]

    metrics = {
        "arch": cfg.arch.name,
        **net,
        "dataset": cfg.dataset.name,
        "seed": cfg.seed,
        "epochs": len(history["train_mse"]),
        "batch_size": cfg.dataset.batch_size,
        "optimizer": cfg.optimizer._target_.rsplit(".", 1)[-1],
        "lr": cfg.optimizer.lr,
        "split": cfg.dataset.split,
        "sizes": data.sizes(),
        **{key.replace("/", "_"): value for key, value in test.items()},  # test_mse, test_psnr, ...
        "best_val_mse": checkpoint.best_model_score.item(),
        "train_seconds": round(train_seconds, 2),  # of this process: after a resume, the resumed part
        "resumed_from": resume,
        "device": str(trainer.strategy.root_device),
        "precision": str(trainer.precision),
        "best_checkpoint": os.path.relpath(checkpoint.best_model_path, out),
        "history": history,
    }
    if trainer.is_global_zero:
        write_json(out / "metrics.json", metrics)
    print(
        f"autoenc: test mse {metrics['test_mse']:.6f} (rgb {metrics['test_mse_rgb']:.6f}, "
        f"psnr {metrics['test_psnr']:.2f} dB) -> {out / 'metrics.json'}"
    )
    return metrics
