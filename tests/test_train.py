import io
import json
import math

import numpy as np
import pytest
import torch
from conftest import QUIET
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from autoenc import UserError
from autoenc.data.datamodule import ImageDataModule
from autoenc.model.tasks import to_unit_rgb
from autoenc.training.fit import train
from autoenc.training.module import AutoEncoder

KEYS = {
    "arch",
    "widths",
    "kernel_size",
    "block",
    "task",
    "dataset",
    "seed",
    "epochs",
    "latent_size",
    "latent_shape",
    "params",
    "test_mse",
    "test_mse_rgb",
    "test_psnr",
    "best_val_mse",
    "train_seconds",
    "history",
}


def test_short_training_learns_and_writes_every_output(make_cfg, tmp_path):
    cfg = make_cfg("dataset=photos", "trainer.max_epochs=3", "trainer.precision=32-true", *QUIET)  # exact checks
    metrics = train(cfg)

    assert KEYS <= metrics.keys()
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    assert metrics["arch"] == "classic" and metrics["widths"] == [8, 12, 16] and metrics["epochs"] == 3
    assert metrics["latent_size"] == 1024 and metrics["latent_shape"] == [16, 8, 8] and metrics["params"] == 4911
    train_mse, val_mse = metrics["history"]["train_mse"], metrics["history"]["val_mse"]
    assert len(train_mse) == len(val_mse) == 3
    assert val_mse[-1] < 0.7 * val_mse[0] and train_mse[-1] < train_mse[0]
    assert metrics["best_val_mse"] == pytest.approx(min(val_mse))
    assert 0 < metrics["test_mse"] < 0.05 and metrics["test_mse_rgb"] == pytest.approx(metrics["test_mse"])
    # mean per-image PSNR >= PSNR of the mean MSE (Jensen); [-1, 1] -> [0, 1] divides MSE by 4
    assert metrics["test_psnr"] >= 10 * math.log10(4 / metrics["test_mse_rgb"]) - 1e-3
    assert metrics["train_seconds"] > 0

    assert (tmp_path / "checkpoints" / "best.ckpt").is_file() and (tmp_path / "checkpoints" / "last.ckpt").is_file()
    events = EventAccumulator(str(tmp_path / "tb"), size_guidance={"images": 0})
    events.Reload()
    assert {"train/mse", "val/mse", "test/mse", "test/psnr"} <= set(events.Tags()["scalars"])
    assert {"train/lr", "train/images_per_s", "val/best_mse", "train/seconds"} <= set(events.Tags()["scalars"])
    grids = events.Images("val/input_prediction_target")
    assert len(grids) == 3 and grids[0].width == 8 * 34 + 2 and grids[0].height == 3 * 34 + 2
    # the same validation pictures every epoch: the input and target rows do not change, the prediction does
    first, last = (np.asarray(Image.open(io.BytesIO(g.encoded_image_string))) for g in (grids[0], grids[-1]))
    rows = [slice(2, 34), slice(36, 68), slice(70, 102)]  # input | prediction | target, 2-pixel padding
    assert (first[rows[0]] == last[rows[0]]).all() and (first[rows[2]] == last[rows[2]]).all()
    assert not (first[rows[1]] == last[rows[1]]).all()

    # the reported test MSE is the best checkpoint's, and the checkpoint rebuilds from itself alone
    model = AutoEncoder.load_from_checkpoint(tmp_path / "checkpoints" / "best.ckpt", map_location="cpu").eval()
    data = ImageDataModule(**cfg.dataset)
    data.setup()
    with torch.no_grad():
        x, y = model.task.split(to_unit_rgb(data.test_set))
        assert torch.mean((model(x) - y) ** 2).item() == pytest.approx(metrics["test_mse"], rel=1e-4)


def test_colorisation_reports_task_and_rgb_space(make_cfg):
    metrics = train(make_cfg("dataset=photos", "task=y2uv", "arch=4-6-8", "trainer=debug", *QUIET))
    assert metrics["task"] == "y2uv" and metrics["latent_size"] == 512
    assert 0 < metrics["test_mse"] < 0.5 and 0 < metrics["test_mse_rgb"] < 1
    assert metrics["test_mse_rgb"] != pytest.approx(metrics["test_mse"])


def test_divergence_stops_without_a_result(make_cfg, tmp_path):
    with pytest.raises(UserError, match="diverged: the loss is (nan|inf) at epoch 0, step [0-9]"):
        train(make_cfg("dataset=photos", "optimizer=sgd", "optimizer.lr=1e6", "trainer=debug", *QUIET))
    assert not (tmp_path / "metrics.json").exists()


@pytest.mark.parametrize(
    "override,words",
    [
        ("optimizer.lr=0", "optimizer.lr=0"),
        ("optimizer.lr=-1e-3", "positive"),
        ("trainer.max_epochs=0", "max_epochs"),
        ("arch.kernel_size=4", "odd"),
        ("arch.widths=[8,8,8,8,8,8,8]", "divisible"),
    ],
)
def test_impossible_numbers_fail_before_anything_is_written(make_cfg, tmp_path, override, words):
    with pytest.raises(UserError, match=words):
        train(make_cfg("dataset=photos", override))
    assert list(tmp_path.iterdir()) == []
