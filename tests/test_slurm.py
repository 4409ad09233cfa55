"""autoenc's cluster path on a real SLURM cluster (scripts/dev/slurm_local.sh start, then
SLURM_CONF set): a sweep submitted through sbatch by submitit, a failing job, a job that asks
for too much, and a running job requeued (pre-empted) that resumes to the same result.
Skipped where sbatch does not answer."""

import json
import subprocess
import sys
import time

import pytest
from conftest import ROOT
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def cluster_partition() -> str | None:
    try:
        r = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.split()[0].rstrip("*") if r.returncode == 0 and r.stdout.strip() else None


PARTITION = cluster_partition()
pytestmark = [
    pytest.mark.slurm,
    pytest.mark.slow,
    pytest.mark.skipif(PARTITION is None, reason="no SLURM cluster answers sinfo"),
]
QUIET = ["trainer.enable_progress_bar=false", "trainer.enable_model_summary=false", "trainer.precision=32-true"]


def sweep(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "train.py"),
            "-m",
            "hydra/launcher=slurm",
            f"hydra.launcher.partition={PARTITION}",
            "dataset=photos",
            *QUIET,
            *args,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )


def test_a_sweep_runs_as_slurm_jobs_and_makes_its_table(tmp_path):
    r = sweep(
        "experiment=table",
        "arch=classic,4-6-8",
        "task=reconstruct,y2uv",
        "seed=0",
        "trainer.max_epochs=2",
        "trainer.limit_train_batches=20",
        "speed.threads=1",  # each job asks for one CPU: two at a time on two
        f"hydra.sweep.dir={tmp_path}",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "sacct" not in r.stderr  # no accounting on this cluster: followed with squeue, no warnings
    (script,) = tmp_path.glob(".submitit/*/*_submission.sh")  # one job array
    assert "#SBATCH --cpus-per-task=1\n" in script.read_text()  # as many CPUs as speed.threads
    runs = sorted(p.parent for p in tmp_path.glob("*/metrics.json"))
    assert [p.name.rsplit("_", 1)[0] for p in runs] == [
        "4-6-8_reconstruct_s0",
        "4-6-8_y2uv_s0",
        "classic_reconstruct_s0",
        "classic_y2uv_s0",
    ]
    for run in runs:
        logs = sorted(run.glob("slurm-*.out"))  # the job's log, from its run folder
        assert len(logs) == 1 and "autoenc: test mse" in logs[0].read_text()
    table = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_table.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert table.returncode == 0, table.stderr[-2000:]
    assert "| classic | y2uv |" in table.stdout and (tmp_path / "table.md").is_file()


def test_a_failing_job_is_reported_and_an_impossible_one_refused_at_once(tmp_path):
    r = sweep("optimizer=sgd", "optimizer.lr=1e6", "trainer=debug", f"hydra.sweep.dir={tmp_path / 'fails'}")
    assert r.returncode != 0
    (failed,) = tmp_path.glob("fails/*/failed.txt")
    assert "training diverged" in failed.read_text()
    start = time.time()
    r = sweep("trainer=debug", "hydra.launcher.cpus_per_task=4096", f"hydra.sweep.dir={tmp_path / 'huge'}")
    assert r.returncode == 1 and time.time() - start < 60
    assert r.stderr.strip().splitlines()[-1].startswith("error: each SLURM job asks for 4096 CPUs")
    assert "Traceback" not in r.stderr
    r = sweep("trainer=debug", "hydra.launcher.partition=no_such_partition", f"hydra.sweep.dir={tmp_path / 'bad'}")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("error: sbatch refused the sweep's jobs: ")


def test_a_requeued_job_resumes_to_the_same_result(tmp_path):
    """The run never stopped trains beside the job (one thread each, so both sum in the same order)."""
    args = ["trainer.max_epochs=3", "trainer.limit_train_batches=40", "speed.threads=1"]
    lone = subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), "dataset=photos", *QUIET, *args, f"hydra.run.dir={tmp_path / 'lone'}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "train.py"),
            "-m",
            "hydra/launcher=slurm",
            f"hydra.launcher.partition={PARTITION}",
            "dataset=photos",
            *QUIET,
            *args,
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 300
    while (
        not (lasts := list(tmp_path.glob("sweep/classic_reconstruct_s0_*/checkpoints/last.ckpt")))
        and time.time() < deadline
        and proc.poll() is None
    ):
        time.sleep(0.2)
    last = lasts[0] if lasts else tmp_path / "sweep" / "never_written"
    assert last.exists(), proc.stderr.read() if proc.poll() is not None else "no checkpoint"
    job = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True).stdout.split()[0]
    subprocess.run(["scontrol", "requeue", job], check=True)  # pre-empted mid-run
    # SLURM holds a requeued job back for about two minutes; let it start again now
    while subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], capture_output=True, text=True).stdout.strip() != (
        "PENDING"
    ):
        time.sleep(0.2)
    subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], check=True)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    assert lone.wait(timeout=300) == 0, lone.stderr.read()[-2000:]
    run = last.parent.parent
    resumed, reference = (json.loads((d / "metrics.json").read_text()) for d in (run, tmp_path / "lone"))
    assert resumed["resumed_from"] and resumed["resumed_from"].endswith("last.ckpt")
    assert resumed["test_mse"] == pytest.approx(reference["test_mse"], abs=1e-6)
    assert resumed["history"] == {k: pytest.approx(v, abs=1e-6) for k, v in reference["history"].items()}
    events = EventAccumulator(str(run / "tb"))
    events.Reload()
    steps = [e.step for e in events.Scalars("val/mse")]
    assert steps == sorted(set(steps)) and len(steps) == 3  # no duplicate or restarted series
    (log,) = run.glob("slurm-*.out")  # the job ran twice: killed by the requeue, then resumed
    assert log.read_text().count("Starting with JobEnvironment") == 2 and "resuming from" in log.read_text()


def release_held_jobs() -> None:
    """SLURM holds a requeued job back (BeginTime, about two minutes): let it start again now."""
    jobs = subprocess.run(["squeue", "-h", "-o", "%i|%T|%r"], capture_output=True, text=True).stdout.split()
    for job, state, reason in (line.split("|") for line in jobs):
        if state == "PENDING" and reason == "BeginTime":
            subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], capture_output=True)


def test_a_job_at_its_time_limit_is_signalled_requeued_and_resumes_to_the_same_result(tmp_path):
    """A 1-minute job with signal_delay_s=15: SLURM signals it 15-45 s in (its timer runs every 30 s),
    submitit requeues it and it exits, the job starts again and resumes from last.ckpt (as often as
    it takes): the same test MSE and history as the run never stopped, which trains beside it
    (one thread each, so both sum in the same order). The run takes about 60 s uninterrupted, so
    the signal always comes, and its first checkpoint comes about 10 s in, before the signal."""
    args = ["trainer.max_epochs=60", "trainer.limit_train_batches=40", "speed.threads=1"]  # about 60 s
    lone = subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), "dataset=photos", *QUIET, *args, f"hydra.run.dir={tmp_path / 'lone'}"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    job = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "train.py"),
            "-m",
            "hydra/launcher=slurm",
            f"hydra.launcher.partition={PARTITION}",
            "hydra.launcher.timeout_min=1",
            "hydra.launcher.signal_delay_s=15",
            "dataset=photos",
            *QUIET,
            *args,
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 600
    while job.poll() is None and time.time() < deadline:
        release_held_jobs()
        time.sleep(1)
    _, err = job.communicate(timeout=60)
    assert job.returncode == 0, err[-3000:]
    assert lone.wait(timeout=300) == 0, lone.stderr.read()[-2000:]
    (run,) = (p.parent for p in tmp_path.glob("sweep/*/metrics.json"))
    log = "".join(p.read_text() for p in run.glob("slurm-*.*"))  # the job's .out and .err
    assert "this job is timed-out" in log and "Requeued job" in log  # submitit's words at the signal
    assert log.count("Starting with JobEnvironment") >= 2 and "resuming from" in log
    resumed, reference = (json.loads((d / "metrics.json").read_text()) for d in (run, tmp_path / "lone"))
    assert resumed["resumed_from"].endswith("last.ckpt") and len(resumed["history"]["val_mse"]) == 60
    assert resumed["test_mse"] == pytest.approx(reference["test_mse"], abs=1e-6)
    assert resumed["history"] == {k: pytest.approx(v, abs=1e-6) for k, v in reference["history"].items()}
    events = EventAccumulator(str(run / "tb"))
    events.Reload()
    steps = [e.step for e in events.Scalars("val/mse")]
    assert steps == sorted(set(steps)) and len(steps) == 60  # continued, not restarted or doubled
