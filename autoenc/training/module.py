"""The LightningModule: a CAE trained on one task with its loss (conf/loss) and metrics. Built from plain
values only (widths, kernel_size, block, task name, optimizer dict): load_from_checkpoint needs nothing else."""

import math
import os
import time
from collections.abc import Sequence

import lightning as L
import torch
import torch.nn.functional as F
from torchmetrics import MeanSquaredError

from autoenc import UserError
from autoenc.model.loss import build_loss
from autoenc.model.metrics import TestScores, WeightedMean
from autoenc.model.prepared import training_pair
from autoenc.model.tasks import get_task, to_unit_rgb
from autoenc.model.unet import build_net, describe_net
from autoenc.speed.cuda_graph import GraphedStep, set_capturable
from autoenc.training.dashboard import Throughput
from autoenc.training.optim import check_optimizer
from autoenc.training.schedule import check_scheduler, optimizers_for

GRID_IMAGES = 8  # pictures of each row of the validation grid (dashboard.ValidationGrid)


class AutoEncoder(L.LightningModule):
    def __init__(
        self,
        widths: Sequence[int] = (8, 12, 16),
        kernel_size: int = 3,
        block: str = "single",
        task: str = "reconstruct",
        skips: bool = False,
        residual: bool = False,
        optimizer: dict | None = None,
        scheduler: dict | None = None,
        task_options: dict | None = None,
        loss: dict | None = None,
        channels_last: bool = True,
        cuda_graph: bool = False,
    ):
        """channels_last: the memory layout of the batches (speed.channels_last); cuda_graph: capture
        the training step (speed.cuda_graph). Both change speed, not results: not hyper-parameters."""
        super().__init__()
        check_optimizer(optimizer)  # before anything else: a checkpoint's hyper-parameters come here too
        self.schedule = check_scheduler(scheduler)
        self.save_hyperparameters(ignore=["channels_last", "cuda_graph"], logger=False)  # loggers get run_hparams
        self.task = get_task(task, **(task_options or {}))
        self.objective = build_loss(loss, task, self.task.out_channels)  # conf/loss: what the net outputs
        self.net = build_net(self.hparams, self.task, self.objective.out_channels)
        # constants, the same everywhere: DDP need not broadcast them every step
        self._ddp_params_and_buffers_to_ignore = [
            f"{part}.{name}" for part in ("task", "objective") for name, _ in getattr(self, part).named_buffers()
        ]
        self.train_mse = WeightedMean()  # keeps NaN (divergence) and avoids a sync
        self.val_mse = MeanSquaredError()
        self.val_loss = WeightedMean()  # the objective on the validation split (classify: its cross-entropy)
        self.test_scores = TestScores()
        self.history: dict[str, list[float]] = {"train_mse": [], "val_mse": []}
        self.channels_last, self.cuda_graph = channels_last, cuda_graph
        self._graphed: GraphedStep | None = None
        self.first_step_at: float | None = None  # wall clock, when training starts (metrics.json timing)
        self.example_input_array = torch.zeros(1, self.task.in_channels, 32, 32)  # summaries and graph
        self.automatic_optimization = False  # training_step steps itself, over one batch or a block of them
        self.throughput = Throughput()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The prediction in task space (loss=classify: its decoded colour, not the classes)."""
        return self.decode(self.net(x))

    def decode(self, output: torch.Tensor) -> torch.Tensor:
        """The network's output -> the prediction in task space: loss=classify's annealed mean,
        then a colour task's saturation."""
        return self.task.saturate(self.objective.decode(output))

    def decoding(self) -> dict:
        """The decoding settings a result was measured with (metrics.json): classify's temperature,
        a colour task's saturation."""
        settings = {"temperature": self.objective.temperature} if self.objective.name == "classify" else {}
        return settings | ({"saturation": self.task.options["saturation"]} if "saturation" in self.task.options else {})

    def describe(self) -> dict:
        """The network as metrics.json records it."""
        return describe_net(self.net, self.hparams, self.task.name)

    @property
    def monitor(self) -> str:
        """What picks the best checkpoint and stops early: the val MSE, or for a loss that is not
        the MSE (classify: vivid colours cost MSE) the loss it trains."""
        return "val/mse" if self.objective.name == "mse" else "val/loss"

    def _run(self, batch: torch.Tensor):
        rgb = to_unit_rgb(batch, self.channels_last)
        x, y = self.task.split(rgb, fixed=not self.training)  # noise, holes: random in training only
        output = self.net(x)
        return rgb, x, y, self.decode(output), output

    def on_train_start(self) -> None:
        self.first_step_at = time.time()
        if t0 := os.environ.get("AUTOENC_T0"):  # set by scripts/dev/bench.py to time start-up
            print(f"autoenc: first training step {time.time() - float(t0):.2f} s after launch", flush=True)
        self._graphed = None
        optimizer = self.optimizers()  # its state is a checkpoint's by now, if the run resumes
        set_capturable(optimizer.optimizer, self.cuda_graph)
        if self.cuda_graph:
            # a replay skips the Lightning optimizer's Python: count the step as its .step() does
            count = lambda: (optimizer._on_before_step(), optimizer._on_after_step())  # noqa: E731
            full = self.trainer.datamodule.batch_size
            self._graphed = GraphedStep(lambda batch: self._step(batch, optimizer), count, full)

    @property
    def step_captured(self) -> bool:
        """Whether training replayed a CUDA graph of its step (speed.cuda_graph)."""
        return self._graphed is not None and self._graphed.graph is not None

    def on_train_epoch_start(self) -> None:
        self.throughput.begin(self.device)

    def training_step(self, batch: torch.Tensor | tuple[torch.Tensor, ...], batch_idx: int) -> None:
        """One optimizer step per batch; a tuple of batches (speed.steps_per_call) takes them in
        turn in one call, so Lightning's fixed per-call cost is paid once per block: the same
        batches in the same order give the same updates. With speed.cuda_graph each step is a
        replay of the captured step (autoenc/speed/cuda_graph.py)."""
        optimizer = self.optimizers()
        step = self._graphed or (lambda one: self._step(one, optimizer))
        total, count = 0.0, 0
        for one in batch if isinstance(batch, (tuple, list)) else (batch,):
            loss = step(one)
            if self.schedule["interval"] == "step":
                self._step_scheduler(self.global_step)
            total, count = total + loss * len(one), count + len(one)  # stays on the device: no sync
            if loss.device.type == "cpu" and not torch.isfinite(loss):  # cheap on the CPU: every step
                self._diverged(f"the loss is {loss.item()} at epoch {self.current_epoch}, step {self.global_step}")
        self.throughput.add(count)
        # the epoch's mean over images (each batch's loss is its images' mean): one update per call
        self.train_mse.update(total / count, count)
        if total.device.type != "cpu" and batch_idx % 100 == 0 and not torch.isfinite(total):  # a GPU: seldom
            self._diverged(f"the loss is {total.item()} at epoch {self.current_epoch}, step {self.global_step}")

    def _step(self, batch: torch.Tensor, optimizer) -> torch.Tensor:
        """One batch: forward, loss, backward, optimizer step -> the detached MSE of the prediction
        (loss=mse: the loss itself). No host sync: a CUDA graph can record it."""
        x, y = training_pair(self.task, batch, self.channels_last)
        output = self.net(x)
        loss = self.objective(output, y)
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()
        # autocast may keep a low-precision copy of each weight for its whole region: stale now
        # (Lightning turns the cache off today; a block of steps or a graph capture must not rest on it)
        torch.clear_autocast_cache()
        if self.objective.name == "mse":
            return loss.detach()
        with torch.no_grad():
            return F.mse_loss(self.objective.decode(output.detach()), y)

    def on_fit_start(self) -> None:
        """loss=classify: its rebalancing weights from the colours of the training split (the same
        on every process and after a resume: the split is seeded)."""
        data = getattr(self.trainer, "datamodule", None)
        if hasattr(self.objective, "fit_weights") and getattr(data, "train_set", None) is not None:
            chunks = data.train_set.split(1024)
            self.objective.fit_weights(self.task.split(to_unit_rgb(c.to(self.device)))[1] for c in chunks)

    def _diverged(self, what: str) -> None:
        lr = (self.hparams.optimizer or {}).get("lr")
        raise UserError(f"training diverged: {what} (learning rate {lr} too high?); no result written")

    def on_validation_epoch_start(self) -> None:
        if not self.trainer.sanity_checking:
            self.throughput.pause(self.device)

    def validation_step(self, batch: torch.Tensor, batch_idx: int) -> tuple[torch.Tensor, ...] | None:
        """Scores the batch; the first batch's input, prediction and target rows go to the grid."""
        rgb, x, y, pred, output = self._run(batch)
        self.val_mse.update(pred.flatten(), y.flatten())  # flatten: the batch is channels-last
        if self.monitor == "val/loss":
            self.val_loss.update(self.objective(output, y), len(y))
        if batch_idx == 0:
            n = GRID_IMAGES
            return self.task.input_to_rgb(x[:n]), self.task.to_rgb(x[:n], pred[:n]), rgb[:n]
        return None

    def test_step(self, batch: torch.Tensor, batch_idx: int) -> None:
        rgb, x, y, pred, _ = self._run(batch)
        self.test_scores.update(self.task, x, y, pred, rgb)

    def _step_scheduler(self, count: int, mse: float | None = None) -> None:
        """Step the learning-rate schedule after every `frequency` steps (or epochs) counted by count."""
        scheduler = self.lr_schedulers()
        if scheduler is not None and count % self.schedule["frequency"] == 0:
            scheduler.step(mse) if mse is not None else scheduler.step()

    def _at_optimizer_step(self) -> None:
        """Every logger gets this epoch's scalars at the optimizer step, one per batch (Lightning counts
        training_step calls, fewer with blocks of batches: speed.steps_per_call); and the epoch."""
        self.log("step", float(self.global_step))
        self.log("epoch", float(self.current_epoch))

    def on_train_epoch_end(self) -> None:
        self._at_optimizer_step()
        mse = self._epoch_metric("train", self.train_mse)
        self.log("train/images_per_s", self.throughput.end_epoch() * self.trainer.world_size)
        self.log("train/lr", float(self.trainer.optimizers[0].param_groups[0]["lr"]))
        if not math.isfinite(mse):
            self._diverged(f"train/mse is {mse} in epoch {self.current_epoch}")
        if self.schedule["interval"] == "epoch":
            watched = self.history[self.schedule["monitor"].replace("/", "_")]  # plateau's: this epoch's
            self._step_scheduler(self.current_epoch + 1, watched[-1] if self.schedule["name"] == "plateau" else None)

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            self.val_mse.reset()
            self.val_loss.reset()
            return
        self._at_optimizer_step()
        self._epoch_metric("val", self.val_mse)
        if self.monitor == "val/loss":
            self._epoch_metric("val", self.val_loss, "loss")

    def on_test_epoch_end(self) -> None:
        self._at_optimizer_step()
        for key, value in self.test_scores.compute(self.task.restores).items():
            self.log(key, value)
        self.test_scores.reset()

    def _epoch_metric(self, stage: str, metric, name: str = "mse") -> float:
        value = metric.compute()
        metric.reset()
        self.log(f"{stage}/{name}", value, prog_bar=True)
        self.history.setdefault(f"{stage}_{name}", []).append(value.item())  # one host sync per epoch
        return self.history[f"{stage}_{name}"][-1]

    def configure_optimizers(self):
        length = lambda: (self._steps_per_epoch(), self.trainer.max_epochs)  # noqa: E731 (a trainer's, when asked)
        return optimizers_for(self.parameters(), self.hparams.optimizer, self.schedule, length)

    def _steps_per_epoch(self) -> int:
        """Optimizer steps in one training epoch of this process (a block of batches is several)."""
        blocks = self.trainer.estimated_stepping_batches // self.trainer.max_epochs  # sets the data up
        loader = self.trainer.train_dataloader
        return loader.num_batches() if hasattr(loader, "num_batches") else blocks

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["history"] = self.history

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.history = checkpoint.get("history", {"train_mse": [], "val_mse": []})
