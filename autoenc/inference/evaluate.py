"""evaluate(cfg): re-test a checkpoint on any dataset and split; write metrics.json (the
training's keys, the test_* ones measured anew) into the eval's output dir and return it."""

import json
from pathlib import Path

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, OmegaConf

from autoenc import UserError
from autoenc.data.batches import Batches
from autoenc.data.datamodule import ImageDataModule
from autoenc.inference.checkpoints import load_checkpoint, set_saturation, set_temperature
from autoenc.runs.folder import write_json
from autoenc.speed.settings import apply as apply_speed
from autoenc.training import dashboard
from autoenc.training.results import scores_of

SPLITS = ("train", "val", "test", "all")  # all: every picture of the dataset, in its order


def evaluate(cfg: DictConfig) -> dict:
    """Test the checkpoint on the split; metrics.json and TensorBoard events in cfg.output_dir."""
    if OmegaConf.is_missing(cfg, "ckpt_path"):
        raise UserError("give the checkpoint: python eval.py ckpt_path=outputs/runs/.../checkpoints/best.ckpt")
    if cfg.split not in SPLITS:
        raise UserError(f"split={cfg.split!r}: must be one of {', '.join(SPLITS)}")
    ckpt_path = Path(cfg.ckpt_path).expanduser()
    model, ckpt = load_checkpoint(ckpt_path)
    if cfg.get("temperature") is not None:
        set_temperature(model, cfg.temperature)
    if cfg.get("saturation") is not None:
        set_saturation(model, cfg.saturation)
    run_json = ckpt_path.resolve().parent.parent / "metrics.json"  # <run>/checkpoints/best.ckpt
    trained = json.loads(run_json.read_text()) if run_json.is_file() else {}
    dataset = dataset_of(cfg, ckpt, ckpt_path)
    data = ImageDataModule(**dataset)
    data.setup()
    precision = cfg.get("precision") or trained.get("precision", "32-true")  # default: as it was trained
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    logger = TensorBoardLogger(out, name="tb", version="", default_hp_metric=False)  # the training's metric names
    images = {"train": data.train_set, "val": data.val_set, "test": data.test_set, "all": data.all_set}[cfg.split]
    network = dashboard.network_table(model, model.describe()["latent_shape"])
    test = run_test(model, images, cfg.batch_size or data.eval_batch_size, cfg.accelerator, precision, logger)
    evaluated = {
        "checkpoint": str(ckpt_path),
        "split": cfg.split,
        "images": len(images),
        "dataset_root": str(Path(dataset["root"]).expanduser()) if dataset.get("root") else None,
    }
    metrics = record(model, ckpt, trained, data, evaluated, test)
    write_json(out / "metrics.json", metrics)
    hparams = eval_hparams(model, trained, data, metrics, precision)
    dashboard.record(logger, hparams, metrics, OmegaConf.to_yaml(cfg, resolve=True), network)
    print(
        f"autoenc eval: {cfg.split} mse {metrics['test_mse']:.6f} (rgb {metrics['test_mse_rgb']:.6f}, "
        f"psnr {metrics['test_psnr']:.2f} dB) on {data.name} -> {out / 'metrics.json'}"
    )
    return metrics


def dataset_of(cfg: DictConfig, ckpt: dict, ckpt_path: Path) -> dict:
    """The data to test on: dataset=... where given, else the run's own, as its checkpoint recorded it."""
    if cfg.get("dataset") is not None:
        return OmegaConf.to_container(cfg.dataset, resolve=True)
    if "datamodule_hyper_parameters" in ckpt:
        return ckpt["datamodule_hyper_parameters"]
    raise UserError(f"{ckpt_path} does not say which data it was trained on: add e.g. dataset=photos")


def run_test(model, images, batch_size: int, accelerator: str, precision: str, logger) -> dict:
    """The test loop's results on these pictures (test/mse, test/psnr, ...)."""
    trainer = L.Trainer(
        accelerator=accelerator,
        devices=1,
        precision=precision,
        logger=logger,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=False,
    )
    apply_speed(model)  # channels_last, as in training: in bf16 the kernels must match to reproduce it
    return trainer.test(model, dataloaders=Batches(images, batch_size), verbose=False)[0]


def record(model, ckpt: dict, trained: dict, data: ImageDataModule, evaluated: dict, test: dict) -> dict:
    """metrics.json of an eval: the training's record where there is one, the test scores anew."""
    history = ckpt.get("history", {"train_mse": [], "val_mse": []})
    return {
        **trained,  # what the training recorded (arch name, seed, train_seconds, ...), if it is there
        "arch": trained.get("arch", "custom"),
        **model.describe(),
        "seed": trained.get("seed"),
        "epochs": trained.get("epochs", len(history["train_mse"])),
        "best_val_mse": trained.get("best_val_mse", min(history["val_mse"], default=None)),
        "train_seconds": trained.get("train_seconds"),
        "history": history,
        "dataset": data.name,
        "split": data.split,
        "sizes": data.sizes(),
        "evaluated": evaluated,
        **scores_of(test),
        "loss": model.objective.name,
        **model.decoding(),  # classify's temperature, a colour task's saturation
    }


def eval_hparams(model, trained: dict, data: ImageDataModule, metrics: dict, precision: str) -> dict:
    optimizer = model.hparams.optimizer or {}
    seed = metrics["seed"] if metrics["seed"] is not None else data.seed
    return dashboard.run_hparams(
        metrics["arch"],
        model.describe(),
        data.name,
        trained.get("optimizer", str(optimizer.get("_target_", "?")).rsplit(".", 1)[-1]),
        trained.get("lr", optimizer.get("lr", 0.0)),
        data.batch_size,
        metrics["epochs"],
        seed,
        precision,
        model.schedule["name"],
    )
