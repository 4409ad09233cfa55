"""Result blocks in the field's units (autoenc/report/blocks.py renders them): the restoration jobs
beside the public CIFAR-10 numbers for them, and the colorizers scored as the field scores colour."""

import json
import math
from pathlib import Path

from autoenc.report.result_blocks import pm, read_rows, table

JOBS = {"denoise": "denoise, Gaussian sigma 0.1 on [0, 1], clipped", "superres": "super-resolution x2, bicubic"}
TARGETS = {"denoise": 29.2, "superres": 28.5}  # dB, mean per-picture PSNR: the bar, above the anchors


def field_rows(restore_csv: str) -> list[dict]:
    """The table's rows in the anchors' settings: denoise as it is, super-resolution with bicubic resampling."""
    rows = read_rows(Path(restore_csv))
    return [r for r in rows if r["label"] in ("denoise", "superres resample=bicubic")]


def anchors(field_json: str, restore_csv: str) -> str:
    """The public numbers and autoenc's, each with its net, size, epochs and test pictures."""
    lines = []
    for a in json.loads(Path(field_json).read_text())["anchors"]:
        lines.append(
            f"| {JOBS[a['job']]} | {a['net']} (public) | - | {a['epochs']} | CIFAR-10 test, original pixels | "
            f"{a['psnr']:.2f} | - | {a['ssim']:.3f} | - |"
        )
    for r in field_rows(restore_csv):
        net = f"autoenc {r['arch']}, {r['seeds']:.0f} seed{'s' * (r['seeds'] > 1)}"
        head = f"| {JOBS[r['task']]} | {net} | {r['params']:,.0f} | {r['epochs']:.0f} |"
        lines.append(
            f"{head} JPEG copy, test split | {pm(r, 'test_psnr', 2)} | {pm(r, 'test_psnr_pooled', 2)} | "
            f"{pm(r, 'test_ssim', 3)} | {pm(r, 'test_input_psnr', 2)} |"
        )
        lines.append(
            f"{head} 1,017 test pictures, original pixels | {pm(r, 'on_original_psnr', 2)} | "
            f"{pm(r, 'on_original_psnr_pooled', 2)} | {pm(r, 'on_original_ssim', 3)} | "
            f"{pm(r, 'on_original_input_psnr', 2)} |"
        )
    return table(
        "| job | net | params | epochs | test pictures | PSNR dB, mean per picture | PSNR dB, pooled | SSIM | "
        "doing nothing, PSNR dB |",
        "|---|---|--:|--:|---|--:|--:|--:|--:|",
        lines,
    )


def targets(restore_csv: str) -> str:
    """Each job's best net against the bar the field's numbers set (mean per-picture PSNR, both picture sets)."""
    lines, rows = [], field_rows(restore_csv)
    for task in JOBS:
        cells = [r for r in rows if r["task"] == task]
        if not cells:
            continue
        r, bar = max(cells, key=lambda r: r["test_psnr"]), TARGETS[task]
        for where, key in (("the JPEG test split", "test_psnr"), ("the 1,017 original pictures", "on_original_psnr")):
            if r.get(key) is None:
                continue
            verdict = "reached" if r[key] >= bar else f"not reached, {bar - r[key]:.2f} dB short"
            lines.append(f"- {JOBS[r['task']]}, {r['arch']} on {where}: {r[key]:.2f} dB against {bar} dB: {verdict}.")
    return "\n".join(lines)


def curve(*table_csvs: str) -> str:
    """Mean per-picture PSNR against training time (run length) for the nets in the anchors' settings,
    and where the bar would be reached if each doubling of time kept the last doubling's gain."""
    rows = sorted(
        (r for path in table_csvs for r in field_rows(path)), key=lambda r: (r["task"], r["arch"], r["epochs"])
    )
    lines = [
        f"| {JOBS[r['task']]} | {r['arch']} | {r['params']:,.0f} | {r['epochs']:.0f} | {r['seeds']:.0f} | "
        f"{r['train_seconds'] / 60:.1f} | {pm(r, 'train_images_per_s', 0)} | {pm(r, 'test_psnr', 2)} |"
        for r in rows
    ]
    text = table(
        "| job | net | params | epochs | seeds | train min | training img/s | PSNR dB, mean per picture |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
        lines,
    )
    return text + "\n\n" + "\n".join(reach(rows))


def reach(rows: list[dict]) -> list[str]:
    """Per net and job with two run lengths or more: the last doubling's gain and the time to the bar."""
    lines = []
    for task, arch in dict.fromkeys((r["task"], r["arch"]) for r in rows):
        runs = [r for r in rows if (r["task"], r["arch"]) == (task, arch)]
        if len(runs) < 2:
            continue
        (short, long), bar = runs[-2:], TARGETS[task]
        doublings = math.log2(long["train_seconds"] / short["train_seconds"])
        gain = (long["test_psnr"] - short["test_psnr"]) / doublings
        if long["test_psnr"] >= bar:
            lines.append(f"- {JOBS[task]}, {arch}: the bar ({bar} dB) reached in {long['train_seconds'] / 60:.0f} min.")
        elif gain <= 0:
            lines.append(f"- {JOBS[task]}, {arch}: no gain from the longer run: more time will not reach {bar} dB.")
        else:
            minutes = long["train_seconds"] / 60 * 2 ** ((bar - long["test_psnr"]) / gain)
            lines.append(
                f"- {JOBS[task]}, {arch}: {gain:.2f} dB per doubling of training time (from "
                f"{short['epochs']:.0f} to {long['epochs']:.0f} epochs); at that rate {bar} dB would take about "
                f"{minutes:.0f} min of training on this CPU."
            )
    return lines


def colorizers(record: str) -> str:
    """Each judged colorizer (scripts/dev/judge_colorizer.py record=...): the test split's scores and the
    unseen photos' colourfulness error."""
    lines = []
    for name, c in json.loads(Path(record).read_text()).items():
        s = c["test_split"]
        net = f"{s['arch']} ({'skips, ' if s.get('skips') else ''}{s['block']} {'-'.join(map(str, s['widths']))})"
        lines.append(
            f"| {name} | {net} | {s['params']:,} | {s['loss']} | {s['test_mse_rgb']:.5f} | "
            f"{s['test_colour_distance']:.3f} | {s['test_colourfulness_ratio']:.2f} | "
            f"{s['test_colourfulness_error']:.2f} | {c['photos_median_colourfulness_error']:.2f} "
            f"({c['photos_within_20_percent']} of {len(c['photos'])} within 20%) |"
        )
    return table(
        "| colorizer | net | params | loss | test split: RGB MSE | colour distance | colourfulness / truth | "
        "colourfulness error, median | unseen photos: colourfulness error, median |",
        "|---|---|--:|---|--:|--:|--:|--:|--:|",
        lines,
    )
