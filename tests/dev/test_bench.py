"""The speed scripts run end to end on a tiny set (their numbers are for docs/benchmarks.md,
never asserted here: speed targets live in the benchmarks, not in timed tests)."""

import json
import subprocess
import sys

import pytest
from conftest import ROOT


def script(name: str, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    r = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "dev" / name), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return r


@pytest.mark.slow
def test_bench_user_compares_train_py_with_a_plain_loop_and_the_bare_step(tmp_path):
    r = script(
        "bench_user.py",
        "--archs",
        "4-6-8",
        "--sizes",
        "800",
        "--epochs",
        "1",
        "--repeats",
        "1",
        "--extra",
        "trainer.enable_progress_bar=false",
    )
    assert "train.py extra: trainer.enable_progress_bar=false" in r.stdout
    row = next(line for line in r.stdout.splitlines() if line.startswith("| 800 | 4-6-8 |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert len(cells) == 9 and cells[6].endswith("x") and cells[7].endswith("%")
    assert all(float(c.replace(",", "")) > 0 for c in cells[3:6])  # images/s of plain, train.py, bare


def test_the_plain_loop_reports_each_epoch(tmp_path):
    from PIL import Image

    Image.new("RGB", (320, 320), (90, 120, 30)).save(tmp_path / "flat.png")  # 100 tiles
    out = script("bench_user.py", "--plain", "classic", str(tmp_path), "2").stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert len(result["epochs"]) == 2 and result["train_images_per_s"] > 0 and result["val_mse"] >= 0


def test_profile_run_splits_a_fit_into_the_framework_costs():
    out = script(
        "profile_run.py", "dataset=photos", "trainer=debug", "trainer.max_epochs=2", "trainer.accelerator=cpu"
    ).stdout
    rows = {line.split(" | ")[0].strip("| "): line for line in out.splitlines() if line.startswith("| ")}
    costs = (
        "training steps (forward, backward, Adam; with the two lines below)",
        "progress bar",
        "checkpoint writes",
        "image grid (TensorBoard)",
        "graph trace (TensorBoard graph)",
        "first epoch's warm-up (beyond the median epoch)",
    )
    assert all(cost in rows for cost in costs)
    share = float(rows["training steps (forward, backward, Adam; with the two lines below)"].split("|")[3].strip(" %"))
    assert 0 < share < 100
