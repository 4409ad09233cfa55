"""Where a run's time goes: train.py's own path in this process under cProfile, its fit split
into the costs the framework adds around the training steps.

    python scripts/dev/profile_run.py dataset=photos trainer.max_epochs=3            # any train.py overrides

Each line is the cumulative time of the functions that do that job, as a share of the fit
(cProfile slows Python code more than kernels: read the shares of Python-heavy parts as upper
bounds). The first epoch's warm-up is its time beyond the median epoch, from the run's own clock.
"""

import contextlib
import cProfile
import io
import pstats
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CONNECTOR = "logger_connector/logger_connector.py"
PROGRESS = "callbacks/progress/tqdm_progress.py"


def costs() -> dict[str, list]:
    """job -> the functions that do it: autoenc's own by object, Lightning's by (file part, name)."""
    from autoenc.model.metrics import WeightedMean
    from autoenc.training.module import AutoEncoder

    return {
        "training steps (forward, backward, Adam; with the two lines below)": [AutoEncoder.training_step],
        "  metric updates (train MSE)": [WeightedMean.update],
        "  step logging (Lightning's logger connector)": [(CONNECTOR, "update_train_step_metrics")],
        "progress bar": [
            (PROGRESS, "on_train_batch_end"),
            (PROGRESS, "on_train_epoch_end"),
            (PROGRESS, "on_validation_batch_end"),
        ],
        "epoch logging (metrics, TensorBoard scalars)": [
            AutoEncoder.on_train_epoch_end,
            (CONNECTOR, "update_train_epoch_metrics"),
        ],
        "validation steps": [AutoEncoder.validation_step],
        "image grid (TensorBoard)": [AutoEncoder.on_validation_epoch_end],
        "checkpoint writes": [
            ("callbacks/model_checkpoint.py", "on_validation_end"),
            ("callbacks/model_checkpoint.py", "on_train_epoch_end"),
        ],
        "graph trace (TensorBoard graph)": [("loggers/tensorboard.py", "log_graph")],
    }


def cumulative(stats: pstats.Stats, where) -> float:
    """Cumulative seconds of a function (an object, or a (file part, name) pair) over its calls."""
    if callable(where):
        code = where.__code__
        key = (code.co_filename, code.co_firstlineno, code.co_name)
        return stats.stats[key][3] if key in stats.stats else 0.0
    file_part, function = where
    return sum(row[3] for (file, _, name), row in stats.stats.items() if file_part in file and name == function)


def main() -> None:
    from hydra import compose, initialize_config_dir

    import autoenc.training.fit as train_module

    overrides = sys.argv[1:]
    models = []
    build_model = train_module.build_model
    train_module.build_model = lambda spec: models.append(build_model(spec)) or models[-1]
    with tempfile.TemporaryDirectory() as out, initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[f"output_dir={out}", *overrides])
        profiler = cProfile.Profile()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            profiler.enable()
            metrics = train_module.train(cfg)
            profiler.disable()
    stats = pstats.Stats(profiler)
    fit = cumulative(stats, ("trainer/trainer.py", "fit"))
    epochs = models[0].throughput.epochs
    images = metrics["sizes"]["train"] // metrics["batch_size"] * metrics["batch_size"]
    warmup = images / epochs[0] - images / statistics.median(epochs) if len(epochs) > 1 else float("nan")
    print(
        f"{' '.join(overrides)}: fit {fit:.2f} s under cProfile, {len(epochs)} epochs, "
        f"training {metrics['train_images_per_s']:.0f} img/s (median epoch, profiled)\n"
    )
    print("| cost | seconds | share of the fit |\n|---|--:|--:|")
    for job, functions in costs().items():
        seconds = sum(cumulative(stats, where) for where in functions)
        print(f"| {job} | {seconds:.3f} | {100 * seconds / fit:.1f}% |")
    print(f"| first epoch's warm-up (beyond the median epoch) | {warmup:.3f} | {100 * warmup / fit:.1f}% |")


if __name__ == "__main__":
    main()
