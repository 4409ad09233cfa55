"""task.saturation (autoenc/model/tasks.py): a colour task's predicted chroma times a gain, a decoding
setting like classify's temperature; it composes with eval, colorize, the shipped checkpoint, the
table and ONNX export."""

import numpy as np
import pytest
import torch
from conftest import ROOT, compose_config, import_script, in_process
from PIL import Image

from autoenc import UserError
from autoenc.inference.checkpoints import load_checkpoint, set_saturation, slim_checkpoint
from autoenc.inference.evaluate import evaluate
from autoenc.inference.export import export_onnx
from autoenc.inference.predict import predict_rgb
from autoenc.model.metrics import colourfulness
from autoenc.model.tasks import get_task
from autoenc.report.cells import task_label
from autoenc.training.config import read_config


def test_saturation_scales_the_chroma_and_keeps_the_luma():
    torch.manual_seed(0)
    chroma = torch.rand(2, 2, 8, 8) - 0.5
    for name in ("y2uv", "l2ab"):
        torch.testing.assert_close(get_task(name, saturation=2).saturate(chroma), 2 * chroma)
        assert get_task(name).saturate(chroma) is chroma  # 1, the default: the prediction as it is
    rgb = torch.rand(2, 3, 8, 8) * 2 - 1
    task = get_task("gray2rgb", saturation=1.5)
    luma, out = task.colour.gray(rgb), task.saturate(rgb)
    torch.testing.assert_close(task.colour.gray(out), luma)
    torch.testing.assert_close(out - luma, 1.5 * (rgb - luma))
    gray = get_task("gray2rgb", saturation=0).saturate(rgb)
    torch.testing.assert_close(gray, luma.expand(-1, 3, -1, -1))


@pytest.mark.parametrize(
    ("task", "value", "message"),
    [
        ("y2uv", 5, "task.saturation=5: must be a number from 0 .gray. to 4"),
        ("l2ab", -1, "task.saturation=-1: must be"),
        ("gray2rgb", True, "task.saturation=True: must be"),
        ("reconstruct", 2, "task.saturation is not a setting of task=reconstruct; its settings: none"),
        ("denoise", 2, "task.saturation is not a setting of task=denoise; its settings: task.sigma"),
    ],
)
def test_an_impossible_saturation_is_one_line(task, value, message):
    with pytest.raises(UserError, match=message):
        get_task(task, saturation=value)


def test_training_refuses_a_saturation_it_would_never_see(make_cfg):
    with pytest.raises(UserError, match="task.saturation=2: a decoding setting, which training never sees"):
        read_config(make_cfg("task=y2uv", "+task.saturation=2"))
    read_config(make_cfg("task=y2uv", "+task.saturation=1"))


def test_the_table_keeps_saturations_apart():
    assert task_label({"task": "y2uv", "saturation": 2.0}) == "y2uv saturation=2"
    assert task_label({"task": "y2uv", "loss": "classify", "temperature": 1.0, "saturation": 1.2}) == (
        "y2uv classify T=1 saturation=1.2"
    )
    assert task_label({"task": "y2uv"}) == "y2uv"


def test_saturation_in_eval_the_shipped_checkpoint_and_onnx(y2uv_run, tmp_path):
    best = y2uv_run / "checkpoints" / "best.ckpt"
    plain = evaluate(compose_config("eval", tmp_path / "plain", f"ckpt_path={best}"))
    vivid = evaluate(compose_config("eval", tmp_path / "vivid", f"ckpt_path={best}", "saturation=2"))
    assert plain["saturation"] == 1 and vivid["saturation"] == 2
    assert vivid["test_colourfulness_ratio"] > 1.5 * plain["test_colourfulness_ratio"]
    with pytest.raises(UserError, match="saturation=9: must be a number from 0"):
        evaluate(compose_config("eval", tmp_path / "bad", f"ckpt_path={best}", "saturation=9"))

    slim_checkpoint(best, tmp_path / "vivid.ckpt", saturation=1.5)  # a colorizer that ships its gain
    model, _ = load_checkpoint(tmp_path / "vivid.ckpt")
    base, _ = load_checkpoint(best)
    assert model.task.options["saturation"] == 1.5 and base.task.options.get("saturation", 1.0) == 1.0
    x = torch.rand(2, 1, 32, 48) * 2 - 1
    torch.testing.assert_close(model(x), 1.5 * base(x))
    picture = torch.rand(1, 3, 40, 40) * 2 - 1
    luma = model.task.colour.rgb_to_yuv(picture)[:, :1]
    out, out_base = predict_rgb(model, picture), predict_rgb(base, picture)
    torch.testing.assert_close(model.task.colour.rgb_to_yuv(out)[:, :1], luma, atol=1e-5, rtol=0)  # luma kept
    assert colourfulness((out + 1) / 2) > colourfulness((out_base + 1) / 2)

    onnx = pytest.importorskip("onnxruntime")
    meta = export_onnx(tmp_path / "vivid.ckpt", tmp_path / "v.onnx")
    assert "saturation" in meta["autoenc.decoding"]
    (exported,) = onnx.InferenceSession(str(tmp_path / "v.onnx")).run(None, {"input": x.numpy()})
    np.testing.assert_allclose(exported, model(x).detach().numpy(), atol=1e-4)  # the gain is in the export


def test_colorize_takes_a_saturation_and_refuses_it_for_a_model_without_colour(y2uv_run, tmp_path):
    colorize = import_script("colorize")

    ckpt, picture = y2uv_run / "checkpoints" / "best.ckpt", ROOT / "docs" / "colorize_rocket.png"
    colours = {}
    for gain in (1, 2):
        out = tmp_path / f"o{gain}.png"
        args = [f"ckpt={ckpt}", f"input={picture}", f"output={out}", f"saturation={gain}", "device=cpu"]
        assert colorize.main(args) == 0
        rgb = torch.from_numpy(np.array(Image.open(out).convert("RGB"))).permute(2, 0, 1)[None] / 255
        colours[gain] = colourfulness(rgb).item()
    assert colours[2] > 1.5 * colours[1]
    done = in_process("colorize", f"ckpt={ckpt}", f"input={picture}", f"output={tmp_path / 'o.png'}", "saturation=9")
    assert done.returncode == 1 and "saturation=9: must be a number from 0" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    reconstruct = load_checkpoint(ckpt)[0]
    reconstruct.task = get_task("reconstruct")
    with pytest.raises(UserError, match="only a colour task's model has one .* this one: task=reconstruct"):
        set_saturation(reconstruct, 2)
