"""Read a sweep's runs and write the comparison table (markdown, csv) and plots (autoenc/report/plots.py) into it."""

import csv
import json
import statistics
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from autoenc import UserError
from autoenc.report.baseline import baselines
from autoenc.report.cells import Cell
from autoenc.report.markdown import markdown
from autoenc.report.pool import pool_rows, read_table
from autoenc.report.rescore import add_ratios, other_pictures, read_probe, read_scores

SCORES = [
    "test_mse",
    "test_mse_rgb",
    "test_psnr",
    "test_psnr_pooled",
    "test_ssim",
    "test_colourfulness_ratio",
    "test_colourfulness_error",
    "test_colour_distance",
    "train_seconds",
    "train_images_per_s",
    "test_input_mse_rgb",
    "test_input_psnr",
    "test_input_psnr_pooled",
    "test_input_ssim",
    "probe_accuracy",
]


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
            results.append(
                {
                    **metrics,
                    **read_scores(job),
                    **read_probe(job),
                    "dataset": dataset_label(cfg.dataset),
                    "job": job.name,
                    "path": str(job),
                }
            )
            continue
        failed = job / "failed.txt"
        why = failed.read_text().strip().splitlines()[-1] if failed.is_file() else "no result: killed or still running"
        failures.append({"job": job.name, "arch": cfg.arch.name, "task": cfg.task.name, "seed": cfg.seed, "why": why})
    return results, failures


def dataset_label(dataset: DictConfig) -> str:
    """`images` names any folder: say which one (its last part), e.g. images:cifar10-jpeg."""
    return f"{dataset.name}:{Path(dataset.root).name}" if dataset.name == "images" else dataset.name


def row_order(row: dict) -> tuple:
    return Cell.of_row(row).order()


def aggregate(results: list[dict]) -> list[dict]:
    """One row per cell (arch x task label x dataset x epochs x lr x schedule): mean and sample std over seeds."""
    groups: dict[Cell, list[dict]] = {}
    for r in results:
        groups.setdefault(Cell.of_run(r), []).append(r)
    rows, scores = [], SCORES + other_pictures(results)
    for cell, runs in groups.items():
        seeds = sorted(r["seed"] for r in runs)
        if len(set(seeds)) < len(seeds):
            jobs = ", ".join(r["path"] for r in runs)
            raise UserError(f"{cell.arch} {cell.label}: a seed twice among {jobs}: give each run once (no sweep twice)")
        row = {
            **cell.fields(),
            "seeds": len(runs),
            "seed_list": seeds,
            "latent_size": runs[0]["latent_size"],
            "params": runs[0]["params"],
            "study_mse": cell.study_mse(),
        }
        for key in scores:
            values = [r[key] for r in runs if key in r]
            row[key] = statistics.fmean(values) if values else float("nan")
            row[key + "_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        rows.append(row)
    return sorted(rows, key=row_order)


def write_csv(rows: list[dict], path: Path) -> None:
    fields = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows({k: " ".join(map(str, v)) if isinstance(v, list) else v for k, v in r.items()} for r in rows)


def make_table(
    sweeps: list[Path], out: Path | None = None, earlier: Path | None = None, ratios: list[tuple[str, str]] = ()
) -> str:
    """Write table.md, table.csv, val_mse.png, mse_vs_latent.png and strip_<task>.png into out (the
    first sweep by default) from the runs of the sweeps, pooled with an earlier table.csv's rows of
    the same cells where given; return the markdown table."""
    results, failures = [], []
    for sweep in sweeps:
        found, failed = collect(sweep)
        results, failures = results + found, failures + failed
    if not results:
        where = ", ".join(map(str, sweeps))
        raise FileNotFoundError(f"no finished run (metrics.json) under {where}; {len(failures)} failed")
    add_ratios(results, list(ratios))
    out = out or sweeps[0]
    out.mkdir(parents=True, exist_ok=True)
    rows = aggregate(results)
    if earlier is not None:
        rows = sorted(pool_rows(rows, read_table(earlier), SCORES + other_pictures(results), earlier), key=row_order)
    text = markdown(rows, failures, baselines(results), results, earlier, several=len(sweeps) > 1)
    (out / "table.md").write_text(text)
    write_csv(rows, out / "table.csv")
    from autoenc.report.plots import plot_curves, plot_latent, plot_strips

    if earlier is None:  # its runs' curves are not in a table.csv
        plot_curves(results, out / "val_mse.png")
    plot_latent(rows, out / "mse_vs_latent.png")
    plot_strips(out, results)
    return text
