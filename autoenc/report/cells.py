"""A cell of the comparison table: one arch x task label x dataset x epochs x lr x schedule. Its
runs are the seeds of one configuration; the table (aggregate), an earlier table's rows (pool),
the curve plot and the study's numbers all find a run's or a row's cell here."""

import math
from dataclasses import dataclass

from autoenc.model.tasks import TASKS

ARCH_ORDER = ["classic", "4-6-8", "16-24-32", "16-24-32_k5", "32-48-64_single", "32-48-64_double"]
TASK_ORDER = ["reconstruct", "gray2rgb", "y2uv", "l2ab", "denoise", "inpaint", "superres"]
# The report's test MSE (task space, [-1, 1] scale, one run each, Keras, CIFAR-10 80/10/10, 15 epochs)
STUDY_MSE = {
    ("classic", "reconstruct"): 0.017909,
    ("4-6-8", "reconstruct"): 0.026883,
    ("16-24-32", "reconstruct"): 0.047514,
    ("16-24-32_k5", "reconstruct"): 0.003731,
    ("32-48-64_single", "reconstruct"): 0.007290,
    ("32-48-64_double", "reconstruct"): 0.006165,
    ("32-48-64_single", "gray2rgb"): 0.006633,
    ("32-48-64_single", "y2uv"): 0.003041,
}
STUDY_LR_MSE = {("32-48-64_single", "y2uv", 1e-5): 0.013091}  # its learning-rate experiment, 15 epochs


def arch_label(run: dict) -> str:
    """The arch's name, with the net's options where the name does not say them (arch.skips, arch.residual)."""
    name = run["arch"]
    return (
        name
        + " skips" * (bool(run.get("skips")) and not name.startswith("unet"))
        + " residual" * bool(run.get("residual"))
    )


def rank(name: str, order: list[str]) -> tuple[int, str]:
    """Study order first, anything else after it by name."""
    return (order.index(name) if name in order else len(order), name)


def task_label(run: dict) -> str:
    """The task, with its settings where they are not the task's defaults (denoise's sigma, superres's
    resample, ...), its loss where it is not the study's MSE (conf/loss) and its saturation where it
    is not 1 (task.saturation): those are other rows."""
    defaults = TASKS[run["task"]].defaults if run["task"] in TASKS else {}
    settings = [
        f"{key}={str(value).lower() if isinstance(value, bool) else value}"
        for key, value in run.get("task_options", {}).items()
        if key != "saturation" and defaults.get(key, value) != value
    ]
    label = " ".join([run["task"], *settings])
    label += "" if run.get("loss", "mse") == "mse" else f" {run['loss']}"
    if "temperature" in run:
        label += f" T={run['temperature']:g}"
    return label + (f" saturation={run['saturation']:g}" if run.get("saturation", 1) != 1 else "")


@dataclass(frozen=True)
class Cell:
    arch: str
    task: str
    label: str  # the task, with a loss or decoding that is not the study's (task_label)
    dataset: str
    epochs: int  # as configured: an early-stopped run stays in its cell
    lr: float
    scheduler: str = "none"

    @classmethod
    def of_run(cls, run: dict) -> "Cell":
        """The cell of one run's metrics.json (as make_table collects it)."""
        epochs = run.get("max_epochs", run["epochs"])
        scheduler = run.get("scheduler", "none")
        return cls(arch_label(run), run["task"], task_label(run), run["dataset"], epochs, run["lr"], scheduler)

    @classmethod
    def of_row(cls, row: dict) -> "Cell":
        """The cell of a table row (aggregate's, or an earlier table.csv's)."""
        return cls(
            row["arch"],
            row["task"],
            row.get("label", row["task"]),
            row["dataset"],
            row["epochs"],
            row["lr"],
            row.get("scheduler", "none"),
        )

    def fields(self) -> dict:
        return {
            "arch": self.arch,
            "task": self.task,
            "label": self.label,
            "dataset": self.dataset,
            "epochs": self.epochs,
            "lr": self.lr,
            "scheduler": self.scheduler,
        }

    def order(self) -> tuple:
        """The table's row order: study archs and tasks first, then label, epochs, lr high to low, schedules last."""
        return (
            *rank(self.arch, ARCH_ORDER),
            *rank(self.task, TASK_ORDER),
            self.label,
            self.epochs,
            -self.lr,
            self.scheduler != "none",
            self.scheduler,
        )

    def study_mse(self) -> float | None:
        """The report's number for this cell, where it ran one (the study's MSE loss and constant rate)."""
        if self.scheduler != "none" or self.label != self.task:
            return None
        return study_mse(self.arch, self.task, self.epochs, self.lr)

    def legend(self, varying: set[str]) -> str:
        """The arch, with the lr, epochs, schedule or label where they vary among the plotted cells."""
        parts = [self.arch]
        if "label" in varying and self.label != self.task:
            parts.append(self.label.removeprefix(self.task).strip())
        if "lr" in varying:
            parts.append(f"lr {self.lr:g}")
        if "scheduler" in varying:
            parts.append(self.scheduler)
        if "epochs" in varying:
            parts.append(f"{self.epochs} ep")
        if "dataset" in varying:
            parts.append(self.dataset)
        return " ".join(parts)


def varying(cells: list[Cell]) -> set[str]:
    """The fields that differ among these cells."""
    return {
        name for name in ("label", "dataset", "epochs", "lr", "scheduler") if len({getattr(c, name) for c in cells}) > 1
    }


def study_mse(arch: str, task: str, epochs: int, lr: float) -> float | None:
    """The report's number for the same cell, where it ran one (15 epochs; lr 1e-3, or its lr experiment)."""
    if epochs != 15:
        return None
    return STUDY_MSE.get((arch, task)) if math.isclose(lr, 1e-3) else STUDY_LR_MSE.get((arch, task, lr))
