"""speed.steps_per_call (autoenc/speed/blocks.py): blocks of batches per Lightning call, while everything
a user counts in batches (limits, validation interval, progress bar) still counts batches."""

import pytest
import torch
from conftest import QUIET
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from autoenc import UserError
from autoenc.data.batches import Batches
from autoenc.speed.blocks import AUTO_STEPS_PER_CALL, in_calls, resolve_steps_per_call
from autoenc.training.fit import train


def test_auto_takes_blocks_unless_the_trainer_counts_steps_that_blocks_cannot_keep():
    assert resolve_steps_per_call("auto", {}) == AUTO_STEPS_PER_CALL == 16
    assert resolve_steps_per_call("auto", {"val_check_interval": 32}) == 16  # a multiple of the block
    assert resolve_steps_per_call("auto", {"val_check_interval": 0.5}) == 16  # a fraction of the epoch
    assert resolve_steps_per_call("auto", {"val_check_interval": 10}) == 1
    assert resolve_steps_per_call("auto", {"max_steps": 100}) == 1
    assert resolve_steps_per_call("auto", {"max_steps": -1}) == 16
    assert resolve_steps_per_call(4, {"val_check_interval": 12}) == 4


@pytest.mark.parametrize(
    ("setting", "trainer", "message"),
    [
        ("fast", {}, "must be auto or a positive integer"),
        (0, {}, "must be auto or a positive integer"),
        (4, {"val_check_interval": 10}, "trainer.val_check_interval=10"),
        (4, {"max_steps": 50}, "trainer.max_steps=50"),
    ],
)
def test_a_block_that_cannot_be_kept_is_refused_in_one_line(setting, trainer, message):
    with pytest.raises(UserError, match=message) as refused:
        resolve_steps_per_call(setting, trainer)
    assert "\n" not in str(refused.value)


def test_batch_counts_become_call_counts_and_the_data_takes_the_limit():
    trainer = {"limit_train_batches": 40, "val_check_interval": 32, "log_every_n_steps": 50, "max_epochs": 2}
    args, limit = in_calls(trainer, 16)
    assert limit == 40 and "limit_train_batches" not in args
    assert args == {"val_check_interval": 2, "log_every_n_steps": 4, "max_epochs": 2}
    args, limit = in_calls({"limit_train_batches": 0.25, "val_check_interval": 0.5}, 1)
    assert (args, limit) == ({"val_check_interval": 0.5}, 0.25)


@pytest.mark.parametrize(("limit", "sizes"), [(5, [[64] * 4, [64]]), (0.5, [[64] * 4] * 2), (1.0, None)])
def test_a_limit_counts_batches_not_blocks(limit, sizes):
    images = torch.arange(1000).reshape(1000, 1)  # 16 batches: 15 of 64 and one of 40
    grouped = Batches(images, 64, shuffle=True, seed=3, group=4, limit=limit)
    blocks = [[len(batch) for batch in block] for block in grouped]
    assert blocks == (sizes or [[64] * 4] * 3 + [[64] * 3 + [40]]) and len(grouped) == len(blocks)
    single = list(Batches(images, 64, shuffle=True, seed=3, limit=limit))
    assert len(single) == grouped.num_batches() == sum(map(len, blocks))
    flat = [batch for block in grouped for batch in block]
    assert all(torch.equal(a, b) for a, b in zip(flat, single, strict=True))  # the same batches, in order


@pytest.mark.parametrize("limit", [0, -3, 1.5, "all"])
def test_an_impossible_limit_is_refused_in_one_line(make_cfg, tmp_path, limit):
    with pytest.raises(UserError, match=f"trainer.limit_train_batches={limit}: must be"):
        train(make_cfg("dataset=photos", f"trainer.limit_train_batches={limit}", *QUIET))


def test_blocks_keep_the_limit_the_validation_interval_and_the_updates(make_cfg, tmp_path):
    """auto (blocks of 16) against one step a call: 40 batches an epoch, validation after 32 of them."""
    args = (
        "dataset=photos",
        "trainer.max_epochs=2",
        "trainer.limit_train_batches=40",
        "trainer.precision=32-true",
        "+trainer.val_check_interval=32",
        *QUIET,
    )
    one = train(make_cfg(*args, "speed.steps_per_call=1", f"output_dir={tmp_path / 'one'}"))
    block = train(make_cfg(*args, f"output_dir={tmp_path / 'block'}"))
    assert len(one["history"]["val_mse"]) == len(block["history"]["val_mse"]) == 2  # at batch 32 of each epoch
    assert block["history"]["val_mse"] == pytest.approx(one["history"]["val_mse"], rel=1e-5)
    assert block["test_mse"] == pytest.approx(one["test_mse"], rel=1e-5)
    steps = [
        torch.load(tmp_path / d / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
        for d in ("one", "block")
    ]
    assert steps == [72, 72]  # last.ckpt: written at the last validation, after 40 + 32 optimizer steps
    for run in ("one", "block"):  # TensorBoard's axis counts batches: validation after 32 and 72 of them
        events = EventAccumulator(str(tmp_path / run / "tb"))
        events.Reload()
        assert [e.step for e in events.Scalars("val/mse")] == [32, 72]
        assert [e.step for e in events.Scalars("train/mse")] == [40, 80]
        assert [e.step for e in events.Images("val/input_prediction_target")] == [32, 72]


def test_the_progress_bar_counts_batches(make_cfg, tmp_path, capfd):
    cfg = make_cfg(
        "dataset=photos",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=40",
        "trainer.accelerator=cpu",
        "trainer.enable_model_summary=false",
    )
    train(cfg)
    err = "".join(capfd.readouterr())  # Lightning draws its bars on stdout, warns on stderr
    assert "| 40/40 [" in err and "| 3/3 [" not in err  # 40 batches, in 3 calls of up to 16
    assert "smaller than the logging interval" not in err  # autoenc logs per epoch: no warning about steps
