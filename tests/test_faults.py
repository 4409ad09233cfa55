"""Runs that die, and bad input: each case one clear message and a non-zero exit."""

import errno
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import torch
from conftest import QUIET, ROOT, compose_config
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from autoenc import UserError
from autoenc.training.fit import train


def cli(*args: str, script: str = "train.py") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / script), *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


# A short deterministic run, used by the tests that kill, lock and resume it
RUN_ARGS = [
    "dataset=photos",
    "trainer.max_epochs=3",
    "trainer.limit_train_batches=30",
    "trainer.precision=32-true",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]


@pytest.fixture(scope="module")
def lone_run(tmp_path_factory) -> dict:
    """metrics.json of RUN_ARGS trained alone, uninterrupted: what every other way must equal."""
    out = tmp_path_factory.mktemp("lone")
    return train(compose_config("config", out, *RUN_ARGS))  # in this process: the same training, one start less


def start(run) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), *RUN_ARGS, f"hydra.run.dir={run}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(path, proc, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not (path.exists() and path.stat().st_size) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert path.exists() and path.stat().st_size, f"{path} never appeared"


def assert_same_result(metrics: dict, reference: dict) -> None:
    assert metrics["epochs"] == reference["epochs"]
    assert metrics["test_mse"] == pytest.approx(reference["test_mse"], abs=1e-6)
    assert metrics["history"].keys() == reference["history"].keys()
    for key, values in reference["history"].items():
        assert metrics["history"][key] == pytest.approx(values, abs=1e-6), key


@pytest.mark.slow
def test_kill_9_mid_run_then_the_same_command_resumes_to_the_same_result(tmp_path, lone_run):
    run = tmp_path / "killed"
    proc = start(run)
    last = run / "checkpoints" / "last.ckpt"
    wait_for(last, proc)
    time.sleep(0.3)  # into the second epoch
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert last.exists() and not (run / "metrics.json").exists()
    assert str(proc.pid) in (run / ".lock").read_text()  # the killed run's lock is left behind
    again = cli(*RUN_ARGS, f"hydra.run.dir={run}")
    assert again.returncode == 0, again.stderr
    assert f"taking over a stale lock in {run} (pid {proc.pid}" in again.stdout
    assert "resuming from" in again.stdout
    resumed = json.loads((run / "metrics.json").read_text())
    assert resumed["resumed_from"].endswith("last.ckpt")
    assert_same_result(resumed, lone_run)
    # TensorBoard: one curve per metric, each epoch once, as an uninterrupted run's (no duplicate, no restart)
    events = EventAccumulator(str(run / "tb"))
    events.Reload()
    for key in ("train_mse", "val_mse"):
        points = events.Scalars(key.replace("_", "/"))
        steps = [p.step for p in points]
        assert steps == sorted(set(steps)) and len(steps) == 3, (key, steps)
        assert [p.value for p in points] == pytest.approx(lone_run["history"][key], rel=1e-6)
    # run once more: finished, so nothing is retrained
    third = cli(*RUN_ARGS, f"hydra.run.dir={run}")
    assert third.returncode == 0 and "already holds a finished run" in third.stdout
    assert "Epoch" not in third.stderr and "stale" not in third.stdout  # a run that ended leaves no stale lock


@pytest.mark.slow
def test_the_same_command_twice_at_once_the_second_one_stops(tmp_path, lone_run):
    run = tmp_path / "run"
    first = start(run)
    wait_for(run / ".lock", first)  # the first one holds the folder
    first.send_signal(signal.SIGSTOP)  # and stays in the middle of its run while the second one starts
    try:
        before = {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()}
        second = cli(*RUN_ARGS, f"hydra.run.dir={run}")
        after = {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file() and p.name != "train.log"}
    finally:
        first.send_signal(signal.SIGCONT)
    assert second.returncode == 1
    message = second.stderr.strip().splitlines()
    assert len(message) == 1 and message[0].startswith(f"error: {run} is in use: a run is in progress there ")
    assert f"(pid {first.pid} on host {socket.gethostname()}, since " in message[0]
    assert "Wait for it to finish" in second.stderr and "Traceback" not in second.stderr
    assert after == {p: t for p, t in before.items() if p.name != "train.log"}  # nothing of the first touched
    assert first.wait(timeout=300) == 0, first.stderr.read()
    assert_same_result(json.loads((run / "metrics.json").read_text()), lone_run)


def test_a_damaged_last_checkpoint_is_set_aside_and_the_run_resumes_from_best(make_cfg, tmp_path, capsys):
    args = ("dataset=photos", "trainer=debug", "trainer.max_epochs=2", *QUIET)
    train(make_cfg(*args))
    (tmp_path / "metrics.json").unlink()  # as if killed before the end
    last = tmp_path / "checkpoints" / "last.ckpt"
    intact = last.read_bytes()
    last.write_bytes(intact[: len(intact) // 2])  # truncated: a full disk, a bad copy
    capsys.readouterr()
    metrics = train(make_cfg(*args))
    said = capsys.readouterr().out
    assert re.search(
        r"last\.ckpt is damaged \(.+\): set aside as last\.ckpt\.damaged-[0-9_-]+; "
        r"resuming from best\.ckpt \(after epoch [12]\)",
        said,
    ), said
    aside = list(last.parent.glob("last.ckpt.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == intact[: len(intact) // 2]  # kept, never deleted
    assert metrics["epochs"] == 2 and metrics["resumed_from"].endswith("best.ckpt")
    assert json.loads((tmp_path / "metrics.json").read_text())["test_mse"] == metrics["test_mse"]


def test_no_intact_checkpoint_left_starts_over(make_cfg, tmp_path, capsys):
    args = ("dataset=photos", "trainer=debug", *QUIET)
    train(make_cfg(*args))
    (tmp_path / "metrics.json").unlink()
    (tmp_path / "checkpoints" / "best.ckpt").unlink()
    (tmp_path / "checkpoints" / "last.ckpt").write_bytes(b"PK\x03\x04 not a whole checkpoint")
    capsys.readouterr()
    metrics = train(make_cfg(*args))
    assert "no intact checkpoint left: training from the start" in capsys.readouterr().out
    assert metrics["resumed_from"] is None and metrics["epochs"] == 1


def test_a_full_disk_stops_the_run_and_keeps_the_previous_checkpoint(make_cfg, tmp_path, monkeypatch):
    real_save, calls = torch.save, []

    def save(obj, path, *args, **kwargs):  # the first epoch's two checkpoints fit, then the disk is full
        calls.append(path)
        if len(calls) > 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save)
    with pytest.raises(
        UserError, match=r"^could not write checkpoint .*/checkpoints/\w+\.ckpt: No space left on device$"
    ):
        train(make_cfg("dataset=photos", "trainer=debug", "trainer.max_epochs=2", *QUIET))
    monkeypatch.undo()
    checkpoints = tmp_path / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["best.ckpt", "last.ckpt"]  # no .tmp left behind
    assert torch.load(checkpoints / "last.ckpt", weights_only=True)["epoch"] == 0  # the previous one, intact
    assert not (tmp_path / "metrics.json").exists()


def test_retrain_sets_the_earlier_result_aside(make_cfg, tmp_path):
    first = train(make_cfg("dataset=photos", "trainer=debug", *QUIET))
    again = train(make_cfg("dataset=photos", "trainer=debug", *QUIET))
    assert again == first  # finished: returned, not retrained
    train(make_cfg("dataset=photos", "trainer=debug", "retrain=true", *QUIET))
    aside = list(tmp_path.glob("replaced_*"))
    assert len(aside) == 1 and (aside[0] / "metrics.json").is_file() and (aside[0] / "checkpoints").is_dir()
    assert (aside[0] / ".hydra" / "config.yaml").is_file() and (aside[0] / "tb").is_dir()  # its record goes along


def test_explicit_ckpt_path_resumes(make_cfg, tmp_path):
    train(make_cfg("dataset=photos", "trainer=debug", *QUIET))
    last = tmp_path / "checkpoints" / "last.ckpt"
    resumed = train(
        make_cfg(
            "dataset=photos",
            "trainer=debug",
            "trainer.max_epochs=2",
            f"ckpt_path={last}",
            f"output_dir={tmp_path / 'more'}",
            *QUIET,
        )
    )
    assert resumed["epochs"] == 2 and resumed["resumed_from"] == str(last)


# Bad input as a user types it: each case a train.py process (the one-line answer and the exit status
# are the point), all started at once by the fixture below, a few at a time; {root} is the fixture's
# folder of prepared inputs, {run} a trained y2uv run
BAD_INPUT = {
    "unknown arch": (["arch=nope"], "Available options in 'arch'"),
    "unknown task": (["task=sepia"], "Available options in 'task'"),
    "unknown dataset": (["dataset=mnist"], "Available options in 'dataset'"),
    "unknown optimizer": (["optimizer=lion"], "Available options in 'optimizer'"),
    "even kernel": (["arch.kernel_size=4"], "arch.kernel_size=4: must be a positive odd number"),
    "negative kernel": (["arch.kernel_size=-3"], "arch.kernel_size=-3"),
    "too many pools": (["arch.widths=[8,8,8,8,8,8,8]"], "divisible by 64"),
    "lr zero": (["optimizer.lr=0"], "optimizer.lr=0: must be a positive number"),
    "foreign optimizer": (["optimizer._target_=builtins.print"], "optimizer _target_='builtins.print' is not allowed"),
    "lr negative": (["optimizer.lr=-0.1"], "optimizer.lr=-0.1"),
    "batch zero": (["dataset.batch_size=0"], "dataset.batch_size=0: must be a positive integer"),
    "images without root": (["dataset=images"], "dataset=images needs dataset.root"),
    "no such folder": (["dataset=images", "dataset.root=/nonexistent/pictures"], "is not a folder of pictures"),
    "cifar10 absent": (
        ["dataset=cifar10", "dataset.download=false", "dataset.root=/nonexistent"],
        "CIFAR-10 not found",
    ),
    "no such checkpoint": (["ckpt_path=/nonexistent.ckpt"], "no such checkpoint"),
    "empty folder": (["dataset=images", "dataset.root={root}/empty"], "gave 0 tiles"),
    "corrupt picture": (
        ["dataset=images", "dataset.root={root}/broken", "dataset.on_error=raise"],
        "cannot read picture",
    ),
    "checkpoint of another arch": (
        ["ckpt_path={run}/checkpoints/best.ckpt", "arch=32-48-64_single", "task=y2uv"],
        "does not fit",
    ),
}


@pytest.fixture(scope="module")
def answers(tmp_path_factory, y2uv_run) -> dict[str, tuple[subprocess.CompletedProcess, object]]:
    """Every BAD_INPUT case run as `python train.py dataset=photos <args>`, four processes at a time."""
    from concurrent.futures import ThreadPoolExecutor

    root = tmp_path_factory.mktemp("bad_input")
    (root / "empty").mkdir()
    (root / "broken").mkdir()
    (root / "broken" / "bad.png").write_bytes(b"\x89PNG broken")

    def answer(case: str):
        args = [a.format(root=root, run=y2uv_run) for a in BAD_INPUT[case][0]]
        return cli("dataset=photos", *args, f"hydra.run.dir={root / 'runs' / case}"), root / "runs" / case

    with ThreadPoolExecutor(4) as pool:
        return dict(zip(BAD_INPUT, pool.map(answer, BAD_INPUT), strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_is_one_clear_message_and_no_result(answers, case):
    r, run = answers[case]
    assert r.returncode == 1
    assert BAD_INPUT[case][1] in r.stderr and "Traceback" not in r.stderr
    assert not (run / "metrics.json").exists()
    if case == "corrupt picture":
        assert "bad.png" in r.stderr  # names the file


def test_unwritable_output_dir(make_cfg, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    cfg = make_cfg("dataset=photos", "trainer=debug")
    cfg.output_dir = str(tmp_path / "file" / "run")
    with pytest.raises(UserError, match="cannot write to the output dir"):
        train(cfg)
