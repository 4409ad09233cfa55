"""conf/loss (autoenc/model/loss.py): mse, the study's, and classify: colour as a class with
rebalancing, decoded by the annealed mean; it composes with training, eval, colorize, the table
and ONNX export."""

import numpy as np
import pytest
import torch
from conftest import QUIET, ROOT, compose_config, in_process
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from autoenc import UserError
from autoenc.inference.checkpoints import load_checkpoint
from autoenc.inference.evaluate import evaluate
from autoenc.inference.export import export_onnx
from autoenc.model.loss import ColourClasses, check_loss
from autoenc.report.table import make_table
from autoenc.training.fit import train


@pytest.mark.parametrize(
    ("spec", "task", "message"),
    [
        ({"name": "huber"}, "y2uv", "loss='huber' is unknown; valid losses: mse, classify"),
        ({"name": "classify"}, "reconstruct", "loss=classify with task=reconstruct: .* use task=y2uv or task=l2ab"),
        (
            {"name": "classify", "gamma": 1},
            "y2uv",
            "loss.gamma is not a setting of loss=classify; its settings: loss.b",
        ),
        ({"name": "classify", "bins": 1}, "l2ab", "loss.bins=1: must be an integer from 2 to 64"),
        ({"name": "classify", "temperature": 0}, "y2uv", "loss.temperature=0: must be a number from 0.01 to 10"),
        ({"name": "mse", "bins": 4}, "y2uv", "loss.bins is not a setting of loss=mse; its settings: none"),
    ],
)
def test_a_bad_loss_is_one_line_that_says_what_is_valid(spec, task, message):
    with pytest.raises(UserError, match=message) as refused:
        check_loss(spec, task)
    assert "\n" not in str(refused.value)


def test_each_bin_centre_is_its_own_class_and_decodes_back():
    bins = ColourClasses(extent=1.0, bins=4, rebalance=0.5, temperature=0.38)
    centres = bins.centres.T.reshape(1, 2, 4, 4)  # 16 pixels, one per bin
    assert bins.classes(centres).flatten().tolist() == list(range(16))
    one_hot = torch.eye(16).T.reshape(1, 16, 4, 4) * 50  # each pixel sure of its own bin
    torch.testing.assert_close(bins.decode(one_hot), centres)
    assert bins.classes(torch.full((1, 2, 1, 1), 5.0)).item() == 15  # outside the plane: the nearest edge bin


def test_the_temperature_goes_from_the_likeliest_colour_to_the_mean():
    bins = ColourClasses(extent=1.0, bins=4, rebalance=0.5, temperature=0.38)
    logits = torch.zeros(1, 16, 1, 1)
    logits[0, 0], logits[0, 15] = 2.0, 1.0  # two colours, one twice as likely (in logits)
    mean = (torch.softmax(logits.flatten(), 0)[:, None] * bins.centres).sum(0)
    torch.testing.assert_close(bins.decode(logits, temperature=1.0).flatten(), mean)
    torch.testing.assert_close(bins.decode(logits, temperature=0.01).flatten(), bins.centres[0])
    spread = [bins.decode(logits, temperature=t).norm().item() for t in (1.0, 0.38, 0.1)]
    assert spread[0] < spread[1] < spread[2]  # lower T: farther from gray, the colour more saturated


def test_rebalancing_weighs_rare_colours_up_and_averages_one_over_the_pixels():
    bins = ColourClasses(extent=1.0, bins=2, rebalance=0.5, temperature=0.38)
    common, rare = torch.full((1, 2, 9, 1), -0.5), torch.full((1, 2, 1, 1), 0.5)  # bins 0 and 3: 90% and 10%
    p = bins.fit_weights([common, rare])
    assert p.tolist() == pytest.approx([0.9, 0, 0, 0.1])
    w = bins.weights
    assert w[3] > w[0] and (p.float() * w).sum().item() == pytest.approx(1.0)
    assert w[1] == w[2] == w.max()  # unseen colours: the largest weight, 1 / (lambda / Q)


@pytest.mark.slow
def test_a_classify_colorizer_trains_evaluates_colours_at_any_temperature_and_exports(tmp_path):
    sweep = tmp_path / "sweep"
    args = ("dataset=photos", "trainer.limit_train_batches=30", "task=y2uv", *QUIET)
    classify = (*args, "trainer.max_epochs=2", "loss=classify", "loss.bins=8")
    metrics = train(compose_config("config", sweep / "classify", *classify))
    assert metrics["loss"] == "classify" and metrics["temperature"] == 0.38
    # the best checkpoint is the lowest validation cross-entropy (vivid colours cost MSE), logged as val/loss
    history = metrics["history"]
    assert metrics["best_val_loss"] == pytest.approx(min(history["val_loss"]))
    assert metrics["best_val_mse"] == history["val_mse"][history["val_loss"].index(min(history["val_loss"]))]
    assert "val/loss" in EventAccumulator(str(sweep / "classify" / "tb")).Reload().Tags()["scalars"]
    assert np.isfinite(metrics["history"]["train_mse"]).all() and metrics["test_colourfulness_ratio"] > 0
    model, _ = load_checkpoint(sweep / "classify" / metrics["best_checkpoint"])
    assert model.net(torch.zeros(1, 1, 32, 32)).shape[1] == 64 and model(torch.zeros(1, 1, 32, 32)).shape[1] == 2
    assert not torch.allclose(model.objective.weights, torch.ones(64))  # fitted to the training colours
    colour = {}
    for t in (0.05, 1.0):
        best = sweep / "classify" / "checkpoints" / "best.ckpt"
        cfg = compose_config("eval", tmp_path / f"eval_{t}", f"ckpt_path={best}", f"temperature={t}")
        scores = evaluate(cfg)
        assert scores["temperature"] == t
        colour[t] = scores["test_colourfulness_ratio"]
    assert colour[0.05] > colour[1.0]  # the mode is more colourful than the mean
    train(compose_config("config", sweep / "mse", *args, "trainer.max_epochs=1"))
    table = make_table([sweep])
    assert "| y2uv classify T=0.38 |" in table and "| y2uv |" in table  # two rows, not one
    onnx = pytest.importorskip("onnxruntime")
    meta = export_onnx(sweep / "classify" / metrics["best_checkpoint"], tmp_path / "c.onnx")
    assert meta["autoenc.loss"].startswith("classify bins=8x8")
    x = torch.rand(2, 1, 32, 48) * 2 - 1
    (out,) = onnx.InferenceSession(str(tmp_path / "c.onnx")).run(None, {"input": x.numpy()})
    np.testing.assert_allclose(out, model(x).detach().numpy(), atol=1e-4)  # the decoding is in the export


def test_temperature_is_refused_for_a_model_without_classes(y2uv_run, tmp_path):
    ckpt, picture = y2uv_run / "checkpoints" / "best.ckpt", ROOT / "docs" / "colorize_rocket.png"
    done = in_process("colorize", f"ckpt={ckpt}", f"input={picture}", f"output={tmp_path / 'o.png'}", "temperature=0.2")
    assert done.returncode == 1 and "only a model trained with loss=classify has one" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
