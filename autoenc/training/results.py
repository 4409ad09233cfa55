"""A run's record, metrics.json: what was trained, its test scores, its curves, where the time went."""

import os
import statistics
from pathlib import Path

from autoenc.training.module import AutoEncoder


def run_record(spec, net, data, model, trainer, checkpoint, test, resume, fit_seconds, timing, out) -> dict:
    """metrics.json: what was trained, its test scores, its curves and where the time went."""
    history = {k: list(v) for k, v in model.history.items()}
    return {
        "arch": spec.arch,
        **net,
        "task_options": spec.task_options,  # conf/task's settings (denoise's sigma and clip, ...)
        "dataset": spec.dataset["name"],
        "seed": spec.seed,
        "epochs": len(history["train_mse"]),
        "max_epochs": spec.trainer["max_epochs"],  # more than epochs where early stopping ended the run
        "scheduler": model.schedule["name"],
        "loss": model.objective.name,
        **model.decoding(),  # classify's temperature, a colour task's saturation
        "batch_size": spec.dataset["batch_size"],
        "optimizer": spec.optimizer_name,
        "lr": spec.optimizer["lr"],
        "split": spec.dataset["split"],
        "sizes": data.sizes(),
        **scores_of(test),  # test_mse, test_psnr, ...
        **best_scores(model, checkpoint.best_model_score.item()),
        "train_seconds": round(fit_seconds, 2),  # of this process: after a resume, the resumed part
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


def scores_of(test: dict) -> dict:
    """The test loop's results as metrics.json keys (test/mse -> test_mse)."""
    return {key.replace("/", "_"): value for key, value in test.items() if key.startswith("test/")}


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


def best_scores(model: AutoEncoder, best: float) -> dict[str, float]:
    """metrics.json's best_val_mse (hparams_search's objective): the val MSE of the validation that
    picked the best checkpoint; and its best_val_loss where the loss picked it."""
    if model.monitor == "val/mse":
        return {"best_val_mse": best}
    losses = model.history["val_loss"]
    return {"best_val_mse": model.history["val_mse"][losses.index(min(losses))], "best_val_loss": best}
