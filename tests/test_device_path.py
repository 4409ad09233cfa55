"""What makes the GPU path right, checked on the CPU: a training step that never waits for the
host, autocast that never trains on stale weights, graphs only where they can be captured,
precision and layout per device, parallel jobs spread over GPUs, compiled runs whose checkpoints
work everywhere."""

import copy

import lightning as L
import pytest
import torch
from lightning.pytorch.strategies import SingleDeviceStrategy
from torch.profiler import ProfilerActivity, profile

from autoenc import UserError
from autoenc.data.datamodule import ImageDataModule
from autoenc.model.tasks import TASKS
from autoenc.speed import settings as speed
from autoenc.speed.cuda_graph import set_capturable, wanted
from autoenc.training.config import one_device, read_config
from autoenc.training.dashboard import Throughput
from autoenc.training.module import AutoEncoder


@pytest.fixture(scope="module")
def photos() -> ImageDataModule:
    data = ImageDataModule("photos")
    data.setup()
    return data


def attached(task: str, data: ImageDataModule) -> AutoEncoder:
    """A model after two real Lightning steps: its optimizer made, its state started."""
    model = AutoEncoder(task=task)
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
    )
    trainer.fit(model, datamodule=data)
    return model


@pytest.mark.parametrize("task", list(TASKS))
def test_a_training_step_makes_no_tensor_from_python_data(task, photos):
    """colour split, forward, loss, backward, optimizer step and to_rgb create no tensor from
    Python data: on a GPU each would be a host copy that waits for the queue, and a CUDA graph
    could not record it (kornia's colour maths made two to forty per step)."""
    model = attached(task, photos)
    batch = photos.train_set[:64]
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        model.training_step(batch, 2)
        with torch.no_grad():
            _, x, _, pred, _ = model._run(batch)
            model.task.to_rgb(x, pred)
    events = prof.events()
    assert any(e.name == "aten::convolution_backward" for e in events)  # the profile saw a whole step
    assert [e.name for e in events if e.name == "aten::lift_fresh"] == []


def test_the_colour_constants_move_with_the_model_and_stay_out_of_checkpoints():
    model = AutoEncoder(task="l2ab").to(torch.float64)
    buffers = dict(model.named_buffers())
    assert buffers["task.colour.rgb_to_xyz_matrix"].dtype == torch.float64  # moved (and cast) with the model
    assert not any(key.startswith("task.") for key in model.state_dict())


@pytest.mark.parametrize("task", ["y2uv", "l2ab", "gray2rgb"])
def test_colour_maths_stay_fp32_under_bf16_autocast(task):
    model = AutoEncoder(task=task)
    rgb = torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    x, y = model.task.split(rgb)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        xa, ya = model.task.split(rgb)
        back = model.task.to_rgb(xa, ya.bfloat16())
    assert xa.dtype == ya.dtype == back.dtype == torch.float32
    assert torch.equal(xa, x) and torch.equal(ya, y)


def test_each_step_of_a_block_sees_the_weights_of_the_step_before(photos):
    """autocast caches a bf16 copy of each weight for its whole region (Lightning switches the
    cache off; a plain torch.autocast, a block of steps or a graph capture need not): a block of
    steps in one region must train exactly as the same steps each in its own region."""
    model = attached("reconstruct", photos)
    optimizer = model.optimizers()
    weights, state = copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.optimizer.state_dict())
    batches = photos.train_set[:192].split(64)
    apart = []
    for batch in batches:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            apart.append(model._step(batch, optimizer).item())
    model.load_state_dict(weights)
    optimizer.optimizer.load_state_dict(state)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # cache_enabled: torch's default
        together = [model._step(batch, optimizer).item() for batch in batches]
    assert together == apart
    assert len(set(apart)) == 3


def test_a_non_capturable_optimizer_keeps_its_step_counters_on_the_cpu():
    p = torch.nn.Parameter(torch.ones(3))
    optimizer = torch.optim.Adam([p])
    p.grad = torch.ones(3)
    optimizer.step()
    set_capturable(optimizer, True)
    assert optimizer.param_groups[0]["capturable"] and optimizer.state[p]["step"].dtype == torch.float32
    set_capturable(optimizer, False)
    assert not optimizer.param_groups[0]["capturable"] and optimizer.state[p]["step"].device.type == "cpu"
    optimizer.step()  # torch refuses a capturable step on the CPU: this one is not
    assert optimizer.state[p]["step"].item() == 2


def test_throughput_waits_for_the_gpu_twice_an_epoch(monkeypatch):
    synced = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: synced.append(device))
    clock = Throughput()
    for _ in range(2):
        clock.begin(torch.device("cuda", 0))
        clock.add(64)
        clock.pause(torch.device("cuda", 0))
        clock.pause(torch.device("cuda", 0))  # validation of a second loader: already paused
        clock.end_epoch()
    assert len(synced) == 4
    clock.begin(torch.device("cpu"))
    clock.pause(torch.device("cpu"))
    assert len(synced) == 4 and len(clock.epochs) == 2


def test_cuda_graphs_only_on_a_single_device_strategy(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert wanted("auto", "gpu", "bf16-mixed", single_device=True)
    assert not wanted("auto", "gpu", "bf16-mixed", single_device=False)
    with pytest.raises(UserError, match="not under DDP"):
        wanted("true", "gpu", "bf16-mixed", single_device=False)
    ddp = L.Trainer(accelerator="cpu", strategy="ddp", devices=1, logger=False)
    assert not isinstance(ddp.strategy, SingleDeviceStrategy)  # trainer=ddp trainer.devices=1 stays DDP
    assert not one_device({"strategy": "ddp", "devices": 1}) and one_device({"strategy": "auto", "devices": 1})


def test_a_cuda_graph_under_ddp_is_refused_before_anything_is_built(make_cfg, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    for devices in ("1", "2"):
        cfg = make_cfg(
            "trainer=ddp",
            "trainer.accelerator=gpu",
            f"trainer.devices={devices}",
            "trainer.precision=32-true",
            "speed.cuda_graph=true",
        )
        with pytest.raises(UserError, match="not under DDP"):
            read_config(cfg)
    read_config(make_cfg("trainer.accelerator=gpu", "trainer.precision=32-true", "speed.cuda_graph=true"))


def test_speed_malloc_keep_mb_out_of_range_says_so(make_cfg):
    with pytest.raises(UserError, match="speed.malloc_keep_mb=4096: must be an integer from 0"):
        read_config(make_cfg("speed.malloc_keep_mb=4096"))


# (native bf16, compute capability) -> precision=auto: H100/A100, T4, V100, P100
GPUS = [
    (True, (9, 0), "bf16-mixed"),
    (False, (7, 5), "16-mixed"),
    (False, (7, 0), "16-mixed"),
    (False, (6, 0), "32-true"),
]


@pytest.mark.parametrize(("bf16", "capability", "expected"), GPUS)
def test_precision_auto_on_a_gpu_does_not_take_emulated_bf16(monkeypatch, bf16, capability, expected):
    asked = {}

    def is_bf16_supported(including_emulation=True):
        asked["emulation"] = including_emulation
        return bf16

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", is_bf16_supported)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    assert speed.resolve_precision("auto", "gpu") == expected
    assert asked == {"emulation": False}
    # one rule on both devices: double blocks stay fp32 on a GPU, as on the CPU (bf16 trained them worse)
    assert speed.resolve_precision("auto", "gpu", "double") == "32-true"
    assert speed.resolve_precision("auto", "cpu", "double") == "32-true"


def test_layout_auto_is_channels_last_on_the_cpu_and_nchw_on_a_gpu(monkeypatch):
    assert speed.resolve_channels_last("auto", "cpu") is True
    assert speed.resolve_channels_last("false", "cpu") is False and speed.resolve_channels_last(True, "gpu") is True
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert speed.resolve_channels_last("auto", "auto") is False and speed.resolve_channels_last("auto", "gpu") is False
    with pytest.raises(UserError, match="auto, true, false"):
        speed.resolve_channels_last("nhwc", "cpu")


def test_a_sweeps_ddp_process_gets_its_runs_command_line():
    from autoenc.scale.ddp import RUN_ARGS, child_argv, config_flags

    assert config_flags(["-m", "-cn", "other", "seed=0,1", "--config-dir=/x", "trainer=ddp"]) == [
        "-cn",
        "other",
        "--config-dir=/x",
    ]
    run = '["-cn", "other", "seed=1", "hydra.run.dir=\\"/out\\""]'
    argv = ["train.py", "-m", "-cn", "other", "seed=0,1"]
    assert child_argv(argv, {"LOCAL_RANK": "1", RUN_ARGS: run}) == [
        "train.py",
        "-cn",
        "other",
        "seed=1",
        'hydra.run.dir="/out"',
        "hydra.job.name=train_ddp_process_1",
    ]
    assert child_argv(argv, {"LOCAL_RANK": "1"}) == argv and child_argv(argv, {RUN_ARGS: run}) == argv


def test_parallel_jobs_spread_over_the_gpus(monkeypatch):
    assert [speed.spread(n, 4) for n in range(6)] == [0, 1, 2, 3, 0, 1]
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert speed.gpu_for_job("gpu", 1) is None  # not under Hydra's joblib launcher
    assert speed.gpu_for_job("cpu", 1) is None and speed.gpu_for_job("gpu", 2) is None
    # under the joblib launcher: the job's number picks its GPU
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    for job, gpu in ((0, 0), (5, 1)):
        hydra = OmegaConf.create({"launcher": {"_target_": "hydra_plugins.joblib.JoblibLauncher"}, "job": {"num": job}})
        monkeypatch.setattr(HydraConfig, "get", staticmethod(lambda hydra=hydra: hydra))
        assert speed.gpu_for_job("gpu", 1) == gpu and speed.gpu_for_job("auto", "1") == gpu


@pytest.mark.slow
def test_a_compiled_run_and_a_plain_one_share_their_checkpoints(y2uv_run, make_cfg, tmp_path):
    """speed.compile compiles the network in place: the same state-dict keys, so a compiled run's
    checkpoint evaluates, colorizes, exports and resumes without compile, and the reverse."""
    from conftest import QUIET, assert_onnx_matches, compose_config

    from autoenc.inference.checkpoints import load_checkpoint
    from autoenc.inference.evaluate import evaluate
    from autoenc.inference.export import export_onnx
    from autoenc.inference.predict import predict_rgb
    from autoenc.training.fit import train

    args = ("dataset=photos", "task=y2uv", "trainer=debug", *QUIET)
    compiled = train(make_cfg(*args, "speed.compile=aot_eager", f"output_dir={tmp_path / 'compiled'}"))
    best, last = (tmp_path / "compiled" / "checkpoints" / name for name in ("best.ckpt", "last.ckpt"))
    assert list(torch.load(best, weights_only=True)["state_dict"])[0] == "net.encoder.0.weight"
    scored = evaluate(compose_config("eval", tmp_path / "eval", f"ckpt_path={best}", "accelerator=cpu"))
    assert scored["test_mse"] == pytest.approx(compiled["test_mse"], rel=1e-5)
    model, _ = load_checkpoint(best)
    assert predict_rgb(model, torch.zeros(1, 3, 40, 56)).shape == (1, 3, 40, 56)
    export_onnx(best, tmp_path / "model.onnx")
    assert_onnx_matches(tmp_path / "model.onnx", model, 1)  # the compiled run's weights, as the model has them
    plain = train(make_cfg(*args, "trainer.max_epochs=2", f"ckpt_path={last}", f"output_dir={tmp_path / 'plain'}"))
    assert plain["epochs"] == 2 and plain["resumed_from"] == str(last)
    # the reverse: a plain run's checkpoint trains on compiled (aot_eager: dynamo without a C++ build)
    again = train(
        make_cfg(
            *args,
            "trainer.max_epochs=2",
            "speed.compile=aot_eager",
            f"ckpt_path={y2uv_run}/checkpoints/last.ckpt",
            f"output_dir={tmp_path / 'again'}",
        )
    )
    assert again["epochs"] == 2 and again["history"]["train_mse"][1] < again["history"]["train_mse"][0]


def test_speed_compile_takes_a_backend_by_name_and_refuses_others():
    assert speed.compile_backend(False) is None and speed.compile_backend("false") is None
    assert speed.compile_backend(True) == "inductor" and speed.compile_backend("aot_eager") == "aot_eager"
    with pytest.raises(UserError, match="one of torch's backends: .*inductor"):
        speed.compile_backend("fastest")
