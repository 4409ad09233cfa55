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

SPLITS = ("train", "val", "test", "all")  # all: every picture of the dataset, in its order


def evaluate(cfg: DictConfig) -> dict:
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
    if cfg.get("dataset") is not None:
        dataset = OmegaConf.to_container(cfg.dataset, resolve=True)
    elif "datamodule_hyper_parameters" in ckpt:  # the run's own data, as the checkpoint recorded it
        dataset = ckpt["datamodule_hyper_parameters"]
    else:
        raise UserError(f"{ckpt_path} does not say which data it was trained on: add e.g. dataset=photos")
    data = ImageDataModule(**dataset)
    data.setup()
    precision = cfg.get("precision") or trained.get("precision", "32-true")  # default: as it was trained
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    network = dashboard.network_table(model, model.describe()["latent_shape"])
    logger = TensorBoardLogger(out, name="tb", version="", default_hp_metric=False)  # the training's metric names
    trainer = L.Trainer(
        accelerator=cfg.accelerator,
        devices=1,
        precision=precision,
        logger=logger,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=False,
    )
    images = {"train": data.train_set, "val": data.val_set, "test": data.test_set, "all": data.all_set}[cfg.split]
    apply_speed(model)  # channels_last, as in training: in bf16 the kernels must match to reproduce it
    test = trainer.test(model, dataloaders=Batches(images, cfg.batch_size or data.batch_size), verbose=False)[0]
    history = ckpt.get("history", {"train_mse": [], "val_mse": []})
    metrics = {
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
        "evaluated": {
            "checkpoint": str(ckpt_path),
            "split": cfg.split,
            "images": len(images),
            "dataset_root": str(Path(dataset["root"]).expanduser()) if dataset.get("root") else None,
        },
        **{key.replace("/", "_"): value for key, value in test.items() if key.startswith("test/")},
        "loss": model.objective.name,
        **model.decoding(),  # classify's temperature, a colour task's saturation
    }
    write_json(out / "metrics.json", metrics)
    optimizer = model.hparams.optimizer or {}
    seed = metrics["seed"] if metrics["seed"] is not None else data.seed
    hparams = dashboard.run_hparams(
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
    dashboard.record(logger, hparams, metrics, OmegaConf.to_yaml(cfg, resolve=True), network)
    print(
        f"autoenc eval: {cfg.split} mse {metrics['test_mse']:.6f} (rgb {metrics['test_mse_rgb']:.6f}, "
        f"psnr {metrics['test_psnr']:.2f} dB) on {data.name} -> {out / 'metrics.json'}"
    )
    return metrics
