"""The loggers (conf/logger), one or several at once (logger=[tensorboard,mlflow]):
- tensorboard (default): curves, HPARAMS, image grids, the config and the network as text
  (autoenc/training/dashboard.py), in <run>/tb/;
- csv: Lightning's CSVLogger, <run>/csv/metrics.csv and hparams.yaml;
- mlflow: Lightning's MLFlowLogger: the run's hyper-parameters as params, every epoch's metrics,
  the test metrics, and its best checkpoint as an artifact (log_model), on the tracking server
  of logger.mlflow.tracking_uri (or $MLFLOW_TRACKING_URI, else a local ./mlruns).
Every logger gets its scalars at the optimizer step (the module logs `step`), one per batch."""

import os
from pathlib import Path

from lightning.pytorch.loggers import CSVLogger, Logger, MLFlowLogger, TensorBoardLogger

from autoenc.training import dashboard
from autoenc.training.config import RunSpec


def tensorboard(spec: RunSpec, out: Path, resumed_step: int | None) -> Logger:
    # a resumed run hides what its killed self logged after the checkpoint (steps > the checkpoint's);
    # the graph is traced with torch.jit, which cannot trace a compiled network
    purge = None if resumed_step is None else resumed_step + 1
    return dashboard.RunLogger(
        out, name="tb", version="", default_hp_metric=False, log_graph=spec.speed.compile is None, purge_step=purge
    )


def csv(spec: RunSpec, out: Path, resumed_step: int | None) -> Logger:
    return CSVLogger(out, name="csv", version="")


def mlflow(spec: RunSpec, out: Path, resumed_step: int | None) -> Logger:
    settings = spec.loggers["mlflow"]
    return MLFlowLogger(
        experiment_name=settings.get("experiment_name") or "autoenc",
        run_name=out.name,
        tracking_uri=settings.get("tracking_uri") or os.environ.get("MLFLOW_TRACKING_URI"),
        tags={"run_folder": str(out.resolve())},
        log_model=bool(settings.get("log_model", True)),
    )


BUILDERS = {"tensorboard": tensorboard, "csv": csv, "mlflow": mlflow}


def build_loggers(spec: RunSpec, out: Path, resumed_step: int | None) -> list[Logger]:
    """The loggers conf/logger chose, TensorBoard first where chosen (the image grids go there)."""
    return [BUILDERS[name](spec, out, resumed_step) for name in BUILDERS if name in spec.loggers]


def start(loggers: list[Logger], hparams: dict, config_yaml: str, network: str) -> None:
    """A run's hyper-parameters on every logger; TensorBoard's also its HPARAMS row, layout and text."""
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            dashboard.start(logger, hparams, config_yaml, network)
        else:
            logger.log_hyperparams(hparams)


def finish(loggers: list[Logger], hparams: dict, metrics: dict, step: int) -> None:
    """The results the test loop did not log (best val MSE, training time), on every logger."""
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            dashboard.finish(logger, hparams, metrics, step)
        else:
            logger.log_metrics(dashboard.final_scalars(metrics), step)
            logger.save()  # CSVLogger writes what it holds here
