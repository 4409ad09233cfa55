"""A table's cells from more than one place: an earlier table's rows (its table.csv, whose runs
may be gone) pooled with new runs of the same cells: the exact count, mean and sample std over
the union of their seeds. A seed in both, or a cell whose network differs, is refused."""

import csv
import math
from pathlib import Path

from autoenc import UserError
from autoenc.report.cells import Cell

TEXT = {"arch", "task", "label", "dataset", "scheduler"}
INTEGER = {"epochs", "seeds", "latent_size", "params"}


def read_table(path: Path) -> list[dict]:
    """The rows of a table.csv written by make_table, with their types back."""
    if not path.is_file():
        raise UserError(f"--earlier {path}: no such file")
    rows = list(csv.DictReader(path.open()))
    if not rows or "seed_list" not in rows[0]:
        raise UserError(f"--earlier {path}: not a make_table table.csv with a seed_list column (the seeds of a row)")
    return [parse(row) for row in rows]


def parse(row: dict[str, str]) -> dict:
    out: dict = {"label": row["task"], "scheduler": "none"}
    for key, text in row.items():
        if key in TEXT:
            out[key] = text
        elif key == "seed_list":
            out[key] = [int(seed) for seed in text.split()]
        elif key in INTEGER:
            out[key] = int(text)
        elif key == "study_mse":
            out[key] = float(text) if text else None
        else:
            out[key] = float(text) if text else math.nan
    return out


def pool_rows(rows: list[dict], earlier: list[dict], scores: list[str], source: Path) -> list[dict]:
    """rows (this table's, one per cell) with the earlier table's rows of the same cells pooled in;
    earlier cells without new runs are kept as they were. A score the earlier row lacks is nan."""
    new = {Cell.of_row(r): r for r in rows}
    out = [r for r in rows if Cell.of_row(r) not in {Cell.of_row(e) for e in earlier}]
    for old in earlier:
        for key in scores:
            old.setdefault(key, math.nan)
            old.setdefault(key + "_std", 0.0)
        row = new.get(Cell.of_row(old))
        out.append(old if row is None else pool(old, row, scores, source))
    return out


def pool(old: dict, row: dict, scores: list[str], source: Path) -> dict:
    name = f"{row['arch']} {row['label']} ({row['dataset']}, {row['epochs']} epochs, lr {row['lr']:g})"
    if twice := sorted(set(old["seed_list"]) & set(row["seed_list"])):
        raise UserError(f"{name}: seed(s) {twice} are both in {source} and in the sweeps: a run would count twice")
    if (old["params"], old["latent_size"]) != (row["params"], row["latent_size"]):
        raise UserError(f"{name}: {source} has a network of {old['params']} parameters, the sweeps {row['params']}")
    n1, n2 = old["seeds"], row["seeds"]
    out = {**row, "seeds": n1 + n2, "seed_list": sorted(old["seed_list"] + row["seed_list"])}
    for key in scores:
        (m1, s1), (m2, s2) = (old[key], old[key + "_std"]), (row[key], row[key + "_std"])
        mean = (n1 * m1 + n2 * m2) / (n1 + n2)
        spread = (n1 - 1) * s1**2 + (n2 - 1) * s2**2 + n1 * (m1 - mean) ** 2 + n2 * (m2 - mean) ** 2
        out[key], out[key + "_std"] = mean, math.sqrt(spread / (n1 + n2 - 1))  # nan where either lacks it
    return out
