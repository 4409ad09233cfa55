"""Result blocks in the field's units (autoenc/report/blocks.py renders them): the restoration jobs
beside the public CIFAR-10 numbers for them, and the colorizers scored as the field scores colour."""

import json
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
    """Each net against the bar the field's numbers set (mean per-picture PSNR, both picture sets)."""
    lines = []
    for r in field_rows(restore_csv):
        bar = TARGETS[r["task"]]
        for where, key in (("the JPEG test split", "test_psnr"), ("the 1,017 original pictures", "on_original_psnr")):
            if r.get(key) is None:
                continue
            verdict = "reached" if r[key] >= bar else f"not reached, {bar - r[key]:.2f} dB short"
            lines.append(f"- {JOBS[r['task']]}, {r['arch']} on {where}: {r[key]:.2f} dB against {bar} dB: {verdict}.")
    return "\n".join(lines)
