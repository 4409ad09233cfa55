"""scripts/dev/gpu_check.sh, the GPU machine's one command, as a dry run on the CPU with tiny sizes:
every step runs under its cap and says one line, the files that come back are at most seven."""

import os
import subprocess

from conftest import ROOT


def test_the_gpu_check_runs_each_step_and_says_how_it_went(tmp_path):
    env = {**os.environ, "DRY": "1", "OUT": str(tmp_path / "out"), "SWEEP": str(tmp_path / "sweep")}
    r = subprocess.run(
        ["bash", str(ROOT / "scripts" / "dev" / "gpu_check.sh")], env=env, capture_output=True, text=True, timeout=1500
    )
    summary = (tmp_path / "out" / "summary.txt").read_text().splitlines()
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert [line.split(":")[0] for line in summary] == ["setup", "tests", "bench", "table", "make_table"]
    assert all(": ok in " in line for line in summary), summary
    assert "passed" in summary[1] and "4 of 4 runs finished" in summary[3]
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(files) <= 7 and {"summary.txt", "machine.txt", "pytest.txt", "bench.txt", "table.txt"} <= set(files)
    assert "| classic | reconstruct |" in (tmp_path / "out" / "table.txt").read_text()
    assert "autoenc" in (tmp_path / "out" / "bench.txt").read_text()


def test_a_step_that_fails_or_runs_past_its_cap_makes_the_check_fail(tmp_path):
    env = {**os.environ, "DRY": "1", "OUT": str(tmp_path / "out"), "SWEEP": str(tmp_path / "sweep"), "PY": "false"}
    r = subprocess.run(
        ["bash", str(ROOT / "scripts" / "dev" / "gpu_check.sh")], env=env, capture_output=True, text=True, timeout=300
    )
    summary = (tmp_path / "out" / "summary.txt").read_text()
    assert r.returncode == 1 and "tests: failed (exit 1)" in summary and "table: failed" in summary
