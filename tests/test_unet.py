"""The field's settings: U-Net skips and a residual output (arch.skips, arch.residual), the anchors'
degradations (denoise's clip, superres's bicubic resample) and scores (pooled PSNR, colourfulness error)."""

import json
import math

import pytest
import torch
import torch.nn.functional as F
from conftest import QUIET, compose_config
from torch import nn

from autoenc import UserError
from autoenc.model.degrade import add_noise, lower_resolution
from autoenc.model.metrics import RGBScores, colourfulness, colourfulness_error
from autoenc.model.tasks import get_task
from autoenc.model.unet import UNet, build_net
from autoenc.report.cells import Cell
from autoenc.training.config import read_config

UNET = {"widths": [32, 64, 96], "kernel_size": 3, "block": "single", "skips": True}


def test_a_unet_feeds_each_encoder_stage_to_the_decoder_stage_of_its_resolution():
    net = UNet([32, 64, 96], 3, "single", 3, 3)
    convs = [(m.in_channels, m.out_channels) for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert convs == [(3, 32), (32, 64), (64, 96), (96 + 64, 64), (64 + 32, 32), (32, 3)]
    assert sum(p.numel() for p in net.parameters()) == 195_555  # under the anchor's 225K
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 3, 32, 32) and net.latent_shape() == (96, 8, 8)
    double = [m for m in UNet([8, 12, 16, 24], 5, "double", 1, 2).modules() if isinstance(m, nn.Conv2d)]
    assert len(double) == 2 * 4 + 2 * 3 + 1 and double[0].kernel_size == (5, 5)


def test_skips_carry_the_picture_past_the_bottleneck_and_a_cae_cannot():
    """With the deepest stage's output zeroed, a U-Net's output still follows its input (the skips
    carry it); a CAE's is the same for every input."""
    torch.manual_seed(0)
    x1, x2 = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    for skips in (True, False):
        net = build_net({**UNET, "skips": skips}, get_task("denoise"), 3).eval()
        deepest = net.down[-1] if skips else net.encoder
        deepest.register_forward_hook(lambda module, args, out: torch.zeros_like(out))
        assert torch.equal(net(x1), net(x2)) != skips


@pytest.mark.parametrize("skips", [True, False])
def test_a_residual_net_starts_as_doing_nothing_and_learns_a_correction(skips):
    torch.manual_seed(0)
    net = build_net({**UNET, "skips": skips, "residual": True}, get_task("denoise"), 3)
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    assert torch.equal(net(x), x)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    for _ in range(3):
        opt.zero_grad()
        F.mse_loss(net(x), torch.zeros_like(x)).backward()
        opt.step()
    assert F.mse_loss(net(x), torch.zeros_like(x)) < F.mse_loss(x, torch.zeros_like(x))


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        (["arch=unet_32-64-96", "task=reconstruct"], "arch.skips=true with task=reconstruct: skips pass the picture"),
        (["arch.residual=true", "task=y2uv"], "arch.residual=true with task=y2uv: a residual net adds its correction"),
        (["arch.residual=true", "task=reconstruct"], "input and target must be one picture space"),
        (["arch.skips=1", "task=denoise"], "arch.skips=1: must be true or false"),
        (["task=superres", "task.resample=lanczos"], "task.resample='lanczos': must be one of box, bicubic"),
        (["task=denoise", "task.clip=yes"], "task.clip='yes': must be true"),
    ],
)
def test_options_that_do_not_fit_the_task_are_refused_in_one_line(tmp_path, overrides, words):
    with pytest.raises(UserError) as error:
        read_config(compose_config("config", tmp_path, "dataset=photos", *overrides))
    assert words in str(error.value) and "\n" not in str(error.value)


def test_denoise_clips_the_noise_to_the_pictures_range_unless_told_not_to():
    rgb = torch.full((2, 3, 8, 8), 0.95)  # near white: noise pushes pixels past 1
    clipped, raw = add_noise(rgb, 0.1, fixed=True), add_noise(rgb, 0.1, fixed=True, clip=False)
    assert clipped.max() == 1 and raw.max() > 1 and torch.equal(raw.clamp(-1, 1), clipped)
    x, y = get_task("denoise", clip=False).split(rgb)
    assert torch.equal(x, raw) and torch.equal(y, rgb)


def test_superres_bicubic_is_the_antialiased_bicubic_down_and_bicubic_up():
    torch.manual_seed(0)
    rgb = torch.rand(2, 3, 32, 32) * 2 - 1
    small = F.interpolate(rgb, size=(16, 16), mode="bicubic", antialias=True).clamp(-1, 1)
    expected = F.interpolate(small, size=(32, 32), mode="bicubic", align_corners=False).clamp(-1, 1)
    x, y = get_task("superres", resample="bicubic").split(rgb)
    assert torch.allclose(x, expected) and torch.equal(y, rgb)
    box = lower_resolution(rgb, 2)  # the default: the block means, enlarged bilinear
    assert torch.equal(box, F.interpolate(F.avg_pool2d(rgb, 2), size=(32, 32), mode="bilinear").clamp(-1, 1))
    assert not torch.allclose(box, x)
    user_picture = get_task("superres", resample="bicubic").input_from_picture(small)
    assert torch.allclose(user_picture, expected)


def test_pooled_psnr_is_the_psnr_of_all_pixels_and_the_mean_psnr_the_pictures_mean():
    truth = torch.zeros(2, 3, 16, 16)
    pred = torch.cat([torch.full((1, 3, 16, 16), 0.2), torch.full((1, 3, 16, 16), 0.02)])  # on [-1, 1]: 0.1, 0.01
    scores = RGBScores()
    scores.update(pred, truth)
    got = scores.compute()
    mse = [0.1**2, 0.01**2]  # on [0, 1]
    assert got["psnr"].item() == pytest.approx(sum(10 * math.log10(1 / m) for m in mse) / 2, rel=1e-5)
    assert got["psnr_pooled"].item() == pytest.approx(10 * math.log10(1 / (sum(mse) / 2)), rel=1e-5)
    assert got["psnr_pooled"] < got["psnr"]  # the pooled MSE is ruled by the worst pictures


def test_the_colourfulness_error_is_the_median_relative_error_and_skips_colourless_truths():
    torch.manual_seed(0)
    truth = torch.rand(4, 3, 16, 16)
    truth[3] = 0.5  # gray: no colourfulness to compare with
    pred = truth.clone()
    pred[[0, 2]] = (truth[[0, 2]] - 0.5) * 0.5 + 0.5  # half the colour
    errors = colourfulness_error(colourfulness(pred), colourfulness(truth))
    assert errors[:3].tolist() == pytest.approx([0.5, 0, 0.5], abs=1e-5) and errors[3].isnan()
    assert colourfulness(truth[3:]).item() == 0
    scores = RGBScores()
    scores.update(pred * 2 - 1, truth * 2 - 1)
    assert scores.compute()["colourfulness_error"].item() == pytest.approx(0.5, rel=1e-5)  # median of 0.5, 0, 0.5


def test_the_table_names_the_nets_options_and_the_tasks_settings():
    run = {"arch": "unet_32-64-96", "skips": True, "residual": True, "task": "superres", "dataset": "x"}
    run |= {"epochs": 12, "lr": 1e-3, "task_options": {"factor": 2, "resample": "bicubic"}}
    cell = Cell.of_run(run)
    assert (cell.arch, cell.label) == ("unet_32-64-96 residual", "superres resample=bicubic")
    run |= {"arch": "classic", "task": "denoise", "task_options": {"sigma": 0.1, "clip": False}}
    assert (Cell.of_run(run).arch, Cell.of_run(run).label) == ("classic skips residual", "denoise clip=false")
    run |= {"skips": False, "residual": False, "task_options": {"sigma": 0.1, "clip": True}}
    assert (Cell.of_run(run).arch, Cell.of_run(run).label) == ("classic", "denoise")  # the defaults: not said


def test_a_residual_unet_trains_records_its_options_and_scores_and_its_checkpoint_serves(tmp_path):
    from autoenc.inference.checkpoints import load_checkpoint
    from autoenc.inference.export import export_onnx
    from autoenc.inference.latents import encode
    from autoenc.training.fit import train

    overrides = ["dataset=photos", "arch=unet_32-64-96", "arch.residual=true", "task=superres"]
    train(compose_config("config", tmp_path, *overrides, "task.resample=bicubic", "trainer=debug", *QUIET))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["skips"] and metrics["residual"] and metrics["params"] == 195_555
    assert metrics["task_options"] == {"factor": 2, "resample": "bicubic"}
    assert metrics["test_psnr"] > metrics["test_psnr_pooled"] > 0 and 0 < metrics["test_ssim"] <= 1
    assert metrics["test_input_psnr"] > 0 and "test_input_psnr_pooled" in metrics
    model, _ = load_checkpoint(tmp_path / "checkpoints" / "best.ckpt")
    assert isinstance(model.net.net, UNet) and model.task.options["resample"] == "bicubic"
    meta = export_onnx(tmp_path / "checkpoints" / "best.ckpt", tmp_path / "m.onnx")
    assert meta["autoenc.skips"] == "true" and meta["autoenc.residual"] == "true"
    from conftest import assert_onnx_matches

    assert_onnx_matches(tmp_path / "m.onnx", model, 3)
    with pytest.raises(UserError, match="skip connections"):
        encode(model, torch.zeros(2, 32, 32, 3, dtype=torch.uint8))
