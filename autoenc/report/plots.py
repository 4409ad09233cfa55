"""The plots of a sweep's table (autoenc/report/table.py): val MSE curves, MSE against latent size,
image strips of each task."""

import statistics
from pathlib import Path

from autoenc.report.baseline import load_test_split
from autoenc.report.cells import TASK_ORDER, Cell, rank, varying


def plot_curves(results: list[dict], path: Path) -> dict[str, list[str]]:
    """Val MSE per epoch for every cell (mean over seeds, band from min to max), one panel per task;
    returns each panel's legend labels (a line per cell: the arch, and what else varies among the cells)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = sorted({r["task"] for r in results}, key=lambda t: rank(t, TASK_ORDER))
    differ = varying([Cell.of_run(r) for r in results])
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.5 * len(tasks), 3.8), squeeze=False)
    legends = {}
    for ax, task in zip(axes[0], tasks, strict=True):
        cells: dict[Cell, list[list[float]]] = {}
        for r in results:
            if r["task"] == task:
                cells.setdefault(Cell.of_run(r), []).append(r["history"]["val_mse"])
        for cell, curves in sorted(cells.items(), key=lambda item: item[0].order()):
            n = min(len(c) for c in curves)
            per_epoch = list(zip(*(c[:n] for c in curves), strict=True))
            epochs = range(1, n + 1)
            mean = [statistics.fmean(v) for v in per_epoch]
            line = ax.plot(epochs, mean, marker=".", label=cell.legend(differ))[0]
            ax.fill_between(
                epochs, [min(v) for v in per_epoch], [max(v) for v in per_epoch], color=line.get_color(), alpha=0.2
            )
        ax.set(title=task, xlabel="epoch", ylabel="val MSE (task space)", yscale="log")
        ax.grid(alpha=0.3)
        legends[task] = [text.get_text() for text in ax.legend(fontsize=7).get_texts()]
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return legends


def plot_latent(rows: list[dict], path: Path) -> dict[str, list[tuple[str, float, float]]]:
    """Test MSE in RGB (comparable across tasks) against latent size; returns what the plot holds:
    each legend entry's points as (arch label, latent size, MSE), read back from the figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for task in sorted({r["task"] for r in rows}, key=lambda t: rank(t, TASK_ORDER)):
        sel = [r for r in rows if r["task"] == task]
        ax.errorbar(
            [r["latent_size"] for r in sel],
            [r["test_mse_rgb"] for r in sel],
            yerr=[r["test_mse_rgb_std"] for r in sel],
            fmt="o",
            capsize=3,
            label=task,
        )
        for r in sel:
            ax.annotate(
                r["arch"],
                (r["latent_size"], r["test_mse_rgb"]),
                fontsize=6,
                alpha=0.7,
                xytext=(3, 2),
                textcoords="offset points",
            )
    ax.set(xlabel="latent size (C x H x W)", ylabel="test MSE in RGB ([-1, 1] scale)", xscale="log", yscale="log")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    held, labels = {}, iter(ax.texts)
    for container in ax.containers:  # one errorbar per task, its points in the order of their labels
        xs, ys = container.lines[0].get_data()
        held[container.get_label()] = [
            (next(labels).get_text(), float(x), float(y)) for x, y in zip(xs, ys, strict=True)
        ]
    plt.close(fig)
    return held


def plot_strips(out: Path, results: list[dict], n: int = 8) -> dict[str, dict]:
    """Per task, the best run's (lowest RGB MSE) input | prediction | truth on the first n test images
    into strip_<task>.png; returns what each holds: its file, its run and its rows of pictures
    (float arrays (H, W, 3) in [0, 1], read back from the figure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from autoenc.training.module import AutoEncoder

    written = {}
    for task in sorted({r["task"] for r in results}):
        best = min((r for r in results if r["task"] == task), key=lambda r: r["test_mse_rgb"])
        job = Path(best["path"])
        rgb = load_test_split(job, n)
        model = AutoEncoder.load_from_checkpoint(job / best["best_checkpoint"], map_location="cpu").eval()
        with torch.no_grad():
            x, _ = model.task.split(rgb)
            rows = [model.task.input_to_rgb(x), model.task.to_rgb(x, model(x)), rgb]
        fig, axes = plt.subplots(3, n, figsize=(1.2 * n, 4))
        for i, (name, row) in enumerate(zip(["input", "prediction", "truth"], rows, strict=True)):
            for j in range(n):
                axes[i, j].imshow(((row[j].clamp(-1, 1) + 1) / 2).permute(1, 2, 0).numpy())
                axes[i, j].set_xticks([])
                axes[i, j].set_yticks([])
            axes[i, 0].set_ylabel(name)
        fig.suptitle(f"{task}: {best['arch']}, seed {best['seed']}, {best['dataset']} test images", fontsize=9)
        fig.tight_layout()
        path = out / f"strip_{task}.png"
        fig.savefig(path, dpi=110)
        shown = [[axes[i, j].get_images()[0].get_array() for j in range(n)] for i in range(3)]
        written[task] = {"path": path, "run": best["job"], "rows": shown}
        plt.close(fig)
    return written
