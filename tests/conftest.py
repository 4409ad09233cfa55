import contextlib
import importlib
import io
import os
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import ModuleType

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
ARCHS = sorted(p.stem for p in (CONF / "arch").glob("*.yaml"))
TASKS = sorted(p.stem for p in (CONF / "task").glob("*.yaml"))


REPORTED = (
    "torch",
    "torchvision",
    "lightning",
    "hydra-core",
    "omegaconf",
    "kornia",
    "torchmetrics",
    "tensorboard",
    "pytest",
)


def import_script(name: str) -> ModuleType:
    """A command as a module, to call its main() in this process: a user command from autoenc/cli/,
    a maintainer tool from scripts/dev/."""
    if not (ROOT / "scripts" / "dev" / f"{name}.py").is_file():
        return importlib.import_module(f"autoenc.cli.{name}")
    if str(ROOT / "scripts" / "dev") not in sys.path:
        sys.path.insert(0, str(ROOT / "scripts" / "dev"))
    return importlib.import_module(name)


def in_process(name: str, *args) -> subprocess.CompletedProcess:
    """A command's main(argv) run in this process, its output captured as a new process's would be:
    for tests where a new process shows nothing a user meets (the commands' own tests start one)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = import_script(name).main([str(a) for a in args])
        except SystemExit as e:  # argparse's refusal of its arguments
            code = e.code
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def assert_onnx_matches(onnx_file: Path, model, in_channels: int) -> None:
    """onnxruntime's output of an exported model equals the model's own (network and decoding), on
    pictures of several sizes and batch sizes (its axes are dynamic)."""
    import numpy as np
    import torch

    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    model = model.cpu().float().eval()
    for shape in [(1, in_channels, 32, 32), (3, in_channels, 36, 52), (2, in_channels, 64, 20)]:
        x = torch.rand(*shape, generator=torch.Generator().manual_seed(len(shape))) * 2 - 1
        got = session.run(None, {"input": x.numpy()})[0]
        with torch.no_grad():
            np.testing.assert_allclose(got, model.decode(model.net(x)).numpy(), atol=1e-4, rtol=0)


def pytest_report_header(config) -> str:
    """The versions that matter, at the top of every test run: a failure elsewhere says what they had."""

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    return "versions: " + ", ".join([f"python {platform.python_version()}"] + [f"{n} {installed(n)}" for n in REPORTED])


def pytest_configure(config) -> None:
    """Under pytest-xdist (pyproject's addopts: -n auto) the test processes share the cores: each
    gets its share of CPU threads, and so do the processes it starts (two processes of two threads
    on two cores wait on each other many times over)."""
    worker = getattr(config, "workerinput", None)  # set in xdist's workers only
    if worker:
        threads = max(1, len(os.sched_getaffinity(0)) // worker["workercount"])
        os.environ["OMP_NUM_THREADS"] = str(threads)
        import torch

        torch.set_num_threads(threads)


def pytest_collection_modifyitems(config, items) -> None:
    """The cluster's tests first (they wait on SLURM while the other workers run the rest), then the
    files with slow tests, the quick ones last to fill the gaps: pytest-xdist hands out whole files
    in the order of their first test."""
    items.sort(key=lambda item: (item.get_closest_marker("slurm") is None, item.get_closest_marker("slow") is None))


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    """The maintainer tools' tests (tests/dev/) run when asked for (pytest tests/dev; CI does), not in
    the user suite's default run."""
    dev = ROOT / "tests" / "dev"
    if collection_path != dev:
        return None
    asked = (Path(arg.split("::")[0]).resolve() for arg in config.args)
    return not any(path == dev or dev in path.parents for path in asked)


QUIET = ("trainer.accelerator=cpu", "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false")


def compose_config(name: str, output_dir: Path, *overrides: str) -> DictConfig:
    """Compose conf/<name>.yaml with overrides, as train.py / eval.py would, writing into output_dir.
    On the CPU unless an override names the accelerator: on a GPU machine too, the tests that are
    not marked gpu keep their exact CPU tolerances (no TF32, cuDNN autotuning or atomics)."""
    key = "trainer.accelerator" if name == "config" else "accelerator"
    pinned = [] if any(o.startswith(f"{key}=") for o in overrides) else [f"{key}=cpu"]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(name, overrides=[f"output_dir={output_dir}", *pinned, *overrides])


@pytest.fixture(autouse=True)
def no_gpu_unless_marked(request, monkeypatch):
    """The processes a test starts (train.py, eval.py, scripts) see no GPU unless the test is marked
    gpu: the same results on a GPU machine as on a laptop."""
    if request.node.get_closest_marker("gpu") is None:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")


@pytest.fixture(scope="session", autouse=True)
def private_cache_home(tmp_path_factory):
    """dataset=images caches decoded tiles under $XDG_CACHE_HOME: the tests' own, not the user's
    (os.environ, so that the train.py processes the tests start see it too)."""
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache_home"))
    yield
    if old is None:
        os.environ.pop("XDG_CACHE_HOME")
    else:
        os.environ["XDG_CACHE_HOME"] = old


def sweep_runs(sweep: Path) -> list[str]:
    """The run folders of a sweep (<arch>_<task>_s<seed>_<hash of the overrides>), sorted by name."""
    return sorted(p.name for p in sweep.iterdir() if p.is_dir() and (p / ".hydra").is_dir())


@pytest.fixture
def make_cfg(tmp_path):
    return lambda *overrides: compose_config("config", tmp_path, *overrides)


@pytest.fixture(scope="session")
def y2uv_run(tmp_path_factory) -> Path:
    """A small y2uv model trained once for the tests that use a checkpoint: its run folder."""
    from autoenc.training.fit import train

    out = tmp_path_factory.mktemp("y2uv_run")
    overrides = ("dataset=photos", "task=y2uv", "trainer=debug", "trainer.limit_val_batches=1.0", *QUIET)
    train(compose_config("config", out, *overrides))
    return out
