import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import ROOT, assert_onnx_matches, compose_config, import_script, in_process
from hydra.utils import instantiate
from kornia.color import rgb_to_yuv
from PIL import Image

from autoenc import UserError
from autoenc.inference.checkpoints import load_checkpoint
from autoenc.inference.evaluate import evaluate
from autoenc.inference.export import export_onnx
from autoenc.inference.predict import predict_rgb, read_picture
from autoenc.training.module import AutoEncoder
from autoenc.training.optim import allowed_optimizers


@pytest.fixture(scope="module")
def model(y2uv_run):
    return load_checkpoint(y2uv_run / "checkpoints" / "best.ckpt")[0]


@pytest.mark.parametrize("h,w", [(32, 32), (33, 47), (101, 37), (37, 101), (5, 7), (1, 1)])
def test_any_size_comes_back_the_same_size_with_its_own_luminance(model, h, w):
    rgb = torch.rand(2, 3, h, w, generator=torch.Generator().manual_seed(h * w)) * 2 - 1
    out = predict_rgb(model, rgb)
    assert out.shape == rgb.shape and out.min() >= -1 and out.max() <= 1
    torch.testing.assert_close(rgb_to_yuv(out)[:, :1], rgb_to_yuv(rgb)[:, :1], atol=1e-5, rtol=0)


def test_colorize_a_folder(model, y2uv_run, tmp_path):
    rng = np.random.default_rng(0)
    src, dst = tmp_path / "in", tmp_path / "out"
    (src / "sub").mkdir(parents=True)
    sizes = {"portrait.png": (61, 35), "landscape.jpg": (35, 61), "sub/gray.png": (40, 40), "sub/same.png": (40, 40)}
    for name, (h, w) in sizes.items():
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(src / name)
    (src / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    ckpt = f"ckpt={y2uv_run}/checkpoints/best.ckpt"
    r = in_process("colorize", ckpt, f"input={src}", f"output={dst}", "side_by_side=true", "batch_size=2", "device=cpu")
    assert r.returncode == 0, r.stderr
    assert "wrote 4 picture(s)" in r.stdout and "skipped 1" in r.stdout and "broken.jpg" in r.stderr
    for name, (h, w) in sizes.items():
        picture = np.asarray(Image.open(src / name).convert("RGB"))
        out = np.asarray(Image.open((dst / name).with_suffix(".png")))
        assert out.shape == (h, 2 * w, 3)  # input | output
        np.testing.assert_array_equal(out[:, :w], picture)
        luma = [
            rgb_to_yuv(torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255)[0, 0] for a in (picture, out[:, w:])
        ]
        assert (luma[0] - luma[1]).abs().max() <= 0.5 / 255 + 1e-6  # equal up to 8-bit rounding


def test_eval_reproduces_the_training_test_metric(y2uv_run, tmp_path):
    import json

    trained = json.loads((y2uv_run / "metrics.json").read_text())
    metrics = evaluate(compose_config("eval", tmp_path, f"ckpt_path={y2uv_run}/checkpoints/best.ckpt"))
    assert metrics["test_mse"] == pytest.approx(trained["test_mse"], rel=1e-5)
    assert metrics["test_mse_rgb"] == pytest.approx(trained["test_mse_rgb"], rel=1e-5)
    assert set(trained) <= set(metrics) and (tmp_path / "metrics.json").is_file()
    val = evaluate(compose_config("eval", tmp_path, f"ckpt_path={y2uv_run}/checkpoints/best.ckpt", "split=val"))
    assert val["test_mse"] == pytest.approx(trained["best_val_mse"], rel=1e-5)  # validation of the best epoch


def test_eval_scores_every_picture_of_a_numpy_file(y2uv_run, tmp_path):
    """eval.py dataset=array split=all: the run's test pictures written as a .npz score as its test split."""
    import json

    import numpy as np

    from autoenc.data.datamodule import ImageDataModule

    trained = json.loads((y2uv_run / "metrics.json").read_text())
    data = ImageDataModule("photos")
    data.setup()
    np.savez(tmp_path / "test.npz", images=data.test_set.numpy(), labels=np.zeros(len(data.test_set), np.uint8))
    ckpt = f"ckpt_path={y2uv_run}/checkpoints/best.ckpt"
    metrics = evaluate(
        compose_config(
            "eval", tmp_path / "eval", ckpt, "dataset=array", f"dataset.root={tmp_path / 'test.npz'}", "split=all"
        )
    )
    assert metrics["evaluated"]["images"] == len(data.test_set) and metrics["dataset"] == "array"
    assert metrics["test_mse"] == pytest.approx(trained["test_mse"], rel=1e-5)
    assert metrics["test_mse_rgb"] == pytest.approx(trained["test_mse_rgb"], rel=1e-5)


def test_onnx_matches_pytorch(model, y2uv_run, tmp_path):
    meta = export_onnx(y2uv_run / "checkpoints" / "best.ckpt", tmp_path / "m.onnx")
    assert meta["autoenc.task"] == "y2uv" and meta["autoenc.stride"] == "4"
    assert_onnx_matches(tmp_path / "m.onnx", model, 1)


class Payload:
    def __reduce__(self):
        return (exec, ("open(__import__('os').environ['MARKER'], 'w').write('ran')",))


def test_a_tampered_checkpoint_does_not_run_code(y2uv_run, tmp_path, monkeypatch):
    marker = tmp_path / "marker"
    monkeypatch.setenv("MARKER", str(marker))
    ckpt = torch.load(y2uv_run / "checkpoints" / "best.ckpt", weights_only=True)
    ckpt["extra"] = Payload()
    torch.save(ckpt, tmp_path / "evil.ckpt")
    with pytest.raises(UserError, match="refused"):
        load_checkpoint(tmp_path / "evil.ckpt")
    assert not marker.exists()
    pickle.loads(pickle.dumps(Payload()))  # the payload is real: unpickled unsafely, it runs
    assert marker.exists()


def test_a_checkpoint_cannot_make_autoenc_call_anything_but_an_optimizer(y2uv_run, tmp_path, capsys):
    trace = tmp_path / "precious.txt"
    trace.write_text("the user's work")
    emptied = {"_target_": "builtins.open", "_args_": [str(trace), "w"]}  # passes Hydra's own block-list
    payloads = [
        emptied,
        {"_target_": "builtins.print", "_args_": ["CODE RAN FROM A CHECKPOINT"]},
        {"_target_": "torch.optim.Adam", "lr": emptied},
    ]
    best = y2uv_run / "checkpoints" / "best.ckpt"
    for i, payload in enumerate(payloads):
        ckpt = torch.load(best, weights_only=True)
        ckpt["hyper_parameters"]["optimizer"] = payload
        torch.save(ckpt, tmp_path / f"crafted{i}.ckpt")
        for load in (lambda p: AutoEncoder.load_from_checkpoint(p, weights_only=True), load_checkpoint):
            with pytest.raises(
                UserError,
                match=r"optimizer.* (is not allowed; autoenc builds only these: .*"
                r"torch\.optim\.Adam|is refused)",
            ):
                load(tmp_path / f"crafted{i}.ckpt")
        # a model whose hyper-parameters are edited after loading: configuring its optimizer runs nothing either
        model = AutoEncoder.load_from_checkpoint(best, weights_only=True)
        model.hparams.optimizer = payload
        with pytest.raises(UserError, match="optimizer"):
            model.configure_optimizers()
    assert trace.read_text() == "the user's work" and "CODE RAN" not in capsys.readouterr().out
    instantiate(payloads[0]).close()  # the payload is real: what Hydra's instantiate did with it before
    assert trace.read_text() == ""


def test_optimizers_of_torch_optim_are_built_from_the_config(y2uv_run):
    model = AutoEncoder.load_from_checkpoint(y2uv_run / "checkpoints" / "best.ckpt", weights_only=True)
    model.hparams.optimizer = {"_target_": "torch.optim.AdamW", "_partial_": True, "lr": 3e-4, "betas": [0.8, 0.9]}
    optimizer = model.configure_optimizers()
    assert type(optimizer) is torch.optim.AdamW and optimizer.defaults["lr"] == 3e-4
    assert tuple(optimizer.defaults["betas"]) == (0.8, 0.9)
    assert {"torch.optim.Adam", "torch.optim.SGD", "torch.optim.AdamW"} <= allowed_optimizers().keys()
    assert "torch.optim.Optimizer" not in allowed_optimizers()


def test_wrong_or_corrupt_checkpoints_say_so(y2uv_run, tmp_path):
    (tmp_path / "junk.ckpt").write_bytes(b"\x00garbage" * 100)
    with pytest.raises(UserError, match="corrupt"):
        load_checkpoint(tmp_path / "junk.ckpt")
    torch.save({"state_dict": {}, "epoch": 3}, tmp_path / "other.ckpt")
    with pytest.raises(UserError, match="not an autoenc checkpoint"):
        load_checkpoint(tmp_path / "other.ckpt")
    ckpt = torch.load(y2uv_run / "checkpoints" / "best.ckpt", weights_only=True)
    ckpt["hyper_parameters"]["widths"] = [16, 24, 32]
    torch.save(ckpt, tmp_path / "mismatch.ckpt")
    with pytest.raises(UserError, match="do not fit"):
        load_checkpoint(tmp_path / "mismatch.ckpt")
    with pytest.raises(UserError, match="does not exist"):
        load_checkpoint(tmp_path / "nowhere.ckpt")


def test_huge_pictures_are_refused(tmp_path, monkeypatch):
    Image.fromarray(np.zeros((100, 100, 3), dtype=np.uint8)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # the bomb guard, scaled down
    with pytest.raises(UserError, match="too large"):
        read_picture(tmp_path / "big.png")


def test_eval_needs_a_checkpoint(tmp_path):
    with pytest.raises(UserError, match="ckpt_path="):
        evaluate(compose_config("eval", tmp_path))


@pytest.mark.slow
def test_cli_errors_are_one_line(tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "colorize.py"),
            f"ckpt={tmp_path}/none.ckpt",
            f"input={tmp_path}",
            f"output={tmp_path}/o",
        ],
        capture_output=True,
        text=True,
    )
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1 and "Traceback" not in r.stderr
    assert lines[0] == f"error: checkpoint {tmp_path}/none.ckpt does not exist"  # names the file it missed


def test_the_shipped_colorizer_works_out_of_the_box(tmp_path):
    from autoenc.inference.checkpoints import SHIPPED_COLORIZER

    model, ckpt = load_checkpoint(SHIPPED_COLORIZER)
    assert model.task.name == "y2uv" and ckpt["datamodule_hyper_parameters"]["name"] == "images"  # CIFAR-10 content
    import skimage.data

    photo = Image.fromarray(skimage.data.astronaut()).convert("L").resize((50, 30))  # highlights and shadows
    gray = np.asarray(photo).astype(np.float64)
    photo.save(tmp_path / "gray.png")
    r = in_process("colorize", f"input={tmp_path / 'gray.png'}", f"output={tmp_path / 'out.png'}", "device=cpu")
    assert r.returncode == 0, r.stderr
    out = np.asarray(Image.open(tmp_path / "out.png"))
    assert out.shape == (30, 50, 3)
    # the picture's own luma is kept (YUV Y, to 8-bit rounding); only colour comes from the model
    luma = out.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    assert np.abs(luma - gray).max() <= 1.0  # in highlights and shadows too, where colour would clip


@pytest.mark.slow
def test_the_vivid_colorizer_is_one_switch_away_and_paints_stronger_colours(tmp_path, capsys):
    from autoenc.inference.checkpoints import SHIPPED_COLORIZER, VIVID_COLORIZER

    vivid, shipped = load_checkpoint(VIVID_COLORIZER)[0], load_checkpoint(SHIPPED_COLORIZER)[0]
    assert vivid.task.options["saturation"] > 1 and VIVID_COLORIZER.stat().st_size < 2 * 2**20
    ours, theirs = vivid.state_dict(), shipped.state_dict()
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)  # the same network
    judge_colorizer = import_script("judge_colorizer")

    ratios = {}
    for name, ckpt in (("default", SHIPPED_COLORIZER), ("vivid", VIVID_COLORIZER)):
        assert (
            judge_colorizer.main(
                ["names=astronaut", f"ckpt={ckpt}", f"out={tmp_path}", f"tag=_{name}", f"beside={SHIPPED_COLORIZER}"]
            )
            == 0
        )
        row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| astronaut"))
        ratios[name] = float(row.split("|")[5])
    assert ratios["vivid"] > ratios["default"]  # colourfulness of the output / of the truth
    with Image.open(tmp_path / "colorize_astronaut_vivid.png") as strip:
        assert strip.size == (4 * 512, 512)  # gray | default | vivid | truth
    script = [sys.executable, str(ROOT / "scripts" / "colorize.py"), f"input={ROOT / 'docs' / 'colorize_rocket.png'}"]
    done = subprocess.run([*script, "model=vivid", f"output={tmp_path / 'v.png'}"], capture_output=True, text=True)
    assert done.returncode == 0 and "y2uv: wrote 1 picture" in done.stdout, done.stderr
    done = subprocess.run([*script, "model=sepia", f"output={tmp_path / 's.png'}"], capture_output=True, text=True)
    assert done.returncode == 1 and "model=sepia: must be one of default, vivid" in done.stderr
