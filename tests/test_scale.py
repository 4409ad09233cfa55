"""Scale-out on real engines: Lightning DDP, Hydra's joblib and submitit launchers, Optuna."""

import json
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT, sweep_runs

from autoenc.scale.slurm import follow_with_squeue

QUIET = ["trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]


def cli(*args: str, script: str = "train.py") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / script), *args], capture_output=True, text=True, cwd=ROOT, timeout=600
    )


@pytest.mark.slow
def test_joblib_runs_two_jobs_in_parallel(tmp_path):
    r = cli(
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "dataset=photos",
        "trainer=debug",
        "task=reconstruct,y2uv",
        *QUIET,
        f"hydra.sweep.dir={tmp_path}",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    done = sorted(p.parent.name for p in tmp_path.glob("*/metrics.json"))
    assert [name.rsplit("_", 1)[0] for name in done] == ["classic_reconstruct_s0", "classic_y2uv_s0"]
    # at once: each job's training began before the other's ended, in its own process
    timing = [json.loads((tmp_path / name / "metrics.json").read_text())["timing"] for name in done]
    assert timing[0]["first_step"] < timing[1]["end"] and timing[1]["first_step"] < timing[0]["end"]
    assert timing[0]["process_start"] != timing[1]["process_start"] or timing[0]["start"] != timing[1]["start"]


@pytest.mark.slow
def test_submitit_local_multirun(tmp_path):
    r = cli(
        "-m",
        "hydra/launcher=submitit_local",
        "hydra.launcher.timeout_min=10",
        "dataset=photos",
        "trainer=debug",
        "seed=0,1",
        *QUIET,
        f"hydra.sweep.dir={tmp_path}",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    runs = sorted((json.loads(p.read_text()) for p in tmp_path.glob("*/metrics.json")), key=lambda m: m["seed"])
    assert [m["seed"] for m in runs] == [0, 1] and all(m["test_mse"] > 0 and m["epochs"] == 1 for m in runs)
    assert runs[0]["test_mse"] != runs[1]["test_mse"]  # two seeds, two trainings
    assert len(list((tmp_path / ".submitit").glob("*/*_result.pkl"))) == 2  # each job's result came back


@pytest.mark.slow
def test_optuna_two_trials_minimise_val_mse(tmp_path):
    r = cli(
        "-m",
        "hparams_search=optuna",
        "hydra.sweeper.n_trials=2",
        "dataset=photos",
        "trainer=debug",
        *QUIET,
        f"hydra.sweep.dir={tmp_path}",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    results = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    runs = [json.loads(p.read_text()) for p in tmp_path.glob("*/metrics.json")]
    assert len(runs) == 2
    assert results["best_value"] == pytest.approx(min(r["best_val_mse"] for r in runs))
    assert {"optimizer.lr", "arch", "arch.block"} <= set(results["best_params"])


@pytest.mark.slow
def test_ddp_in_a_sweep_starts_each_runs_processes_for_that_run_only_and_gathers_its_metrics(tmp_path):
    """Lightning starts a run's second process by running the command again: under -m that
    process must train its run, not start the sweep over. Its test scores count every test picture
    once: the same checkpoint tested in one process gives the same test MSE and PSNR."""
    r = cli(
        "-m",
        "dataset=photos",
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=4",
        "trainer.limit_val_batches=2",
        "seed=0,1",
        *QUIET,
        f"hydra.sweep.dir={tmp_path}",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    log = r.stdout + r.stderr
    assert log.count("Launching 2 jobs") == 1 and log.count("Initializing distributed: GLOBAL_RANK: 1") == 2
    runs = sweep_runs(tmp_path)
    assert [name.rsplit("_", 1)[0] for name in runs] == ["classic_reconstruct_s0", "classic_reconstruct_s1"]
    for seed, run in enumerate(tmp_path / name for name in runs):
        assert json.loads((run / "metrics.json").read_text())["seed"] == seed
        assert (run / "train_ddp_process_1.log").is_file()
    assert len(list(tmp_path.iterdir())) == 3  # the two runs and multirun.yaml: no sweep of a child process
    ddp = json.loads((tmp_path / runs[0] / "metrics.json").read_text())
    assert ddp["sizes"]["test"] == 783 and ddp["epochs"] == 1
    checkpoint = tmp_path / runs[0] / ddp["best_checkpoint"]
    single = cli(f"ckpt_path={checkpoint}", f"hydra.run.dir={tmp_path / 'eval'}", script="eval.py")
    assert single.returncode == 0, single.stderr[-3000:]
    one = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert one["test_mse"] == pytest.approx(ddp["test_mse"], rel=1e-5)
    assert one["test_psnr"] == pytest.approx(ddp["test_psnr"], rel=1e-5)


def test_squeue_follows_a_slurm_job_through_the_states_it_passes_to_its_end(monkeypatch):
    """What squeue showed for a job signalled at its time limit, requeued and resumed (a local
    SLURM 22.05 under load): SIGNALING, COMPLETING, PENDING and CONFIGURING are a job under way,
    not an end (submitit's own list takes SIGNALING for one and fails the sweep for want of a result)."""
    slurm = pytest.importorskip("submitit.slurm.slurm")
    monkeypatch.setattr(slurm.SlurmJob, "watcher", slurm.SlurmJob.watcher)  # put back after the test
    watcher = follow_with_squeue()
    assert slurm.SlurmJob.watcher is watcher
    watcher.register_job("7")
    assert watcher._make_command() == ["squeue", "-h", "--states=all", "-o", "%i|%T|%N", "-j", "7"]
    seen = ["PENDING", "RUNNING", "SIGNALING", "RUNNING", "COMPLETING", "PENDING", "CONFIGURING", "RUNNING"]
    for state in seen:
        watcher._info_dict.update(watcher.read_info(f"7|{state}|vm\n"))
        assert not watcher.is_done("7", mode="cache"), f"a job in {state} was taken for finished"
    for state in ["COMPLETED", "FAILED", "CANCELLED by 0", "TIMEOUT", "OUT_OF_MEMORY"]:
        watcher._info_dict.update(watcher.read_info(f"7|{state}|vm\n"))
        assert watcher.is_done("7", mode="cache"), f"a job in {state} was taken for running"
