"""Read a sweep's runs and write the comparison table (markdown, csv) and plots into it."""

import csv
import json
import math
import statistics
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import DictConfig, OmegaConf

if TYPE_CHECKING:
    import torch

ARCH_ORDER = ["classic", "4-6-8", "16-24-32", "16-24-32_k5", "32-48-64_single", "32-48-64_double"]
TASK_ORDER = ["reconstruct", "gray2rgb", "y2uv", "l2ab"]
# The report's test MSE (task space, [-1, 1] scale, one run each, Keras, CIFAR-10 80/10/10, 15 epochs)
STUDY_MSE = {
    ("classic", "reconstruct"): 0.017909, ("4-6-8", "reconstruct"): 0.026883,
    ("16-24-32", "reconstruct"): 0.047514, ("16-24-32_k5", "reconstruct"): 0.003731,
    ("32-48-64_single", "reconstruct"): 0.007290, ("32-48-64_double", "reconstruct"): 0.006165,
    ("32-48-64_single", "gray2rgb"): 0.006633, ("32-48-64_single", "y2uv"): 0.003041,
}  # fmt: skip
STUDY_LR_MSE = {("32-48-64_single", "y2uv", 1e-5): 0.013091}  # its learning-rate experiment, 15 epochs
STUDY_LATENT = {"classic": 1024, "4-6-8": 512, "16-24-32": 2048, "16-24-32_k5": 1152,
                "32-48-64_single": 4096, "32-48-64_double": 4096}  # fmt: skip
SCORES = ["test_mse", "test_mse_rgb", "test_psnr", "test_ssim", "test_colourfulness_ratio", "train_seconds"]


def latest_sweep(root: Path = Path("outputs/multirun")) -> Path:
    sweeps = sorted((p for p in root.glob("*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
    if not sweeps:
        raise FileNotFoundError(f"no sweep under {root}/: run python train.py -m experiment=table first")
    return sweeps[-1]


def collect(sweep: Path) -> tuple[list[dict], list[dict]]:
    """(results, failures): every job folder of the sweep, with metrics.json or the reason it has none."""
    results, failures = [], []
    for job in sorted(p for p in sweep.iterdir() if (p / ".hydra" / "config.yaml").is_file()):
        cfg = OmegaConf.load(job / ".hydra" / "config.yaml")
        if (job / "metrics.json").is_file():
            metrics = json.loads((job / "metrics.json").read_text())
            results.append({**metrics, "dataset": dataset_label(cfg.dataset), "job": job.name})
            continue
        failed = job / "failed.txt"
        why = failed.read_text().strip().splitlines()[-1] if failed.is_file() else "no result: killed or still running"
        failures.append({"job": job.name, "arch": cfg.arch.name, "task": cfg.task.name, "seed": cfg.seed, "why": why})
    return results, failures


def dataset_label(dataset: DictConfig) -> str:
    """`images` names any folder: say which one (its last part), e.g. images:cifar10-jpeg."""
    return f"{dataset.name}:{Path(dataset.root).name}" if dataset.name == "images" else dataset.name


def study_mse(arch: str, task: str, epochs: int, lr: float) -> float | None:
    """The report's number for the same cell, where it ran one (15 epochs; lr 1e-3, or its lr experiment)."""
    if epochs != 15:
        return None
    return STUDY_MSE.get((arch, task)) if math.isclose(lr, 1e-3) else STUDY_LR_MSE.get((arch, task, lr))


def _rank(name: str, order: list[str]) -> tuple[int, str]:
    """Study order first, anything else after it by name."""
    return (order.index(name) if name in order else len(order), name)


def _order(row: dict) -> tuple:
    return (*_rank(row["arch"], ARCH_ORDER), *_rank(row["task"], TASK_ORDER), row["epochs"], -row["lr"])


def aggregate(results: list[dict]) -> list[dict]:
    """One row per arch x task (x dataset, epochs, lr): mean and sample std over seeds."""
    groups: dict[tuple, list[dict]] = {}
    for r in results:
        groups.setdefault((r["arch"], r["task"], r["dataset"], r["epochs"], r["lr"]), []).append(r)
    rows = []
    for (arch, task, dataset, epochs, lr), runs in groups.items():
        row = {"arch": arch, "task": task, "dataset": dataset, "epochs": epochs, "lr": lr,
               "seeds": len(runs), "latent_size": runs[0]["latent_size"], "params": runs[0]["params"],
               "study_mse": study_mse(arch, task, epochs, lr)}  # fmt: skip
        for key in SCORES:
            values = [r[key] for r in runs if key in r]
            row[key] = statistics.fmean(values) if values else float("nan")
            row[key + "_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        rows.append(row)
    return sorted(rows, key=_order)


def _pm(row: dict, key: str, fmt: str) -> str:
    if math.isnan(row[key]):
        return "-"
    return f"{row[key]:{fmt}}" + (f" ± {row[key + '_std']:{fmt}}" if row["seeds"] > 1 else "")


def markdown(rows: list[dict], failures: list[dict], baseline: dict[str, dict]) -> str:
    lines = [
        "Test split, best checkpoint (lowest val MSE) of each run; mean ± sample std over seeds.",
        "MSE on the study's [-1, 1] pixel scale: *task* in the task's own output space (RGB, or U,V, or a,b),",
        "*RGB* after turning the prediction into RGB (colour tasks: true luminance + predicted colour).",
        "PSNR (mean over images) and SSIM on RGB clamped to [0, 1], data range 1. *colour*: Hasler-Suesstrunk",
        "colourfulness of predictions / of the truth (1 = as colourful, 0 = gray). *study*: the report's number",
        "(Keras, CIFAR-10, one run).",
        "",
    ]
    for dataset, b in baseline.items():
        lines.append(
            f"No-colour baseline on {dataset} (test split): the gray image scores RGB MSE {b['mse_rgb']:.5f}, "
            f"PSNR {b['psnr']:.2f} dB, SSIM {b['ssim']:.3f}. *no colour* column: the task-space MSE of "
            f"predicting no colour (gray2rgb: the gray image {b['gray2rgb']:.5f}; y2uv: U = V = 0 "
            f"{b['y2uv']:.5f}; l2ab: a = b = 0 {b['l2ab']:.5f}); a colouriser must stay under it."
        )
    lines += ["", "| arch | task | data | epochs | lr | seeds | latent | params | test MSE (task) | no colour | "
              "study | RGB MSE | PSNR dB | SSIM | colour | train s |",
              "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]  # fmt: skip
    for r in rows:
        study = f"{r['study_mse']:.6f}" if r["study_mse"] is not None else ""
        nocolour = baseline.get(r["dataset"], {}).get(r["task"])
        nocolour = f"{nocolour:.5f}" if nocolour is not None else ""
        lines.append(
            f"| {r['arch']} | {r['task']} | {r['dataset']} | {r['epochs']} | {r['lr']:g} | {r['seeds']} | "
            f"{r['latent_size']} | {r['params']:,} | {_pm(r, 'test_mse', '.5f')} | {nocolour} | {study} | "
            f"{_pm(r, 'test_mse_rgb', '.5f')} | {_pm(r, 'test_psnr', '.2f')} | {_pm(r, 'test_ssim', '.3f')} | "
            f"{_pm(r, 'test_colourfulness_ratio', '.2f')} | {r['train_seconds']:.1f} |"
        )
    if failures:
        lines += ["", f"**{len(failures)} job(s) failed** and are not in the table:", ""]
        lines += [f"- `{f['job']}` ({f['arch']}, {f['task']}, seed {f['seed']}): {f['why']}" for f in failures]
    return "\n".join(lines) + "\n"


def write_csv(rows: list[dict], path: Path) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def baselines(sweep: Path, results: list[dict]) -> dict[str, dict]:
    """The no-colour baselines are properties of the test split: one set per dataset. The gray image's
    RGB scores come from the runs; the task-space MSE of predicting no colour (U = V = 0, a = b = 0, the
    gray image for gray2rgb) is computed here from the test split itself."""
    from autoenc.tasks import TASKS

    out: dict[str, dict] = {}
    for r in results:
        if "test_gray_mse_rgb" not in r or r["dataset"] in out:
            continue
        b = out[r["dataset"]] = {k: r[f"test_gray_{k}"] for k in ("mse_rgb", "psnr", "ssim")}
        rgb = load_test_split(sweep / r["job"])
        for name in ("gray2rgb", "y2uv", "l2ab"):
            x, target = TASKS[name].split(rgb)
            guess = TASKS[name].input_to_rgb(x) if name == "gray2rgb" else target.new_zeros(target.shape)
            b[name] = (guess - target).square().mean().item()
    return out


_TEST_SPLITS: dict[str, "torch.Tensor"] = {}


def load_test_split(job: Path, n: int | None = None) -> "torch.Tensor":
    """The first n (default all) test images of a job's dataset, RGB in [-1, 1], loaded once per dataset."""
    from autoenc.data import ImageDataModule
    from autoenc.module import to_unit_rgb

    dataset = OmegaConf.to_container(OmegaConf.load(job / ".hydra" / "config.yaml").dataset)
    key = json.dumps(dataset, sort_keys=True)
    if key not in _TEST_SPLITS:
        data = ImageDataModule(**dataset)
        data.setup()
        _TEST_SPLITS[key] = to_unit_rgb(data.test_set, channels_last=False)
    return _TEST_SPLITS[key][:n]


def plot_curves(results: list[dict], path: Path) -> None:
    """Val MSE per epoch for every cell (mean over seeds, band from min to max), one panel per task."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = sorted({r["task"] for r in results}, key=lambda t: _rank(t, TASK_ORDER))
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.5 * len(tasks), 3.8), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        cells: dict[tuple, list[list[float]]] = {}  # one line per arch (x lr x epochs where those vary)
        for r in results:
            if r["task"] == task:
                cells.setdefault(_order(r), []).append(r["history"]["val_mse"])
        for key, curves in sorted(cells.items()):
            arch, lr, epochs = key[1], -key[5], key[4]
            label = arch + (f" lr {lr:g}" if len({x["lr"] for x in results}) > 1 else "")
            label += f" {epochs} ep" if len({x["epochs"] for x in results}) > 1 else ""
            n = min(len(c) for c in curves)
            per_epoch = list(zip(*(c[:n] for c in curves), strict=True))
            epochs = range(1, n + 1)
            line = ax.plot(epochs, [statistics.fmean(v) for v in per_epoch], marker=".", label=label)[0]
            ax.fill_between(epochs, [min(v) for v in per_epoch], [max(v) for v in per_epoch],
                            color=line.get_color(), alpha=0.2)  # fmt: skip
        ax.set(title=task, xlabel="epoch", ylabel="val MSE (task space)", yscale="log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_latent(rows: list[dict], path: Path) -> None:
    """Test MSE in RGB (comparable across tasks) against latent size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for task in sorted({r["task"] for r in rows}, key=lambda t: _rank(t, TASK_ORDER)):
        sel = [r for r in rows if r["task"] == task]
        ax.errorbar([r["latent_size"] for r in sel], [r["test_mse_rgb"] for r in sel],
                    yerr=[r["test_mse_rgb_std"] for r in sel], fmt="o", capsize=3, label=task)  # fmt: skip
        for r in sel:
            ax.annotate(r["arch"], (r["latent_size"], r["test_mse_rgb"]), fontsize=6, alpha=0.7,
                        xytext=(3, 2), textcoords="offset points")  # fmt: skip
    ax.set(xlabel="latent size (C x H x W)", ylabel="test MSE in RGB ([-1, 1] scale)", xscale="log", yscale="log")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_strips(sweep: Path, results: list[dict], n: int = 8) -> list[Path]:
    """Per task, the best run's (lowest RGB MSE) input | prediction | truth on the first n test images."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from autoenc.module import AutoEncoder

    written = []
    for task in sorted({r["task"] for r in results}):
        best = min((r for r in results if r["task"] == task), key=lambda r: r["test_mse_rgb"])
        job = sweep / best["job"]
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
        written.append(sweep / f"strip_{task}.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
    return written


def make_table(sweep: Path) -> str:
    """Write table.md, table.csv, val_mse.png, mse_vs_latent.png and strip_<task>.png into the
    sweep folder; return the markdown table."""
    results, failures = collect(sweep)
    if not results:
        raise FileNotFoundError(f"no finished run (metrics.json) under {sweep}; {len(failures)} failed")
    rows = aggregate(results)
    text = markdown(rows, failures, baselines(sweep, results))
    (sweep / "table.md").write_text(text)
    write_csv(rows, sweep / "table.csv")
    plot_curves(results, sweep / "val_mse.png")
    plot_latent(rows, sweep / "mse_vs_latent.png")
    plot_strips(sweep, results)
    return text
