"""What only means something on a CUDA GPU (pytest -m gpu); skipped where there is none.
Written without a GPU at hand (no session so far was lent one): run them where one is.
bf16 and GPU kernels (TF32 convolutions, cuDNN autotuning, atomics) change numbers a little:
results are compared as MSEs and mean errors with tolerances of that size, never element-wise."""

import json
import subprocess
import sys

import pytest
import torch
from conftest import ROOT, assert_onnx_matches, compose_config

from autoenc.data.datamodule import ImageDataModule
from autoenc.inference.checkpoints import load_checkpoint
from autoenc.inference.export import export_onnx
from autoenc.inference.predict import predict_rgb
from autoenc.training.fit import train

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")]
ON_GPU = ("trainer.accelerator=gpu", "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false")
BF16 = dict(rel=0.05)  # bf16 keeps 8 bits of mantissa: MSEs of CPU and GPU runs agree to about this


@pytest.fixture(scope="module")
def gpu_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu_run")
    metrics = train(
        compose_config(
            "config",
            out,
            "dataset=photos",
            "task=y2uv",
            "trainer.max_epochs=2",
            "trainer.precision=bf16-mixed",
            *ON_GPU,
        )
    )
    return out, metrics


def test_bf16_training_on_the_gpu_learns(gpu_run):
    _, metrics = gpu_run
    assert metrics["device"].startswith("cuda") and metrics["precision"] == "bf16-mixed"
    assert metrics["history"]["val_mse"][-1] < metrics["history"]["val_mse"][0]
    assert 0 < metrics["test_mse"] < 0.05


def test_device_batches_live_on_the_gpu_and_cover_every_sample_once():
    data = ImageDataModule("photos")
    data.setup()
    images = data.train_set.cuda()
    from autoenc.data.batches import Batches

    batches = Batches(images, 64, shuffle=True, seed=0)
    for epoch in range(2):
        batches.set_epoch(epoch)
        seen = torch.cat(list(batches))
        assert seen.device.type == "cuda" and len(seen) == len(images)
        assert torch.equal(seen.flatten(1).sum(1).sort().values, images.flatten(1).sum(1).sort().values)


def test_a_gpu_checkpoint_runs_on_the_cpu_and_on_the_gpu_alike(gpu_run):
    out, _ = gpu_run
    cpu_model, _ = load_checkpoint(out / "checkpoints" / "best.ckpt", "cpu")  # map_location: a CPU-only machine
    gpu_model, _ = load_checkpoint(out / "checkpoints" / "best.ckpt", "cuda")
    rgb = torch.rand(4, 3, 48, 80) * 2 - 1
    on_cpu = predict_rgb(cpu_model, rgb)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        on_gpu = predict_rgb(gpu_model, rgb.cuda()).float().cpu()
    assert on_gpu.shape == on_cpu.shape
    assert (on_gpu - on_cpu).abs().mean() < 1e-2  # pixels in [-1, 1]: bf16 rounding, not a different model
    assert (on_gpu - rgb).square().mean().item() == pytest.approx((on_cpu - rgb).square().mean().item(), **BF16)


def test_a_cpu_checkpoint_trains_on_in_the_gpu(y2uv_run, tmp_path):
    resumed = train(
        compose_config(
            "config",
            tmp_path,
            "dataset=photos",
            "task=y2uv",
            "trainer=debug",
            "trainer.max_epochs=2",
            f"ckpt_path={y2uv_run}/checkpoints/last.ckpt",
            *ON_GPU,
        )
    )
    assert resumed["device"].startswith("cuda") and resumed["epochs"] == 2
    cpu_part = torch.load(y2uv_run / "checkpoints" / "last.ckpt", weights_only=True)
    assert resumed["history"]["val_mse"][0] == pytest.approx(cpu_part["history"]["val_mse"][0])  # its CPU epoch kept
    assert resumed["resumed_from"].endswith("last.ckpt") and 0 < resumed["test_mse"] < 0.2


def test_eval_colorize_and_onnx_on_cuda(gpu_run, tmp_path):
    out, metrics = gpu_run
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "eval.py"),
            f"ckpt_path={out}/checkpoints/best.ckpt",
            "accelerator=gpu",
            f"hydra.run.dir={tmp_path / 'eval'}",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["test_mse"] == pytest.approx(
        metrics["test_mse"], **BF16
    )
    from PIL import Image

    Image.new("RGB", (70, 50), (120, 90, 60)).save(tmp_path / "in.png")
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "colorize.py"),
            f"ckpt={out}/checkpoints/best.ckpt",
            f"input={tmp_path / 'in.png'}",
            f"output={tmp_path / 'out.png'}",
            "device=cuda",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert r.returncode == 0 and Image.open(tmp_path / "out.png").size == (70, 50), r.stderr[-2000:]
    export_onnx(out / "checkpoints" / "best.ckpt", tmp_path / "model.onnx")
    assert_onnx_matches(tmp_path / "model.onnx", load_checkpoint(out / "checkpoints" / "best.ckpt")[0], 1)


def test_ddp_on_one_gpu_writes_one_result(tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "train.py"),
            "dataset=photos",
            "trainer=ddp",
            "trainer.devices=1",
            "trainer.max_epochs=1",
            "trainer.limit_train_batches=10",
            *ON_GPU,
            f"hydra.run.dir={tmp_path}",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert len(list(tmp_path.rglob("metrics.json"))) == 1


@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed"])
def test_a_cuda_graph_step_trains_as_the_eager_step(tmp_path, precision):
    """speed.cuda_graph replays the captured step: the same number of updates, the same training
    (within the noise of cuDNN's atomics), one capture for the full batches, eager for the short last one."""
    args = (
        "dataset=photos",
        "trainer.max_epochs=2",
        f"trainer.precision={precision}",
        "speed.steps_per_call=4",
        *ON_GPU,
    )
    eager = train(compose_config("config", tmp_path / "eager", *args))
    graph = train(compose_config("config", tmp_path / "graph", *args, "speed.cuda_graph=true"))
    assert graph["cuda_graph"] and not eager["cuda_graph"]
    tol = dict(rel=1e-2) if precision == "32-true" else dict(rel=0.05)  # cuDNN's atomics, over 196 steps
    assert graph["history"]["train_mse"] == pytest.approx(eager["history"]["train_mse"], **tol)
    assert graph["test_mse"] == pytest.approx(eager["test_mse"], **tol)
    steps = [
        torch.load(tmp_path / d / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
        for d in ("eager", "graph")
    ]
    assert steps[0] == steps[1] == 2 * 98  # 6,264 images / 64 = 97 full batches and a short one, per epoch


def test_a_cpu_checkpoint_trains_on_with_a_cuda_graph(y2uv_run, tmp_path):
    """The optimizer state of a run without graphs (step counters on the CPU) is made capturable.
    Validated on the whole split, as y2uv_run's first epoch was: the val MSEs compare."""
    resumed = train(
        compose_config(
            "config",
            tmp_path,
            "dataset=photos",
            "task=y2uv",
            "trainer=debug",
            "trainer.max_epochs=2",
            "trainer.limit_val_batches=1.0",
            f"ckpt_path={y2uv_run}/checkpoints/last.ckpt",
            "speed.cuda_graph=true",
            *ON_GPU,
        )
    )
    assert resumed["cuda_graph"] and resumed["epochs"] == 2
    assert resumed["history"]["val_mse"][-1] < resumed["history"]["val_mse"][0]


def test_a_training_step_never_waits_for_the_host(tmp_path):
    """One whole y2uv step in bf16 (colour split, forward, loss, backward, Adam, to_rgb) with
    torch's sync debug mode set to error: any host copy or sync in it raises."""
    import lightning as L

    from autoenc.training.module import AutoEncoder

    data = ImageDataModule("photos")
    data.setup()
    model = AutoEncoder(task="y2uv")
    trainer = L.Trainer(
        accelerator="gpu",
        devices=1,
        precision="bf16-mixed",
        max_steps=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        limit_val_batches=0,
    )
    trainer.fit(model, datamodule=data)
    batch = data.train_set[:64].cuda()
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            model.training_step(batch, 1)
            model.eval()
            with torch.no_grad():
                shown = model.validation_step(batch, 0)  # the MSE, and the grid's rows
                model.test_step(batch, 0)  # every test score, on the device
            _, x, _, pred, _ = model._run(batch)
            rgb = model.task.to_rgb(x, pred.detach())
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert rgb.dtype == torch.float32 and rgb.device.type == "cuda" and shown[0].device.type == "cuda"
    scores = model.test_scores.compute(model.task.restores)  # the one sync: reading them at the end
    assert all(torch.isfinite(v) for v in scores.values())


def test_a_non_capturable_optimizer_brings_its_step_counters_back_to_the_cpu():
    from autoenc.speed.cuda_graph import set_capturable

    p = torch.nn.Parameter(torch.ones(3, device="cuda"))
    optimizer = torch.optim.Adam([p])
    p.grad = torch.ones_like(p)
    optimizer.step()
    set_capturable(optimizer, True)
    assert optimizer.state[p]["step"].device.type == "cuda"
    set_capturable(optimizer, False)
    assert optimizer.state[p]["step"].device.type == "cpu"  # else every later step syncs


def test_precision_and_layout_auto_on_this_gpu(tmp_path):
    metrics = train(
        compose_config("config", tmp_path, "dataset=photos", "trainer=debug", "trainer.precision=auto", *ON_GPU)
    )
    major = torch.cuda.get_device_capability()[0]
    expected = "bf16-mixed" if major >= 8 else "16-mixed" if major >= 7 else "32-true"
    assert metrics["precision"] == expected and metrics["device"].startswith("cuda")
