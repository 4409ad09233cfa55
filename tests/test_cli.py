"""The README's commands, run as a user runs them."""

import json
import re
import subprocess
import sys

import pytest
from conftest import ROOT, in_process, sweep_runs

pytestmark = pytest.mark.slow  # processes and servers, as a user runs them: the full suite


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


def test_help_lists_the_config_groups():
    out = run("--help").stdout
    for line in [
        "arch: 16-24-32, 16-24-32_k5, 32-48-64_double, 32-48-64_single, 4-6-8, classic",
        "task: denoise, gray2rgb, inpaint, l2ab, reconstruct, superres, y2uv",
        "experiment: lr_study, restore, table",
        "dataset: array, cifar10, images, photos",
        "optimizer: adam, adamw, sgd",
        "scheduler: cosine, none, onecycle, plateau",
        "trainer: cpu, ddp, debug, default, gpu",
        "hparams_search: optuna",
    ]:
        assert line in out


def test_a_debug_run_leaves_a_result(tmp_path):
    r = run("dataset=photos", "trainer=debug", f"hydra.run.dir={tmp_path}")
    assert r.returncode == 0, r.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["dataset"] == "photos" and metrics["epochs"] == 1
    assert (tmp_path / ".hydra" / "config.yaml").is_file()


def test_unknown_option_lists_the_valid_ones(tmp_path):
    r = run("arch=classik", f"hydra.run.dir={tmp_path}")
    assert r.returncode != 0
    assert "classic" in r.stderr and "32-48-64_double" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "override,words",
    [
        ("arch.kernel_size=2", "arch.kernel_size=2"),
        ("dataset.batch_size=0", "dataset.batch_size=0"),
        ("speed.cuda_graph=sometimes", "false, true, auto"),
    ],
)
def test_bad_numbers_give_one_line_and_no_result(tmp_path, override, words):
    """...answered before Lightning is imported (most of a training's start-up)."""
    command = [
        sys.executable,
        "-X",
        "importtime",
        str(ROOT / "train.py"),
        "dataset=photos",
        override,
        f"hydra.run.dir={tmp_path}",
    ]
    r = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    imports = [line for line in r.stderr.splitlines() if line.startswith("import time:")]
    said = [line for line in r.stderr.splitlines() if not line.startswith("import time:")]
    assert r.returncode == 1 and len(said) == 1 and said[0].startswith("error:") and words in said[0]
    assert imports and not [line for line in imports if re.search(r"\|\s+lightning\b", line)]
    assert not (tmp_path / "metrics.json").exists() and not (tmp_path / "checkpoints").exists()


def test_a_sweep_run_in_two_parts_into_one_folder_keeps_each_run(tmp_path):
    """`-m optimizer.lr=0.001` then `-m optimizer.lr=0.0005` with the same hydra.sweep.dir: two runs,
    each in a folder named after its overrides; the first command again reports its run."""
    common = (
        "-m",
        "dataset=photos",
        "trainer=debug",
        "trainer.enable_progress_bar=false",
        f"hydra.sweep.dir={tmp_path}",
    )
    for lr in ("0.001", "0.0005"):
        r = run(*common, f"optimizer.lr={lr}")
        assert r.returncode == 0, r.stderr[-2000:]
    runs = sweep_runs(tmp_path)
    assert len(runs) == 2 and all(name.startswith("classic_reconstruct_s0_") for name in runs)
    lrs = sorted(json.loads((tmp_path / name / "metrics.json").read_text())["lr"] for name in runs)
    assert lrs == [0.0005, 0.001]
    again = run(*common, "optimizer.lr=0.001")
    assert again.returncode == 0 and "already holds a finished run" in again.stdout and sweep_runs(tmp_path) == runs
    # a folder named as sweeps were before (job number first) gets its name back from its record
    (tmp_path / runs[0]).rename(tmp_path / "0_classic_reconstruct_s0")
    dry = in_process("rename_sweep", tmp_path, "--dry-run")
    assert f"0_classic_reconstruct_s0 -> {runs[0]}" in dry.stdout and (tmp_path / "0_classic_reconstruct_s0").is_dir()
    r = in_process("rename_sweep", tmp_path)
    assert r.returncode == 0 and "1 folder(s) renamed" in r.stdout and sweep_runs(tmp_path) == runs


def test_a_folder_holding_another_configs_run_is_refused_untouched(tmp_path):
    first = run("dataset=photos", "trainer=debug", "trainer.enable_progress_bar=false", f"hydra.run.dir={tmp_path}")
    assert first.returncode == 0, first.stderr[-2000:]
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != ".lock"}
    r = run("dataset=photos", "trainer=debug", "optimizer.lr=0.0005", f"hydra.run.dir={tmp_path}")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith(f"error: {tmp_path} holds a run of another config (optimizer.lr: 0.001 there, 0.0005 here)")
    r = run("dataset=photos", "trainer=debug", "optimizer.lr=0", f"hydra.run.dir={tmp_path}")  # refused sooner
    assert r.returncode == 1 and r.stderr.strip() == "error: optimizer.lr=0: must be a positive number"
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != ".lock"} == before
