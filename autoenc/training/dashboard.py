"""What a run shows in TensorBoard beyond its curves: its hyper-parameters and results
(HPARAMS tab, so a sweep compares there), a custom-scalars layout, its config and network
(TEXT). Written through torch's and TensorBoard's own summary APIs into the run's tb/ events.

    tensorboard --logdir outputs/multirun/<sweep>
"""

import math
import time
from collections.abc import Sequence

import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.core.module import _jit_is_scripting
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only
from lightning.pytorch.utilities.model_summary import ModelSummary
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData
from torch.utils.tensorboard._pytorch_graph import graph as trace_graph
from torch.utils.tensorboard.summary import hparams as hparams_summary

# HPARAMS metrics: TensorBoard tag -> metrics.json key (the first five are shown by default).
# The test/* tags are logged by the test loop.
RESULT_TAGS = {
    "test/mse": "test_mse",
    "test/mse_rgb": "test_mse_rgb",
    "test/psnr": "test_psnr",
    "test/colourfulness_ratio": "test_colourfulness_ratio",
    "val/best_mse": "best_val_mse",
    "test/ssim": "test_ssim",
    "train/seconds": "train_seconds",
    "test/colour_distance": "test_colour_distance",
}
# HPARAMS shows five hyper-parameter columns by default, those marked as differing across runs
# first; a run cannot know its sweep, so these, which sweeps vary, are marked (the rest: a click).
SHOWN_FIRST = ("arch", "task", "lr", "max_epochs", "seed")
# One chart per entry in TensorBoard's CUSTOM SCALARS tab
LAYOUT = {
    "autoenc": {
        "MSE: train and val": ["Multiline", ["train/mse", "val/mse"]],
        "learning rate": ["Multiline", ["train/lr"]],
        "speed (images/s)": ["Multiline", ["train/images_per_s"]],
    }
}


class RunLogger(TensorBoardLogger):
    """Lightning's TensorBoardLogger that writes the network's graph once per run (Lightning asks
    at the start of fit and again of test) and traces each network once per process (torch.jit,
    about 0.25 s: a sweep's runs of the same network share the trace)."""

    traced: dict[tuple, tuple] = {}  # (module, its repr and mode, input shape, dtype, strides) -> the graph

    @rank_zero_only
    def log_graph(self, model: torch.nn.Module, input_array: torch.Tensor | None = None) -> None:
        x = model.example_input_array if input_array is None else input_array
        if not self._log_graph or not isinstance(x, torch.Tensor):
            return super().log_graph(model, input_array)  # Lightning's warnings, or nothing
        key = (type(model), repr(model), model.training, tuple(x.shape), x.dtype, x.stride())
        if key not in self.traced:
            x = model._apply_batch_transfer_handler(model._on_before_batch_transfer(x))  # as Lightning's
            with _jit_is_scripting():
                self.traced[key] = trace_graph(model, x)
        self.experiment._get_file_writer().add_graph(self.traced[key])
        self._log_graph = False


def run_hparams(
    arch: str,
    net: dict,
    dataset: str,
    optimizer: str,
    lr: float,
    batch_size: int,
    max_epochs: int,
    seed: int,
    precision: str,
    scheduler: str = "none",
) -> dict:
    """The hyper-parameters that define a run and the quantities that describe its network:
    one HPARAMS row. Plain numbers and strings, as TensorBoard takes them."""
    return {
        "arch": arch,
        "widths": "-".join(map(str, net["widths"])),
        "kernel_size": net["kernel_size"],
        "block": net["block"],
        "task": net["task"],
        "dataset": dataset,
        "optimizer": optimizer,
        "lr": float(lr),
        "batch_size": batch_size,
        "max_epochs": max_epochs,
        "seed": seed,
        "precision": str(precision),
        "scheduler": scheduler,
        "latent_size": net["latent_size"],
        "params": net["params"],
    }


def _writer(logger: TensorBoardLogger):
    return logger.experiment._get_file_writer()  # torch's FileWriter: takes Summary protos


def start(logger: TensorBoardLogger, hparams: dict, config_yaml: str, network: str) -> None:
    """At the start of a run: its HPARAMS row (its metrics appear as they are logged), the custom
    scalars layout, the config and the network as text."""
    experiment, session_start, _ = hparams_summary(hparams, dict.fromkeys(RESULT_TAGS, 0.0))
    mark_shown_first(experiment, SHOWN_FIRST)
    writer = _writer(logger)
    writer.add_summary(experiment)
    writer.add_summary(session_start)
    logger.experiment.add_custom_scalars(LAYOUT)
    logger.experiment.add_text("config", f"```yaml\n{config_yaml}\n```")
    logger.experiment.add_text("network", network)
    logger.experiment.flush()


def mark_shown_first(experiment: Summary, names: tuple[str, ...]) -> None:
    """Set `differs` on these hyper-parameters of torch's experiment summary (TensorBoard sorts
    the HPARAMS columns by it and shows the first five)."""
    plugin = experiment.value[0].metadata.plugin_data
    data = HParamsPluginData.FromString(plugin.content)
    for info in data.experiment.hparam_infos:
        info.differs = info.name in names
    plugin.content = data.SerializeToString()


def finish(logger: TensorBoardLogger, hparams: dict, metrics: dict, step: int) -> None:
    """At the end: the results that the test loop did not log, then the session's end (its
    HPARAMS status turns to success)."""
    logger.log_metrics(final_scalars(metrics), step)
    _, _, session_end = hparams_summary(hparams, {})
    _writer(logger).add_summary(session_end)
    logger.experiment.flush()


def final_scalars(metrics: dict) -> dict[str, float]:
    """The results that the test loop does not log: the best val MSE and the training time."""
    logged = {"val/best_mse": metrics["best_val_mse"], "train/seconds": metrics["train_seconds"]}
    return {k: v for k, v in logged.items() if v is not None}


def record(logger: TensorBoardLogger, hparams: dict, metrics: dict, config_yaml: str, network: str) -> None:
    """A run's whole record at once (eval.py): row, results and end."""
    start(logger, hparams, config_yaml, network)
    finish(logger, hparams, metrics, 0)


def network_table(model: torch.nn.Module, latent_shape: list[int]) -> str:
    """The network as a markdown table: layer, type, output shape, parameters; and the latent size.
    Lightning's ModelSummary runs model.example_input_array through it for the shapes."""
    summary = ModelSummary(model, max_depth=-1)
    rows = [
        f"| {name} | {kind} | {'x'.join(map(str, out[1:])) if isinstance(out, list) else out} | {n:,} |"
        for name, kind, out, n in zip(
            summary.layer_names, summary.layer_types, summary.out_sizes, summary.param_nums, strict=True
        )
        if name.startswith("net.") and not kind.endswith(("Sequential", "ModuleList"))
    ]
    latent = "x".join(map(str, latent_shape))
    return "\n".join(
        [
            "| layer | type | output (C x H x W) | params |",
            "|---|---|---|--:|",
            *rows,
            "",
            f"**{summary.trainable_parameters:,} parameters; latent {latent} = {math.prod(latent_shape):,} values**",
        ]
    )


class Throughput:
    """Training images per second of an epoch: wall time from the epoch's start until its
    validation starts (or the epoch ends, without validation). On a GPU both ends wait for the
    queued kernels (twice an epoch), so the time is of work done, not of work queued."""

    def __init__(self):
        self.start, self.stop, self.images = 0.0, None, 0
        self.epochs: list[float] = []  # images/s of each epoch this process trained

    def begin(self, device: torch.device | None = None) -> None:
        synchronize(device)
        self.start, self.stop, self.images = time.perf_counter(), None, 0

    def add(self, n: int) -> None:
        self.images += n

    def pause(self, device: torch.device | None = None) -> None:
        if self.stop is None:
            synchronize(device)
            self.stop = time.perf_counter()

    def per_second(self) -> float:
        return self.images / max((self.stop or time.perf_counter()) - self.start, 1e-9)

    def end_epoch(self) -> float:
        self.epochs.append(self.per_second())
        return self.epochs[-1]


def synchronize(device: torch.device | None) -> None:
    """Wait for the kernels queued on a CUDA device; nothing elsewhere (the CPU runs in order)."""
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def add_grid(logger: TensorBoardLogger, tag: str, rows: Sequence[torch.Tensor], per_row: int, step: int) -> None:
    """Pictures in [-1, 1] (rows of per_row: input, prediction, target) as one image on TensorBoard."""
    from torchvision.utils import make_grid

    grid = make_grid(torch.cat(rows).float().clamp(-1, 1), nrow=per_row, normalize=True, value_range=(-1, 1))
    logger.experiment.add_image(tag, grid, step)


class ValidationGrid(Callback):
    """The first validation batch's input, prediction and target (the rows validation_step returns for
    it) as one image on TensorBoard after every validation, at the global step as every scalar: a
    resumed run purges what its killed self logged after its checkpoint."""

    def __init__(self):
        self.rows: Sequence[torch.Tensor] | None = None

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int, dataloader_idx: int = 0):
        if outputs is not None and not trainer.sanity_checking:
            self.rows = outputs

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        board = next((logger for logger in trainer.loggers if isinstance(logger, TensorBoardLogger)), None)
        if self.rows is not None and board is not None:
            add_grid(board, "val/input_prediction_target", self.rows, len(self.rows[0]), trainer.global_step)
        self.rows = None
