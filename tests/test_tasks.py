import pytest
import torch
from kornia.color import lab_to_rgb, rgb_to_grayscale, rgb_to_lab, rgb_to_yuv, yuv_to_rgb

from autoenc import UserError
from autoenc.model.colour import ColourMaths
from autoenc.model.tasks import TASKS, get_task

RGB = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1


@pytest.mark.parametrize("name", [name for name, kind in TASKS.items() if kind.colours])
def test_a_colour_tasks_round_trip_is_exact(name):
    """Luma in, colour out: the true luma and the true colour turned back into RGB give the picture."""
    task = get_task(name)
    x, y = task.split(RGB)
    assert x.shape[1] == task.in_channels == 1 and y.shape[1] == task.out_channels
    # linear maps are exact to float precision; Lab's gamma curve loses a little more
    torch.testing.assert_close(task.to_rgb(x, y), RGB, atol=1e-4 if name == "l2ab" else 1e-6, rtol=0)


@pytest.mark.parametrize("name", [name for name, kind in TASKS.items() if not kind.colours])
def test_an_rgb_task_targets_the_picture_and_reconstruct_alone_sees_it_whole(name):
    """No colour space to leave: the target is the picture, a prediction is RGB as it is; the input
    is the picture for reconstruct and a degraded copy of it for each restoration task."""
    task = get_task(name)
    x, y = task.split(RGB)
    assert torch.equal(y, RGB) and x.shape == RGB.shape
    prediction = torch.rand_like(RGB)
    assert torch.equal(task.to_rgb(x, prediction), prediction)
    if task.restores:
        assert (x - RGB).abs().mean() > 0.01 and x.min() >= -1 and x.max() <= 1
    else:
        assert torch.equal(x, RGB)


def test_y2uv_is_kornias_yuv_on_the_study_scale():
    x, y = get_task("y2uv").split(RGB)
    yuv01 = rgb_to_yuv((RGB + 1) / 2)  # kornia's own scale: Y in [0, 1]
    torch.testing.assert_close(x, yuv01[:, :1] * 2 - 1, atol=1e-6, rtol=0)
    torch.testing.assert_close(y, yuv01[:, 1:] * 2, atol=1e-6, rtol=0)
    assert x.min() >= -1 and x.max() <= 1


def test_gray_inputs_and_no_colour_y_look_the_same():
    gray, _ = get_task("gray2rgb").split(RGB)
    y, _ = get_task("y2uv").split(RGB)
    torch.testing.assert_close(gray, rgb_to_grayscale(RGB))
    torch.testing.assert_close(gray, y, atol=1e-6, rtol=0)  # same luma weights
    shown = get_task("y2uv").input_to_rgb(y)
    assert shown.shape == RGB.shape and torch.equal(shown[:, 0], shown[:, 2])
    # U = V = 0 turns Y back into that same gray picture
    torch.testing.assert_close(get_task("y2uv").to_rgb(y, torch.zeros(4, 2, 32, 32)), shown, atol=1e-6, rtol=0)


def test_unknown_task_lists_the_valid_ones():
    with pytest.raises(UserError, match="reconstruct, gray2rgb, y2uv, l2ab"):
        get_task("sepia")


def test_colour_maths_are_kornias():
    """kornia is the reference; autoenc's copy only makes its constants once (autoenc/model/colour.py)."""
    maths, rgb01 = ColourMaths(), (RGB + 1) / 2
    lab = rgb_to_lab(rgb01)
    pairs = [
        (maths.gray(RGB), rgb_to_grayscale(RGB)),
        (maths.rgb_to_yuv(RGB), rgb_to_yuv(RGB)),
        (maths.yuv_to_rgb(RGB), yuv_to_rgb(RGB)),
        (maths.rgb_to_lab(rgb01), lab),
        (maths.lab_to_rgb(lab), lab_to_rgb(lab, clip=True)),
        (maths.lab_to_rgb(lab * 1.5), lab_to_rgb(lab * 1.5, clip=True)),
    ]
    for ours, kornias in pairs:
        assert ours.shape == kornias.shape and ours.dtype == torch.float32
        scale = kornias.abs().max().item()  # L and a, b reach 100: relative to the range
        torch.testing.assert_close(ours, kornias, atol=1e-6 * max(1.0, scale), rtol=0)
