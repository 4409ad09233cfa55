"""What only means something on a CUDA GPU (pytest -m gpu); skipped where there is none.
Written without a GPU at hand (no session so far was lent one): run them where one is."""

import json
import subprocess
import sys

import pytest
import torch
from conftest import ROOT, compose_config

from autoenc.data import ImageDataModule
from autoenc.inference import export_onnx, load_checkpoint, predict_rgb
from autoenc.train import train

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")]
ON_GPU = ("trainer.accelerator=gpu", "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false")
BF16 = dict(rel=0.05, abs=2e-3)  # bf16 keeps 8 bits of mantissa: CPU and GPU agree to about this


@pytest.fixture(scope="module")
def gpu_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu_run")
    metrics = train(compose_config("config", out, "dataset=photos", "task=y2uv", "trainer.max_epochs=2",
                                   "trainer.precision=bf16-mixed", *ON_GPU))  # fmt: skip
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
    from autoenc.data import Batches

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
    assert on_gpu.flatten().tolist() == pytest.approx(on_cpu.flatten().tolist(), **BF16)


def test_a_cpu_checkpoint_trains_on_in_the_gpu(y2uv_run, tmp_path):
    resumed = train(compose_config("config", tmp_path, "dataset=photos", "task=y2uv", "trainer=debug",
                                   "trainer.max_epochs=2", f"ckpt_path={y2uv_run}/checkpoints/last.ckpt",
                                   *ON_GPU))  # fmt: skip
    assert resumed["device"].startswith("cuda") and resumed["epochs"] == 2


def test_eval_colorize_and_onnx_on_cuda(gpu_run, tmp_path):
    out, metrics = gpu_run
    r = subprocess.run([sys.executable, str(ROOT / "eval.py"), f"ckpt_path={out}/checkpoints/best.ckpt",
                        "accelerator=gpu", f"hydra.run.dir={tmp_path / 'eval'}"], capture_output=True, text=True,
                       cwd=ROOT, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["test_mse"] == pytest.approx(
        metrics["test_mse"], **BF16
    )
    from PIL import Image

    Image.new("RGB", (70, 50), (120, 90, 60)).save(tmp_path / "in.png")
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "colorize.py"), f"ckpt={out}/checkpoints/best.ckpt",
                        f"input={tmp_path / 'in.png'}", f"output={tmp_path / 'out.png'}", "device=cuda"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)  # fmt: skip
    assert r.returncode == 0 and Image.open(tmp_path / "out.png").size == (70, 50), r.stderr[-2000:]
    export_onnx(out / "checkpoints" / "best.ckpt", tmp_path / "model.onnx")
    assert (tmp_path / "model.onnx").stat().st_size > 0


def test_ddp_on_one_gpu_writes_one_result(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "train.py"), "dataset=photos", "trainer=ddp", "trainer.devices=1",
                        "trainer.max_epochs=1", "trainer.limit_train_batches=10", *ON_GPU,
                        f"hydra.run.dir={tmp_path}"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert len(list(tmp_path.rglob("metrics.json"))) == 1


@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed"])
def test_a_cuda_graph_step_trains_as_the_eager_step(tmp_path, precision):
    """speed.cuda_graph replays the captured step: the same number of updates, the same training
    (within the noise of cuDNN's atomics), one capture for the full batches, eager for the short last one."""
    args = ("dataset=photos", "trainer.max_epochs=2", f"trainer.precision={precision}", "speed.steps_per_call=4",
            *ON_GPU)  # fmt: skip
    eager = train(compose_config("config", tmp_path / "eager", *args))
    graph = train(compose_config("config", tmp_path / "graph", *args, "speed.cuda_graph=true"))
    assert graph["cuda_graph"] and not eager["cuda_graph"]
    tol = dict(rel=1e-3) if precision == "32-true" else dict(rel=0.03)
    assert graph["history"]["train_mse"] == pytest.approx(eager["history"]["train_mse"], **tol)
    assert graph["test_mse"] == pytest.approx(eager["test_mse"], **tol)
    steps = [torch.load(tmp_path / d / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
             for d in ("eager", "graph")]  # fmt: skip
    assert steps[0] == steps[1] == 2 * 98  # 6,264 images / 64 = 97 full batches and a short one, per epoch


def test_a_cpu_checkpoint_trains_on_with_a_cuda_graph(y2uv_run, tmp_path):
    """The optimizer state of a run without graphs (step counters on the CPU) is made capturable."""
    resumed = train(compose_config("config", tmp_path, "dataset=photos", "task=y2uv", "trainer=debug",
                                   "trainer.max_epochs=2", f"ckpt_path={y2uv_run}/checkpoints/last.ckpt",
                                   "speed.cuda_graph=true", *ON_GPU))  # fmt: skip
    assert resumed["cuda_graph"] and resumed["epochs"] == 2
    assert resumed["history"]["val_mse"][-1] < resumed["history"]["val_mse"][0]
