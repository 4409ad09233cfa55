"""conf/scheduler and early_stopping: each schedule moves the learning rate as torch's scheduler
does over exactly the run's optimizer steps (blocks of steps included), a bad setting is one
line, a run stops early when val/mse stops improving; make_table keeps schedules apart."""

import pytest
import torch
from conftest import QUIET, compose_config
from torch.optim.lr_scheduler import CosineAnnealingLR, OneCycleLR

from autoenc import UserError
from autoenc.report.table import aggregate
from autoenc.training.config import read_config
from autoenc.training.fit import train

SHORT = ("dataset=photos", "trainer=debug", "trainer.limit_train_batches=5", *QUIET)


def final_lr(run) -> float:
    state = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    return state["optimizer_states"][0]["param_groups"][0]["lr"]


def torch_lr_after(name: str, steps: int, length: int) -> float:
    """torch's own learning rate after `steps` steps of a schedule `length` long (conf/scheduler's settings)."""
    optimizer = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1e-3)
    schedulers = {
        "cosine": lambda: CosineAnnealingLR(optimizer, T_max=length),
        "onecycle": lambda: OneCycleLR(optimizer, 1e-3, total_steps=length, pct_start=0.3),
    }
    scheduler = schedulers[name]()
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
    return optimizer.param_groups[0]["lr"]


@pytest.mark.parametrize("blocks", [1, 2])
def test_cosine_and_onecycle_follow_torch_over_exactly_the_runs_steps(tmp_path, blocks):
    """5 batches an epoch (in blocks of 2: 2, 2, 1) for 3 epochs: 15 optimizer steps, and a schedule
    of the same length (one step too many would raise in OneCycleLR; a wrong length ends elsewhere)."""
    for name in ("cosine", "onecycle"):
        run = tmp_path / f"{name}{blocks}"
        metrics = train(
            compose_config(
                "config", run, *SHORT, "trainer.max_epochs=3", f"scheduler={name}", f"speed.steps_per_call={blocks}"
            )
        )
        assert metrics["scheduler"] == name and metrics["epochs"] == 3
        steps = 15
        assert final_lr(run) == pytest.approx(torch_lr_after(name, steps, length=steps), rel=1e-9)
        assert final_lr(run) != pytest.approx(torch_lr_after(name, steps, length=steps + 1), rel=1e-3)


def test_plateau_lowers_the_rate_when_val_mse_stops_improving(tmp_path):
    """threshold=10 (relative): no epoch counts as an improvement, so with patience 0 every epoch halves it."""
    run = tmp_path / "plateau"
    train(
        compose_config(
            "config",
            run,
            *SHORT,
            "trainer.max_epochs=3",
            "scheduler=plateau",
            "scheduler.patience=0",
            "+scheduler.threshold=10",
        )
    )
    assert final_lr(run) == pytest.approx(1e-3 * 0.5**3)
    state = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["lr_schedulers"][0]["num_bad_epochs"] == 0 and state["lr_schedulers"][0]["factor"] == 0.5


def test_the_default_keeps_the_studys_constant_rate(tmp_path):
    metrics = train(compose_config("config", tmp_path, *SHORT, "trainer.max_epochs=2"))
    assert metrics["scheduler"] == "none" and final_lr(tmp_path) == 1e-3


def test_early_stopping_ends_the_run_when_val_mse_stops_improving(tmp_path):
    """min_delta=1: no epoch improves on the first by that much, so patience 1 stops after epoch 2 of 6."""
    metrics = train(
        compose_config(
            "config",
            tmp_path,
            *SHORT,
            "trainer.max_epochs=6",
            "early_stopping.patience=1",
            "early_stopping.min_delta=1.0",
        )
    )
    assert metrics["epochs"] == 2 and metrics["max_epochs"] == 6 and len(metrics["history"]["val_mse"]) == 2


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["scheduler=cosine", "scheduler.interval=hour"], "scheduler.interval='hour': must be step or epoch"),
        (["scheduler=cosine", "scheduler.frequency=0"], "scheduler.frequency=0: must be a positive integer"),
        (["scheduler=plateau", "scheduler.monitor=test/mse"], "scheduler.monitor='test/mse': must be one of val/mse"),
        (["scheduler=cosine", "+scheduler.T_maxx=3"], "scheduler=cosine: .*T_maxx"),
        (["scheduler=plateau", "scheduler.factor=2.0"], "scheduler=plateau: Factor should be < 1.0"),
        (["early_stopping.patience=0"], "early_stopping.patience=0: must be a positive integer, or null"),
    ],
)
def test_a_bad_schedule_setting_is_one_line_before_anything_is_built(make_cfg, overrides, message):
    with pytest.raises(UserError, match=message):
        read_config(make_cfg(*overrides))


def test_a_schedule_and_a_cuda_graph_are_refused_together(make_cfg, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with pytest.raises(UserError, match="a captured step keeps the learning rate"):
        read_config(
            make_cfg(
                "trainer.accelerator=gpu", "trainer.precision=32-true", "speed.cuda_graph=true", "scheduler=onecycle"
            )
        )
    # auto, the default, captures where it can: with a schedule it trains without graphs, and says nothing
    gpu = ("trainer.accelerator=gpu", "trainer.precision=32-true")
    assert not read_config(make_cfg(*gpu, "scheduler=onecycle")).speed.cuda_graph
    assert read_config(make_cfg(*gpu)).speed.cuda_graph  # one GPU, fp32, the constant rate: captured
    assert not read_config(make_cfg(*gpu, "trainer=ddp", "trainer.accelerator=gpu")).speed.cuda_graph
    assert not read_config(make_cfg("trainer.accelerator=cpu")).speed.cuda_graph  # the CPU: never


def test_make_table_keeps_schedules_apart():
    run = {
        "arch": "classic",
        "task": "y2uv",
        "dataset": "photos",
        "epochs": 15,
        "lr": 1e-3,
        "latent_size": 1024,
        "params": 1,
        "test_mse": 0.01,
    }
    rows = aggregate(
        [{**run, "seed": 0}, {**run, "seed": 1}, {**run, "seed": 0, "scheduler": "cosine", "test_mse": 0.02}]
    )
    assert [(r["scheduler"], r["seeds"], r["study_mse"]) for r in rows] == [("none", 2, None), ("cosine", 1, None)]
