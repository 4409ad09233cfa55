"""Runs that die, and bad input: each case one clear message and a non-zero exit."""

import json
import signal
import subprocess
import sys
import time

import pytest
from conftest import QUIET, ROOT

from autoenc import UserError
from autoenc.train import train


def cli(*args: str, script: str = "train.py") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / script), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)  # fmt: skip


@pytest.mark.slow
def test_kill_9_mid_run_then_the_same_command_resumes_to_the_same_result(tmp_path):
    args = ["dataset=photos", "trainer.max_epochs=3", "trainer.limit_train_batches=30", "trainer.precision=32-true",
            "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]  # fmt: skip
    whole = cli(*args, f"hydra.run.dir={tmp_path / 'whole'}")
    assert whole.returncode == 0, whole.stderr
    run = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, str(ROOT / "train.py"), *args, f"hydra.run.dir={run}"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    last = run / "checkpoints" / "last.ckpt"
    deadline = time.time() + 120
    while not last.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)  # into the second epoch
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert last.exists() and not (run / "metrics.json").exists()
    again = cli(*args, f"hydra.run.dir={run}")
    assert again.returncode == 0, again.stderr
    assert "resuming from" in again.stdout
    resumed, reference = (json.loads((d / "metrics.json").read_text()) for d in (run, tmp_path / "whole"))
    assert resumed["resumed_from"].endswith("last.ckpt") and resumed["epochs"] == 3
    assert resumed["test_mse"] == pytest.approx(reference["test_mse"], abs=1e-6)
    assert resumed["history"] == pytest.approx(reference["history"], abs=1e-6)
    # run once more: finished, so nothing is retrained
    third = cli(*args, f"hydra.run.dir={run}")
    assert third.returncode == 0 and "already holds a finished run" in third.stdout
    assert "Epoch" not in third.stderr


def test_retrain_sets_the_earlier_result_aside(make_cfg, tmp_path):
    first = train(make_cfg("dataset=photos", "trainer=debug", *QUIET))
    again = train(make_cfg("dataset=photos", "trainer=debug", *QUIET))
    assert again == first  # finished: returned, not retrained
    train(make_cfg("dataset=photos", "trainer=debug", "retrain=true", *QUIET))
    aside = list(tmp_path.glob("replaced_*"))
    assert len(aside) == 1 and (aside[0] / "metrics.json").is_file() and (aside[0] / "checkpoints").is_dir()


def test_explicit_ckpt_path_resumes(make_cfg, tmp_path):
    train(make_cfg("dataset=photos", "trainer=debug", *QUIET))
    last = tmp_path / "checkpoints" / "last.ckpt"
    resumed = train(make_cfg("dataset=photos", "trainer=debug", "trainer.max_epochs=2", f"ckpt_path={last}",
                             f"output_dir={tmp_path / 'more'}", *QUIET))  # fmt: skip
    assert resumed["epochs"] == 2 and resumed["resumed_from"] == str(last)


@pytest.mark.parametrize(
    "args,words",
    [
        (["arch=nope"], "Available options in 'arch'"),
        (["task=sepia"], "Available options in 'task'"),
        (["dataset=mnist"], "Available options in 'dataset'"),
        (["optimizer=lion"], "Available options in 'optimizer'"),
        (["arch.kernel_size=4"], "arch.kernel_size=4: must be a positive odd number"),
        (["arch.kernel_size=-3"], "arch.kernel_size=-3"),
        (["arch.widths=[8,8,8,8,8,8,8]"], "divisible by 64"),
        (["optimizer.lr=0"], "optimizer.lr=0: must be a positive number"),
        (["optimizer.lr=-0.1"], "optimizer.lr=-0.1"),
        (["dataset.batch_size=0"], "dataset.batch_size=0: must be a positive integer"),
        (["dataset=images"], "dataset=images needs dataset.root"),
        (["dataset=images", "dataset.root=/nonexistent/pictures"], "is not a folder of pictures"),
        (["dataset=cifar10", "dataset.download=false", "dataset.root=/nonexistent"], "CIFAR-10 not found"),
        (["ckpt_path=/nonexistent.ckpt"], "no such checkpoint"),
    ],
)
def test_bad_input_matrix(tmp_path, args, words):
    r = cli("dataset=photos", *args, f"hydra.run.dir={tmp_path / 'run'}")
    assert r.returncode != 0
    assert words in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_empty_folder_and_corrupt_image(tmp_path):
    (tmp_path / "pictures").mkdir()
    r = cli("dataset=images", f"dataset.root={tmp_path / 'pictures'}", f"hydra.run.dir={tmp_path / 'run'}")
    assert r.returncode == 1 and "gave 0 tiles" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "pictures" / "bad.png").write_bytes(b"\x89PNG broken")
    r = cli("dataset=images", f"dataset.root={tmp_path / 'pictures'}", "dataset.on_error=raise",
            f"hydra.run.dir={tmp_path / 'run'}")  # fmt: skip
    assert r.returncode == 1 and "cannot read picture" in r.stderr and "bad.png" in r.stderr


def test_unwritable_output_dir(make_cfg, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    cfg = make_cfg("dataset=photos", "trainer=debug")
    cfg.output_dir = str(tmp_path / "file" / "run")
    with pytest.raises(UserError, match="cannot write to the output dir"):
        train(cfg)


def test_checkpoint_of_the_wrong_arch(y2uv_run, tmp_path):
    r = cli(f"ckpt_path={y2uv_run}/checkpoints/best.ckpt", "arch=32-48-64_single", "task=y2uv", "dataset=photos",
            f"hydra.run.dir={tmp_path / 'run'}")  # fmt: skip
    assert r.returncode == 1 and "Traceback" not in r.stderr and "does not fit" in r.stderr
