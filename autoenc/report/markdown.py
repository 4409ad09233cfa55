"""A sweep's table as markdown: what its columns mean, a row per cell (mean ± sample std over
seeds), where the sweep's time went and which runs failed."""

import math
from pathlib import Path

from autoenc.model.tasks import restores
from autoenc.report.rescore import other_pictures


def gray_distance(baseline: dict) -> str:
    return f", colour distance {baseline['colour_distance']:.3f}" if "colour_distance" in baseline else ""


def lr_label(row: dict) -> str:
    """The learning rate, and its schedule where it is not constant (conf/scheduler)."""
    return f"{row['lr']:g}" + (f" {row['scheduler']}" if row["scheduler"] != "none" else "")


def _pm(row: dict, key: str, fmt: str) -> str:
    if math.isnan(row[key]):
        return "-"
    return f"{row[key]:{fmt}}" + (f" ± {row[key + '_std']:{fmt}}" if row["seeds"] > 1 else "")


def markdown(
    rows: list[dict],
    failures: list[dict],
    baseline: dict[str, dict],
    results: list[dict],
    earlier: Path | None = None,
    several: bool = False,
) -> str:
    """The table with what its columns mean; where the sweep's time went (one sweep); its failed runs."""
    others = [k for k in other_pictures(results) if any(not math.isnan(r[k]) for r in rows)]  # pooled: may be none
    probe = any(not math.isnan(r["probe_accuracy"]) for r in rows)
    lines = legend(rows, baseline, earlier, others, probe) + header(others, probe)
    lines += [row_line(r, baseline, others, probe) for r in rows]
    if not several and (timing := sweep_timing(results)):
        lines += ["", timing]
    if failures:
        lines += ["", f"**{len(failures)} job(s) failed** and are not in the table:", ""]
        lines += [f"- `{f['job']}` ({f['arch']}, {f['task']}, seed {f['seed']}): {f['why']}" for f in failures]
    return "\n".join(lines) + "\n"


def legend(
    rows: list[dict], baseline: dict[str, dict], earlier: Path | None, others: list[str], probe: bool
) -> list[str]:
    """What the columns mean, the no-colour baselines of each dataset, what is pooled or scored beside."""
    lines = [
        "Test split, best checkpoint (lowest val MSE; loss=classify: val loss) of each run; mean ± sample std "
        "over seeds.",
        "MSE on the study's [-1, 1] pixel scale: *task* in the task's own output space (RGB, or U,V, or a,b),",
        "*RGB* after turning the prediction into RGB (colour tasks: true luminance + predicted colour).",
        "On RGB clamped to [0, 1], data range 1: *PSNR* the mean of per-picture PSNR, *pooled* the PSNR of the",
        "MSE over all pictures' pixels (10 log10(1 / MSE)), SSIM. *colour*: Hasler-Suesstrunk colourfulness of",
        "predictions / of the truth (1 = as colourful, 0 = gray); *colour err*: the median per picture of",
        "|CF_pred - CF_truth| / CF_truth (pictures with colour). *colour dist*: 1 - the overlap",
        "of each picture's predicted and true a,b histograms (0 = the right colours in the right amounts; the gray",
        "picture's is in the baseline line). *study*: the report's number",
        "(Keras, CIFAR-10, one run).",
        "",
    ]
    for dataset, b in baseline.items():
        lines.append(
            f"No-colour baseline on {dataset} (test split): the gray image scores RGB MSE {b['mse_rgb']:.5f}, "
            f"PSNR {b['psnr']:.2f} dB, SSIM {b['ssim']:.3f}{gray_distance(b)}. *no colour* column: the task-space "
            f"MSE of predicting no colour (gray2rgb: the gray image {b['gray2rgb']:.5f}; y2uv: U = V = 0 "
            f"{b['y2uv']:.5f}; l2ab: a = b = 0 {b['l2ab']:.5f}); a colouriser must stay under it."
        )
    if any(restores(r["task"]) for r in rows):
        lines.append(
            "Restoration tasks (denoise, inpaint, superres): their *no colour* column holds the MSE of doing "
            "nothing, the degraded input itself (the noisy, the holed, the enlarged picture), on the same "
            "test pictures; the network must stay under it."
        )
    if earlier is not None:
        lines.append(
            f"Cells that {earlier} also holds are pooled with its rows: count, mean and sample std over "
            "all their seeds; a score it lacks is '-'."
        )
    if others:
        lines += [
            "",
            "*on X*: the best checkpoint scored on every picture of the file of pictures X "
            "(`make_table.py --pictures X=file`): MSE in the task's space and in RGB; *on X / Y*: "
            "each run's MSE on X over its MSE on Y (`--ratio X/Y`), mean over the cell's runs.",
        ]
    if probe:
        lines += [
            "",
            "*probe*: accuracy of a linear probe (logistic regression) on the best checkpoint's codes: "
            "fitted on the train split's, scored on the test split's (`make_table.py --probe`).",
        ]
    return lines


def header(others: list[str], probe: bool) -> list[str]:
    heads = [f"on {other_head(k[3:])}" for k in others]
    return [
        "",
        "| arch | task | data | epochs | lr | seeds | latent | params | test MSE (task) | no colour | "
        "study | RGB MSE | PSNR dB | pooled dB | SSIM | colour | colour err | colour dist | train s |"
        + " probe |" * probe
        + "".join(f" {h} |" for h in heads),
        "|---|---|---|" + "--:|" * (16 + probe + len(others)),
    ]


def other_head(key: str) -> str:
    """original_over_jpeg_mse_rgb -> "original / jpeg RGB MSE", original_input_psnr -> "original input PSNR dB"."""
    words = key.replace("_over_", " / ").replace("_input", " input").replace("_psnr_pooled", " pooled dB")
    words = words.replace("_psnr", " PSNR dB").replace("_ssim", " SSIM").replace("_mse_rgb", " RGB MSE")
    return words.replace("_mse", " MSE")


def other_format(key: str) -> str:
    return ".2f" if "psnr" in key else ".3f" if "_over_" in key or "ssim" in key else ".5f"


def row_line(r: dict, baseline: dict[str, dict], others: list[str], probe: bool) -> str:
    """One cell's row: its settings, and each score as mean ± sample std over its seeds."""
    study = f"{r['study_mse']:.6f}" if r["study_mse"] is not None else ""
    nocolour = baseline.get(r["dataset"], {}).get(r["task"])
    nocolour = f"{nocolour:.5f}" if nocolour is not None else ""
    if restores(r["task"]):
        nocolour = _pm(r, "test_input_mse_rgb", ".5f")
    return (
        f"| {r['arch']} | {r['label']} | {r['dataset']} | {r['epochs']} | {lr_label(r)} | {r['seeds']} | "
        f"{r['latent_size']} | {r['params']:,} | {_pm(r, 'test_mse', '.5f')} | {nocolour} | {study} | "
        f"{_pm(r, 'test_mse_rgb', '.5f')} | {_pm(r, 'test_psnr', '.2f')} | {_pm(r, 'test_psnr_pooled', '.2f')} | "
        f"{_pm(r, 'test_ssim', '.3f')} | {_pm(r, 'test_colourfulness_ratio', '.2f')} | "
        f"{_pm(r, 'test_colourfulness_error', '.2f')} | {_pm(r, 'test_colour_distance', '.3f')} | "
        f"{r['train_seconds']:.1f} |"
        + f" {_pm(r, 'probe_accuracy', '.3f')} |" * probe
        + "".join(f" {_pm(r, key, other_format(key))} |" for key in others)
    )


def sweep_timing(results: list[dict]) -> str | None:
    """Where the sweep's time went, from each run's metrics.json timing: wall time from the launch
    of the first process to the end of the last run, the first training step, and the sums of
    data loading, training and testing. None when some run has no timing (written before it
    existed) or was resumed (its earlier part is not counted)."""
    timings = [r.get("timing") for r in results]
    if not timings or any(t is None or r.get("resumed_from") for t, r in zip(timings, results, strict=True)):
        return None
    launch = min(t["process_start"] or t["start"] for t in timings)
    first_step = min(t["first_step"] for t in timings if t["first_step"])
    total = {key: sum(t[key] for t in timings) for key in ("load_s", "fit_s", "test_s")}
    return (
        f"**Time:** {len(timings)} runs in {max(t['end'] for t in timings) - launch:.1f} s of wall time, "
        f"from the launch of the first process to the end of the last run; its first training step "
        f"{first_step - launch:.1f} s after launch. Summed over runs (parallel jobs overlap): data loading "
        f"{total['load_s']:.1f} s, training {total['fit_s']:.1f} s, testing {total['test_s']:.1f} s."
    )
