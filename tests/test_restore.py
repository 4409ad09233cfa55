"""The restoration tasks (conf/task: denoise, inpaint, superres; autoenc/model/degrade.py): degraded
inputs random in training and fixed per picture for validation and test, each scored against
its do-nothing baseline (the degraded input itself) and shown in the grids and the table."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import QUIET, compose_config
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from autoenc import UserError
from autoenc.model.degrade import fixed_normal, fixed_uniform, picture_seeds
from autoenc.model.tasks import TASKS, get_task, restores
from autoenc.report.table import make_table
from autoenc.training.fit import train

RESTORATION = [name for name in TASKS if restores(name)]

RGB = ((torch.rand(6, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 255).round() / 127.5 - 1).to(
    memory_format=torch.channels_last
)  # 8-bit pictures on [-1, 1], channels-last as training has them


@pytest.mark.parametrize("name", ["denoise", "inpaint"])
def test_noise_and_holes_are_fixed_per_picture_in_evaluation_and_random_in_training(name):
    task = get_task(name)
    x, y = task.split(RGB)
    assert torch.equal(y, RGB) and not torch.equal(x, RGB)
    order = torch.tensor([3, 0, 5, 1, 4, 2])
    assert torch.equal(task.split(RGB[order])[0], x[order])  # whatever the order or the batch
    assert torch.equal(task.split(RGB[2:3].contiguous())[0], x[2:3])
    first, second = task.split(RGB, fixed=False)[0], task.split(RGB, fixed=False)[0]
    assert not torch.equal(first, second) and not torch.equal(first, x)  # fresh in every training batch


def test_the_fixed_numbers_are_uniform_and_normal_and_differ_between_pictures():
    seeds = picture_seeds(RGB)
    assert len(set(seeds.tolist())) == 6 and seeds.min() >= 0 and seeds.max() < 2**32
    u = fixed_uniform(seeds, 20_000, salt=7)
    assert 0 < u.min() and u.max() < 1 and u.mean().item() == pytest.approx(0.5, abs=0.01)
    z = fixed_normal(seeds, 20_000, salt=1)
    assert z.mean().item() == pytest.approx(0, abs=0.02) and z.std().item() == pytest.approx(1, abs=0.02)
    assert not torch.allclose(z[0], z[1])


@pytest.mark.parametrize("fixed", [True, False])
def test_denoise_adds_noise_of_the_configured_sigma(fixed):
    gray = torch.zeros(64, 3, 32, 32) + torch.linspace(-0.2, 0.2, 64)[:, None, None, None]  # far from clipping
    x, _ = get_task("denoise", sigma=0.05).split(gray, fixed=fixed)
    assert (x - gray).std().item() == pytest.approx(2 * 0.05, rel=0.03)  # sigma on [0, 1]: 2 sigma on [-1, 1]
    assert x.min() >= -1 and x.max() <= 1


def test_inpaint_cuts_the_configured_holes():
    x, _ = get_task("inpaint", holes=1, size=8).split(RGB + 2)  # no pixel is 0 before: each hole is exactly 64
    holes = (x == 0).all(1)
    assert holes.sum((1, 2)).tolist() == [64] * 6
    assert len({tuple(h.nonzero()[0].tolist()) for h in holes}) > 1  # not the same place in every picture
    x, _ = get_task("inpaint", holes=3, size=4).split(RGB + 2)
    assert all(16 < n <= 48 for n in (x == 0).all(1).sum((1, 2)).tolist())  # 3 squares of 16, may overlap


def test_superres_sees_block_means_at_full_size_and_enlarges_a_users_picture():
    task = get_task("superres")
    x, y = task.split(RGB)
    assert x.shape == y.shape == RGB.shape
    torch.testing.assert_close(F.avg_pool2d(x, 2).mean(), F.avg_pool2d(RGB, 2).mean(), atol=1e-3, rtol=0)
    flat = torch.full((1, 3, 32, 32), 0.25)
    torch.testing.assert_close(task.split(flat)[0], flat)  # nothing to lose in a flat picture
    assert task.input_from_picture(RGB[:, :, :16, :20]).shape == (6, 3, 32, 40)  # a picture: enlarged 2x
    assert get_task("superres", factor=4).input_from_picture(RGB[:1, :, :8, :8]).shape == (1, 3, 32, 32)


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("denoise", {"sigma": 0}, r"task.sigma=0: must be a noise level in \(0, 1\]"),
        ("inpaint", {"holes": -1}, "task.holes=-1: must be a positive integer"),
        ("superres", {"factor": 1}, "task.factor=1: must be an integer of at least 2"),
        ("inpaint", {"sigma": 0.1}, "task.sigma is not a setting of task=inpaint; its settings: task.holes, task.size"),
        ("y2uv", {"sigma": 0.1}, "task.sigma is not a setting of task=y2uv; its settings: task.saturation"),
    ],
)
def test_a_bad_setting_is_one_line_that_says_what_is_valid(name, options, message):
    with pytest.raises(UserError, match=message) as refused:
        get_task(name, **options)
    assert "\n" not in str(refused.value)


def test_a_bad_setting_stops_train_before_anything_is_written(make_cfg, tmp_path):
    with pytest.raises(UserError, match="task.size=0"):
        train(make_cfg("task=inpaint", "task.size=0", f"output_dir={tmp_path / 'run'}", *QUIET))
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("name", RESTORATION)
def test_each_restoration_task_trains_and_reports_its_baseline(tmp_path, name):
    sweep = tmp_path / "sweep"
    run = sweep / name
    metrics = train(compose_config("config", run, "dataset=photos", "trainer=debug", f"task={name}", *QUIET))
    assert metrics["task"] == name and metrics["test_input_mse_rgb"] > 0
    assert metrics["test_input_psnr"] > 10 and metrics["test_mse"] == pytest.approx(metrics["test_mse_rgb"], rel=1e-4)
    events = EventAccumulator(str(run / "tb"))
    events.Reload()
    assert "val/input_prediction_target" in events.Tags()["images"]
    assert json.loads((run / "metrics.json").read_text())["test_input_ssim"] < 1
    table = make_table([sweep])
    row = next(line for line in table.splitlines() if f"| {name} |" in line)
    assert f"{metrics['test_input_mse_rgb']:.5f}" in row  # the do-nothing baseline beside the network's MSE
    assert "the degraded input itself" in table
    # its strip holds the degraded test pictures, the network's restorations and the pictures themselves
    from autoenc.report.baseline import load_test_split
    from autoenc.report.plots import plot_strips
    from autoenc.report.table import collect

    strip = plot_strips(tmp_path, collect(sweep)[0])[name]
    inputs, predictions, truth = (torch.from_numpy(np.stack(row)) for row in strip["rows"])
    rgb = load_test_split(run, 8)
    degraded = get_task(name).split(rgb)[0].clamp(-1, 1)
    torch.testing.assert_close(inputs, ((degraded + 1) / 2).permute(0, 2, 3, 1), atol=1e-6, rtol=0)
    torch.testing.assert_close(truth, ((rgb + 1) / 2).permute(0, 2, 3, 1), atol=1e-6, rtol=0)
    assert not torch.allclose(predictions, inputs) and not torch.allclose(predictions, truth)


@pytest.mark.slow
def test_a_denoiser_beats_doing_nothing(tmp_path):
    metrics = train(
        compose_config(
            "config", tmp_path, "dataset=photos", "task=denoise", "task.sigma=0.2", "trainer.max_epochs=3", *QUIET
        )
    )
    assert metrics["test_mse_rgb"] < 0.7 * metrics["test_input_mse_rgb"]
    assert metrics["test_psnr"] > metrics["test_input_psnr"] + 1
