"""The renderers of the result blocks (autoenc/report/blocks.py): each writes a table or a list of
findings from a record committed under docs/."""

import csv
import json
import math
import re
from pathlib import Path

STUDY_SOUND = ("classic", "4-6-8", "32-48-64_single", "32-48-64_double")  # reconstruction cells not in doubt
COLOUR = ("gray2rgb", "y2uv", "l2ab")


def read_rows(path: Path) -> list[dict]:
    """A table.csv's rows, numbers as floats (empty or nan: None)."""

    def value(text: str):
        try:
            number = float(text)
        except ValueError:
            return text
        return None if math.isnan(number) else number

    return [{k: value(v) for k, v in row.items()} for row in csv.DictReader(path.open())]


def gray_baseline(table_md: Path) -> dict[str, float]:
    """The no-colour baselines a make_table table.md states: the gray picture's RGB MSE and each colour
    task's task-space MSE of predicting no colour."""
    text = table_md.read_text()
    found = {"rgb": re.search(r"the gray image scores RGB MSE ([0-9.]+)", text)}
    found |= {
        "gray2rgb": re.search(r"gray2rgb: the gray image ([0-9.]+)", text),
        "y2uv": re.search(r"y2uv: U = V = 0 ([0-9.]+)", text),
        "l2ab": re.search(r"l2ab: a = b = 0 ([0-9.]+)", text),
    }
    return {key: float(m.group(1)) for key, m in found.items() if m}


def pm(row: dict, key: str, digits: int) -> str:
    mean, std = row.get(key), row.get(f"{key}_std")
    if mean is None:
        return "-"
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if row["seeds"] and row["seeds"] > 1 and std else "")


def percent_range(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:.0f}%" if round(low) == round(high) else f"{low:.0f}-{high:.0f}%"


def times_range(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:.2f}x" if round(low, 2) == round(high, 2) else f"{low:.2f}-{high:.2f}x"


def cells(table_csv: str, table_md: str) -> str:
    """The study's table, compact: one row per arch x task, mean ± sample std over seeds (its table.md
    states the no-colour baselines)."""
    rows, base = read_rows(Path(table_csv)), gray_baseline(Path(table_md))
    lines = [
        "| arch | task | seeds | test MSE (task space) | no colour | study | RGB MSE | PSNR dB | colour |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        study = f"{r['study_mse']:.6f}" if r.get("study_mse") else ""
        nocolour = f"{base[r['task']]:.5f}" if r["task"] in base else ""
        lines.append(
            f"| {r['arch']} | {r['label']} | {r['seeds']:.0f} | {pm(r, 'test_mse', 5)} | {nocolour} | {study} | "
            f"{pm(r, 'test_mse_rgb', 5)} | {pm(r, 'test_psnr', 2)} | {pm(r, 'test_colourfulness_ratio', 2)} |"
        )
    return "\n".join(lines)


def findings(table_csv: str, table_md: str, original_csv: str) -> str:
    """What the study's table says, every number computed from its records."""
    rows, base = read_rows(Path(table_csv)), gray_baseline(Path(table_md))
    cell = {(r["arch"], r["label"]): r for r in rows}
    sound = [cell[a, "reconstruct"] for a in STUDY_SOUND]
    under_study = [100 * (1 - r["test_mse"] / r["study_mse"]) for r in sound]
    colour = [r for r in rows if r["label"] in ("y2uv", "l2ab")]
    under_none = [100 * (1 - r["test_mse"] / base[r["task"]]) for r in colour]
    beats_gray = [r["arch"] for r in rows if r["label"] == "gray2rgb" and r["test_mse_rgb"] < base["rgb"]]
    y2uv_wins = all(cell[a, "y2uv"]["test_mse_rgb"] < cell[a, "l2ab"]["test_mse_rgb"] for a, t in cell if t == "y2uv")
    single, double = cell["32-48-64_single", "reconstruct"], cell["32-48-64_double", "reconstruct"]
    k5, k3 = cell["16-24-32_k5", "reconstruct"], cell["16-24-32", "reconstruct"]
    ratios = {r["arch"] + " " + r["label"]: r for r in read_rows(Path(original_csv))}
    recon = [r["on_original_over_jpeg_mse"] for k, r in ratios.items() if k.endswith(" reconstruct")]
    hue = [r["on_original_over_jpeg_mse"] for k, r in ratios.items() if k.split()[1] in COLOUR]
    colourful = [r["test_colourfulness_ratio"] for r in rows if r["label"] in COLOUR]
    return "\n".join(
        [
            f"- Reconstruction, the study's four sound cells ({', '.join(STUDY_SOUND)}): "
            f"{percent_range(under_study)} under its numbers with the same nets, loss and schedule. On 1,017 "
            "test pictures with their original pixels (docs/results_original_pixels/) the same checkpoints score "
            f"{times_range(recon)} their MSE on the JPEG copy (colour: "
            f"{times_range(hue)}): the copy is easier, and the real CIFAR-10 should land near the study's numbers.",
            f"- The study's 16-24-32 (0.0475) was a failed run: {pm(k3, 'test_mse', 5)} here, between classic "
            f"and 32-48-64. Its 5x5 variant's latent is {k5['latent_size']:.0f} values, not 1152, and its MSE "
            f"{pm(k5, 'test_mse', 5)} is 3x3's within the seed spread at {k5['params'] / k3['params']:.1f}x the "
            "parameters.",
            f"- Double blocks: reconstruction {100 * (1 - double['test_mse'] / single['test_mse']):.0f}% under single "
            f"blocks' ({pm(double, 'test_mse', 5)} vs {pm(single, 'test_mse', 5)}) at "
            f"{double['params'] / single['params']:.1f}x the parameters.",
            f"- Colour, against predicting none: y2uv and l2ab end {percent_range(under_none)} under it in task "
            f"space; y2uv beats l2ab in RGB MSE on {'every' if y2uv_wins else 'not every'} arch; gray2rgb gets "
            f"under the gray picture's RGB MSE ({base['rgb']:.5f}) only with {', '.join(beats_gray) or 'none'}. "
            f"Every colour cell is washed out: {min(colourful):.2f}-{max(colourful):.2f} as colourful as the truth.",
        ]
    )


def lr_study(lr_csv: str, table_csv: str) -> str:
    """32-48-64_single y2uv over learning rate and epochs (seed 0), the table's 15-epoch 1e-3 cell beside."""
    runs = read_rows(Path(lr_csv))
    table = {(r["arch"], r["label"]): r for r in read_rows(Path(table_csv))}
    runs.append({**table["32-48-64_single", "y2uv"], "note": " (the table's cell, mean of its seeds)"})
    lines = ["| lr | epochs | seeds | test MSE (U,V) | RGB MSE | study |", "|--:|--:|--:|--:|--:|--:|"]
    for r in sorted(runs, key=lambda r: (-r["lr"], r["epochs"])):
        study = f"{r['study_mse']:.6f}" if r.get("study_mse") else ""
        lines.append(
            f"| {r['lr']:g} | {r['epochs']:.0f}{r.get('note', '')} | {r['seeds']:.0f} | {pm(r, 'test_mse', 5)} | "
            f"{pm(r, 'test_mse_rgb', 5)} | {study} |"
        )
    return "\n".join(lines)


def table(head: str, rule: str, rows) -> str:
    """A markdown table: its header line, its alignment line, a line per row."""
    return "\n".join([head, rule, *rows])


def restore(restore_csv: str) -> str:
    """Restoration tasks (seed 0): the network's RGB MSE and PSNR against doing nothing."""
    return table(
        "| arch | task | RGB MSE | PSNR dB | do nothing: RGB MSE | PSNR dB |",
        "|---|---|--:|--:|--:|--:|",
        (
            f"| {r['arch']} | {r['task']} | {r['test_mse_rgb']:.5f} | {r['test_psnr']:.2f} | "
            f"{r['test_input_mse_rgb']:.5f} | {r['test_input_psnr']:.2f} |"
            for r in read_rows(Path(restore_csv))
        ),
    )


def probes(folder: str, table_csv: str) -> str:
    """The linear probe's class accuracy on each reconstruct run's codes (seed 0), and on the pixels."""
    kept = {p.stem: json.loads(p.read_text()) for p in sorted(Path(folder).glob("*.json"))}
    latent = {r["arch"]: r["latent_size"] for r in read_rows(Path(table_csv)) if r["label"] == "reconstruct"}
    lines = ["| codes of | latent | linear probe accuracy |", "|---|--:|--:|"]
    lines.append(f"| *the pixels (no network)* | 3072 | {kept.pop('pixels')['probe_accuracy']:.3f} |")
    by_arch = {stem.split("_reconstruct")[0]: probe for stem, probe in kept.items()}
    for arch in sorted(by_arch, key=lambda a: latent[a]):
        lines.append(f"| {arch} | {latent[arch]:.0f} | {by_arch[arch]['probe_accuracy']:.3f} |")
    return "\n".join(lines)


def ratios(original_csv: str) -> str:
    """Each cell's MSE on the original pixels over its MSE on the JPEG copy (the same checkpoints)."""
    return table(
        "| arch | task | checkpoints | original / JPEG (task space) | (RGB) |",
        "|---|---|--:|--:|--:|",
        (
            f"| {r['arch']} | {r['label']} | {r['seeds']:.0f} | {pm(r, 'on_original_over_jpeg_mse', 2)}x | "
            f"{pm(r, 'on_original_over_jpeg_mse_rgb', 2)}x |"
            for r in read_rows(Path(original_csv))
        ),
    )


def disk(record: str) -> str:
    """What the data and a run take on disk, as measured (a json record)."""
    d = json.loads(Path(record).read_text())
    mib = 2**20
    run = d["run_folder"]
    return (
        f"Disk: the CIFAR-10 download {d['cifar10_download_bytes'] / mib:.0f} MiB; "
        f"the JPEG folder {d['jpeg_folder']['bytes'] / mib:.0f} MiB of files, {d['jpeg_folder']['on_disk_mib']} MiB "
        f"on disk with 4 KiB blocks; `dataset=images` keeps its decoded tiles once, "
        f"{d['tile_cache']['bytes'] / mib:.0f} MiB in `~/.cache/autoenc`; a run folder of {run['arch']} "
        f"({run['params']:,} parameters) {(run['checkpoints_bytes'] + run['tb_bytes']) / 2**10:.0f} KiB, its two "
        "checkpoints growing with the parameters (weights and Adam's two moments). Measured on "
        f"{d['host']} ([record](docs/{Path(record).name}))."
    )


def suite(record: str) -> str:
    """How long the tests take, as measured from a fresh clone (a json record)."""
    d = json.loads(Path(record).read_text())
    full, quick, dev = d["full"], d["quick"], d["dev"]
    return (
        f"On {d['host']}: `pytest` ran {full['passed']} tests in {full['seconds'] / 60:.1f} min "
        f"({full['workers']} worker processes; {full['skipped']} skipped: {full['skipped_why']}); "
        f'`pytest -m "not slow"` {quick["passed"]} in '
        f"{quick['seconds']:.0f} s; `pytest tests/dev` {dev['passed']} in {dev['seconds']:.0f} s "
        f"({d['how']}; [record](docs/{Path(record).name}))."
    )


def printed(log: str, *which: str) -> str:
    """The markdown tables a script printed into its log, as it printed them: all, or the n-th ones (from 1)."""
    tables, current = [], []
    for line in [*Path(log).read_text().splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables, current = [*tables, "\n".join(current)], []
    picked = [tables[int(n) - 1] for n in which] if which else tables
    return "\n\n".join(picked)
