"""The fast path (device-resident uint8 batches, channels_last, bf16 autocast) changes speed, not results."""

import os
import subprocess
import sys

import pytest
import torch
from conftest import QUIET, ROOT

from autoenc import UserError
from autoenc.data.batches import Batches
from autoenc.data.datamodule import ImageDataModule
from autoenc.speed.cuda_graph import wanted
from autoenc.speed.settings import bf16_pays, cpu_name, resolve_precision
from autoenc.training.fit import train


def test_fast_batches_are_a_plain_pass_over_the_data_reordered():
    data = ImageDataModule("photos", batch_size=64)
    data.setup()
    plain = torch.utils.data.DataLoader(data.train_set, batch_size=64, shuffle=False)
    reference = sorted(bytes(x.numpy()) for batch in plain for x in batch)
    fast = data.train_dataloader()
    for epoch in range(2):
        fast.set_epoch(epoch)
        batches = list(fast)
        assert len(batches) == len(plain) and all(b.dtype == torch.uint8 for b in batches)
        assert sorted(bytes(x.numpy()) for b in batches for x in b) == reference  # every sample once


def test_blocks_of_batches_are_the_same_batches_in_the_same_order():
    images = torch.arange(1000 * 2, dtype=torch.int64).reshape(1000, 2)
    single = Batches(images, 64, shuffle=True, seed=5)
    grouped = Batches(images, 64, shuffle=True, seed=5, group=4)
    for epoch in range(2):
        single.set_epoch(epoch)
        grouped.set_epoch(epoch)
        blocks = list(grouped)
        assert len(blocks) == len(grouped) == 4 and [len(b) for b in blocks] == [4, 4, 4, 4]
        assert [len(b) for b in blocks[-1]] == [64, 64, 64, 40]
        flat = [batch for block in blocks for batch in block]
        assert len(flat) == len(single) and all(torch.equal(a, b) for a, b in zip(flat, single, strict=True))


@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed"])
def test_several_steps_per_call_give_the_same_training(make_cfg, tmp_path, precision):
    """speed.steps_per_call changes how often Lightning is called, not the updates: same history."""
    args = (
        "dataset=photos",
        "trainer=debug",
        "trainer.limit_train_batches=1.0",
        f"trainer.precision={precision}",
        *QUIET,
    )
    one = train(make_cfg(*args, "speed.steps_per_call=1", f"output_dir={tmp_path / 'one'}"))
    block = train(make_cfg(*args, "speed.steps_per_call=16", f"output_dir={tmp_path / 'block'}"))
    assert block["history"]["train_mse"] == pytest.approx(one["history"]["train_mse"], rel=1e-5)
    assert block["history"]["val_mse"] == pytest.approx(one["history"]["val_mse"], rel=1e-5)
    assert block["test_mse"] == pytest.approx(one["test_mse"], rel=1e-5)
    steps = [
        torch.load(tmp_path / d / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
        for d in ("one", "block")
    ]
    assert steps[0] == steps[1] == 98  # optimizer steps: 6,264 images / 64


@pytest.mark.parametrize(
    ("vendor", "flags", "pays"),
    [
        ("GenuineIntel", "avx2 avx512f avx512_bf16 amx_bf16 amx_tile", True),  # Sapphire Rapids
        ("GenuineIntel", "avx2 avx512f avx512_bf16", False),  # AVX-512-BF16 without AMX: measured slower
        ("AuthenticAMD", "avx2 avx512f avx512_bf16", True),  # Zen 4: measured 1.3-1.7x
        ("AuthenticAMD", "avx2 fma", False),
    ],  # Zen 2/3: no bf16 instructions
)
def test_bf16_is_chosen_where_it_was_measured_faster(vendor, flags, pays):
    cpuinfo = f"processor\t: 0\nvendor_id\t: {vendor}\nmodel name\t: some CPU\nflags\t\t: fpu sse {flags}\n"
    assert bf16_pays(cpuinfo) is pays
    shown = " ".join(f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags.split())
    assert cpu_name(cpuinfo) == f"some CPU, {os.cpu_count()} cores, {shown}"  # the host a record names


@pytest.mark.parametrize("pays", [True, False])
def test_precision_auto_follows_the_hardware(monkeypatch, pays):
    import autoenc.speed.settings as settings

    monkeypatch.setattr(settings, "cpu_supports_bf16", lambda: pays)
    assert resolve_precision("32-true", "cpu") == "32-true"  # asked for: taken as it is
    assert resolve_precision("auto", "cpu", "single") == ("bf16-mixed" if pays else "32-true")
    assert resolve_precision("auto", "cpu", "double") == "32-true"  # measured: bf16 trained it worse


@pytest.mark.slow
def test_bf16_and_channels_last_train_as_well_as_fp32(make_cfg, tmp_path):
    """Tolerance: test MSE within 10% of the fp32 NCHW run's after 2 epochs (same seed, same batches)."""
    args = ("dataset=photos", "trainer.max_epochs=2", *QUIET)
    fp32 = train(
        make_cfg(*args, "trainer.precision=32-true", "speed.channels_last=false", f"output_dir={tmp_path / 'fp32'}")
    )
    fast = train(make_cfg(*args, "trainer.precision=bf16-mixed", f"output_dir={tmp_path / 'fast'}"))
    assert fast["precision"] == "bf16-mixed" and fp32["precision"] == "32-true"
    assert fast["test_mse"] == pytest.approx(fp32["test_mse"], rel=0.10)


def test_bench_counts_the_training_flops_of_each_conv():
    """bench.py's TFLOP/s: forward 2*Cin*Cout*k*k*H*W per conv, backward twice that, except the
    first conv's input gradient, which nothing needs."""
    import importlib.util
    from pathlib import Path

    from autoenc.model.cae import CAE

    path = Path(__file__).resolve().parents[1] / "scripts" / "dev" / "bench.py"
    spec = importlib.util.spec_from_file_location("bench", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    for arch in ("classic", "32-48-64_double"):
        model, flops = CAE(*bench.ARCHS[arch], 3, 3), []
        for conv in (m for m in model.modules() if isinstance(m, torch.nn.Conv2d)):
            conv.register_forward_hook(
                lambda c, _, out, flops=flops: flops.append(
                    2 * c.in_channels * c.out_channels * c.kernel_size[0] ** 2 * out.shape[2] * out.shape[3]
                )
            )
        model(torch.zeros(1, 3, 32, 32))
        assert bench.train_flops_per_image(arch) == 3 * sum(flops) - flops[0]


def test_cuda_graph_is_off_or_refused_without_a_cuda_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert not wanted("false", "cpu", "32-true") and not wanted("auto", "auto", "32-true")
    with pytest.raises(UserError, match="needs a CUDA GPU"):
        wanted("true", "auto", "32-true")
    with pytest.raises(UserError, match="false, true, auto"):
        wanted("yes", "cpu", "32-true")


def test_a_checkpoint_of_a_graphed_run_trains_on_without_graphs(y2uv_run, make_cfg, tmp_path):
    """A run with speed.cuda_graph saves a capturable optimizer; torch refuses capturable steps on
    the CPU, so a run without graphs resumes it with the setting off."""
    ckpt = torch.load(y2uv_run / "checkpoints" / "last.ckpt", weights_only=True)
    for group in ckpt["optimizer_states"][0]["param_groups"]:
        group["capturable"] = True  # as speed.cuda_graph leaves it
    torch.save(ckpt, tmp_path / "graphed.ckpt")
    resumed = train(
        make_cfg(
            "dataset=photos",
            "task=y2uv",
            "trainer=debug",
            "trainer.max_epochs=2",
            f"ckpt_path={tmp_path / 'graphed.ckpt'}",
            f"output_dir={tmp_path / 'run'}",
            *QUIET,
        )
    )
    assert resumed["epochs"] == 2 and not resumed["cuda_graph"]
    assert resumed["history"]["train_mse"][-1] < resumed["history"]["train_mse"][0]


FAULTS = """
import ctypes, resource, sys, torch
from autoenc.speed.settings import M_MMAP_THRESHOLD, keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory(256)
else:  # glibc's starting threshold, held there: what a step met in train.py before
    ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, 128 * 1024)
def step():
    torch.ones(4 * 2**20)  # 16 MB of activations, written, then freed
for _ in range(10):  # the steps of a warm-up: the heap grows to what a step needs
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_freed_step_memory_is_reused_without_new_pages():
    """speed.malloc_keep_mb: a step's freed activations come back from malloc's heap, not as
    fresh pages from the kernel (a page fault per 4 KB)."""
    faults = {
        mode: int(
            subprocess.run(
                [sys.executable, "-c", FAULTS, mode], capture_output=True, text=True, check=True, cwd=ROOT
            ).stdout
        )
        for mode in ("keep", "default")
    }
    assert faults["default"] >= 20 * 4000 and faults["keep"] < 1000


def test_train_applies_speed_malloc_keep_mb(make_cfg, monkeypatch):
    import autoenc.training.fit

    asked = []
    monkeypatch.setattr(autoenc.training.fit, "keep_freed_memory", asked.append)
    train(make_cfg("dataset=photos", "trainer=debug", "speed.malloc_keep_mb=64", *QUIET))
    assert asked == [64]


def test_the_optimizer_is_fused_on_a_cuda_device_unless_the_config_says_otherwise():
    from types import SimpleNamespace

    from autoenc.training.schedule import on_the_device

    on_gpu, on_cpu = [SimpleNamespace(is_cuda=True)], [torch.zeros(1)]
    assert on_the_device(torch.optim.Adam, {"lr": 1e-3}, on_gpu) == {"fused": True, "lr": 1e-3}
    assert on_the_device(torch.optim.AdamW, {"fused": False}, on_gpu) == {"fused": False}  # asked: kept
    assert on_the_device(torch.optim.Adam, {"foreach": True}, on_gpu) == {"foreach": True}  # the two exclude each other
    assert on_the_device(torch.optim.Adam, {"lr": 1e-3}, on_cpu) == {"lr": 1e-3}
    assert on_the_device(torch.optim.Adagrad, {}, on_gpu) == {"fused": True}


def test_test_scores_are_the_same_whatever_the_batch_size(y2uv_run):
    """Every score is a sum over pictures: the test loop's batch size moves none of them."""
    from autoenc.data.datamodule import ImageDataModule
    from autoenc.inference.checkpoints import load_checkpoint
    from autoenc.model.metrics import TestScores
    from autoenc.model.tasks import to_unit_rgb

    model, ckpt = load_checkpoint(y2uv_run / "checkpoints" / "best.ckpt")
    data = ImageDataModule(**ckpt["datamodule_hyper_parameters"])
    data.setup()
    scores = {}
    for size in (64, 1000):
        metric = TestScores()
        with torch.no_grad():
            for batch in Batches(data.test_set, size):
                rgb = to_unit_rgb(batch, channels_last=False)
                x, y = model.task.split(rgb)
                metric.update(model.task, x, y, model(x), rgb)
        scores[size] = {k: v.item() for k, v in metric.compute(model.task.restores).items()}
    assert scores[64].keys() == scores[1000].keys() and len(scores[64]) >= 10
    for key, value in scores[64].items():
        assert scores[1000][key] == pytest.approx(value, rel=1e-5, abs=1e-7), key


@pytest.mark.parametrize("task", ["y2uv", "denoise"])
def test_a_prepared_training_split_trains_as_its_pictures_do(task):
    """On a GPU the training split's fixed per-picture work is done once (autoenc/model/prepared.py):
    training on those floats gives the training on the uint8 pictures (colour: the same input and
    target; restoration: the same fresh noise every step)."""
    from functools import partial

    import lightning as L

    from autoenc.model.prepared import prepare_pictures
    from autoenc.training.module import AutoEncoder

    histories = []
    for prepared in (False, True):
        L.seed_everything(0)
        model = AutoEncoder(task=task, channels_last=False)
        prepare = partial(prepare_pictures, model.task, channels_last=False) if prepared else None
        data = ImageDataModule("photos", prepare=prepare, train_limit=8)
        trainer = L.Trainer(
            accelerator="cpu",
            max_epochs=1,
            limit_val_batches=1,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
        trainer.fit(model, datamodule=data)
        histories.append(model.history)
    assert histories[1]["train_mse"] == pytest.approx(histories[0]["train_mse"], rel=1e-5)
    assert histories[1]["val_mse"] == pytest.approx(histories[0]["val_mse"], rel=1e-5)
