import math

import pytest
import torch
from conftest import ARCHS, TASKS
from torch import nn

from autoenc import UserError
from autoenc.model.cae import CAE
from autoenc.model.tasks import get_task
from autoenc.model.unet import UNet

# The study's latent sizes for its five 3x3 archs; the 5x5 one is 8x8x32, not the report's 1152.
LATENT = {
    "classic": 1024,
    "4-6-8": 512,
    "16-24-32": 2048,
    "16-24-32_k5": 2048,
    "32-48-64_single": 4096,
    "32-48-64_double": 4096,
    "unet_32-64-96": 6144,  # its deepest stage: with skips, not a code
}


def build(cfg) -> nn.Module:
    task = get_task(cfg.task.name)
    kind = UNet if cfg.arch.skips else CAE  # built without build_net's check: reconstruct refuses skips
    return kind(list(cfg.arch.widths), cfg.arch.kernel_size, cfg.arch.block, task.in_channels, task.out_channels)


def test_the_six_study_archs_and_the_unet_have_configs():
    assert set(ARCHS) == set(LATENT)


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("arch", ARCHS)
def test_every_arch_and_task_builds_with_the_right_shapes(make_cfg, arch, task):
    cfg = make_cfg(f"arch={arch}", f"task={task}")
    net, t = build(cfg), get_task(task)
    out = net(torch.zeros(2, t.in_channels, 32, 32))
    assert out.shape == (2, t.out_channels, 32, 32)
    assert math.prod(net.latent_shape()) == LATENT[arch]
    # the conv-output formula ((W - K + 2P) / S + 1)^2 * C at the last stage, after the pools
    w, k = 32 // 2 ** (len(cfg.arch.widths) - 1), cfg.arch.kernel_size
    assert ((w - k + 2 * (k // 2)) // 1 + 1) ** 2 * cfg.arch.widths[-1] == LATENT[arch]


def test_classic_is_the_assignments_five_layers():
    convs = [m for m in CAE([8, 12, 16], 3, "single", 3, 3).modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(3, 8), (8, 12), (12, 16), (16, 12), (12, 3)]
    assert sum(p.numel() for c in convs for p in c.parameters()) == 4911


def test_double_has_two_convs_per_stage_and_one_final():
    convs = [m for m in CAE([32, 48, 64], 3, "double", 1, 2).modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 2 * 3 + 2 * 1 + 1


def test_any_widths_work(make_cfg):
    cfg = make_cfg("arch.widths=[64,96,128]", "arch.block=double", "arch.kernel_size=5")
    net = build(cfg)
    assert net.latent_shape() == (128, 8, 8)
    assert net(torch.zeros(1, 3, 32, 32)).shape == (1, 3, 32, 32)
    assert CAE([4, 8], 3, "single", 3, 3).latent_shape() == (8, 16, 16)
    assert CAE([4, 8, 8, 8, 8, 8], 3, "single", 3, 3).latent_shape() == (8, 1, 1)


def test_glorot_init_zero_bias():
    conv = CAE([8, 12, 16], 3, "single", 3, 3).encoder[0]
    bound = math.sqrt(6 / (3 * 9 + 8 * 9))
    assert conv.weight.abs().max() <= bound and conv.weight.abs().max() > 0.9 * bound
    assert torch.all(conv.bias == 0)


@pytest.mark.parametrize(
    "widths,kernel,block,words",
    [
        ([8, 12, 16], 4, "single", "odd"),
        ([8, 12, 16], 0, "single", "odd"),
        ([8], 3, "single", "at least 2"),
        ([8] * 7, 3, "single", "divisible by 64"),
        ([8, 12, 16], 3, "triple", "block"),
        ([8, 0, 16], 3, "single", "positive"),
    ],
)
def test_impossible_archs_say_why(widths, kernel, block, words):
    with pytest.raises(UserError, match=words):
        CAE(widths, kernel, block, 3, 3)
