"""TensorBoard as a user sees it: a real `tensorboard` server on a tiny sweep, asked over HTTP
what its HPARAMS, SCALARS, IMAGES, TEXT, CUSTOM SCALARS and GRAPHS tabs show."""

import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import QUIET, compose_config, sweep_runs
from lightning.pytorch.loggers import TensorBoardLogger

from autoenc.inference.evaluate import evaluate
from autoenc.training import dashboard
from autoenc.training.fit import train
from autoenc.training.module import AutoEncoder

pytestmark = pytest.mark.slow  # processes and servers, as a user runs them: the full suite

HPARAMS = {
    "arch",
    "widths",
    "kernel_size",
    "block",
    "task",
    "dataset",
    "optimizer",
    "lr",
    "batch_size",
    "max_epochs",
    "seed",
    "precision",
    "latent_size",
    "params",
    "scheduler",
}


JOBS: list[str] = []  # the sweep's two run folders, once the sweep fixture made them


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TensorBoard:
    """The installed `tensorboard` command on 127.0.0.1, stopped at the end."""

    def __init__(self, logdir: Path):
        self.url = f"http://127.0.0.1:{free_port()}"
        command = Path(sys.executable).with_name("tensorboard")
        self.proc = subprocess.Popen(
            [
                str(command),
                "--logdir",
                str(logdir),
                "--host",
                "127.0.0.1",
                "--port",
                self.url.rsplit(":", 1)[1],
                "--reload_interval",
                "1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def get(self, route: str, **query):
        with urllib.request.urlopen(f"{self.url}{route}?{urllib.parse.urlencode(query)}", timeout=10) as r:
            return json.loads(r.read())

    def post(self, route: str, body: dict):
        request = urllib.request.Request(
            f"{self.url}{route}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            return json.loads(r.read())

    def wait_for_runs(self, runs: set[str], timeout: float = 30) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            assert self.proc.poll() is None, self.proc.stderr.read().decode()[-2000:]
            try:
                if runs <= set(self.get("/data/runs")) and runs <= set(self.get("/data/plugin/scalars/tags")):
                    return
            except OSError:
                pass  # not listening yet
            time.sleep(0.3)
        raise AssertionError(f"tensorboard never listed {runs}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """A 2-run sweep (reconstruct, y2uv), an eval.py result beside it, and a run that has only started."""
    root = tmp_path_factory.mktemp("sweep")
    for task in ("reconstruct", "y2uv"):  # trained here: TensorBoard reads their folders as a sweep's
        overrides = ("dataset=photos", "trainer=debug", "trainer.max_epochs=2", f"task={task}", *QUIET)
        train(compose_config("config", root / f"classic_{task}_s0", *overrides))
    JOBS[:] = sweep_runs(root)  # classic_reconstruct_s0, classic_y2uv_s0
    evaluate(compose_config("eval", root / "eval", f"ckpt_path={root / JOBS[1]}/checkpoints/best.ckpt"))
    model = AutoEncoder(widths=[16, 24, 32], task="gray2rgb")  # a run still in its first epoch
    hparams = dashboard.run_hparams("16-24-32", model.describe(), "photos", "Adam", 1e-3, 64, 15, 0, "32-true")
    dashboard.start(
        TensorBoardLogger(root / "starting", name="tb", version=""),
        hparams,
        "arch: ...",
        dashboard.network_table(model, model.describe()["latent_shape"]),
    )
    return root


@pytest.fixture(scope="module")
def board(sweep):
    tb = TensorBoard(sweep)
    tb.wait_for_runs({f"{job}/tb" for job in JOBS} | {"eval/tb"})
    yield tb
    tb.stop()
    with pytest.raises(OSError):  # the server is gone: its port no longer answers
        tb.get("/data/runs")


def session_groups(board) -> dict[str, dict]:
    statuses = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]
    body = {"experimentName": "", "allowedStatuses": statuses, "colParams": [], "startIndex": 0, "sliceSize": 100}
    return {g["name"]: g for g in board.post("/data/plugin/hparams/session_groups", body)["sessionGroups"]}


def test_hparams_tab_lists_every_run_with_its_settings_and_metrics_json_numbers(sweep, board):
    experiment = board.post("/data/plugin/hparams/experiment", {"experimentName": ""})
    assert {h["name"] for h in experiment["hparamInfos"]} == HPARAMS
    assert [m["name"]["tag"] for m in experiment["metricInfos"]] == list(dashboard.RESULT_TAGS)
    groups = session_groups(board)
    for job in JOBS:
        metrics = json.loads((sweep / job / "metrics.json").read_text())
        group = groups[f"{job}/tb"]
        hp = group["hparams"]
        assert hp["arch"] == metrics["arch"] and hp["task"] == metrics["task"] and hp["widths"] == "8-12-16"
        assert hp["lr"] == metrics["lr"] and hp["seed"] == metrics["seed"] and hp["max_epochs"] == 2
        assert hp["latent_size"] == metrics["latent_size"] and hp["params"] == metrics["params"]
        assert hp["precision"] == metrics["precision"] and hp["dataset"] == "photos" and hp["optimizer"] == "Adam"
        values = {m["name"]["tag"]: m["value"] for m in group["metricValues"]}
        assert values.keys() == dashboard.RESULT_TAGS.keys()
        for tag, key in dashboard.RESULT_TAGS.items():
            assert values[tag] == pytest.approx(metrics[key], rel=1e-6), tag  # TensorBoard keeps float32
        assert group["sessions"][0]["status"] == "STATUS_SUCCESS"
    # the run that has only started shows its settings at once, no results yet
    starting = groups["starting/tb"]
    assert starting["hparams"]["arch"] == "16-24-32" and starting["hparams"]["task"] == "gray2rgb"
    assert starting["metricValues"] == [] and starting["sessions"][0]["status"] == "STATUS_UNKNOWN"
    # eval.py's result: the same metric names, the numbers of its own metrics.json
    evaluated = json.loads((sweep / "eval" / "metrics.json").read_text())
    values = {m["name"]["tag"]: m["value"] for m in groups["eval/tb"]["metricValues"]}
    assert values["test/mse"] == pytest.approx(evaluated["test_mse"], rel=1e-6)
    assert groups["eval/tb"]["hparams"]["task"] == "y2uv"


def test_scalars_images_text_layout_and_graph(sweep, board):
    tags = board.get("/data/plugin/scalars/tags")
    run = f"{JOBS[1]}/tb"
    assert {"train/mse", "val/mse", "train/lr", "train/images_per_s", *dashboard.RESULT_TAGS} <= set(tags[run])
    history = json.loads((sweep / JOBS[1] / "metrics.json").read_text())["history"]
    for key in ("train_mse", "val_mse"):
        curve = board.get("/data/plugin/scalars/scalars", run=run, tag=key.replace("_", "/"))
        assert [v for _, _, v in curve] == pytest.approx(history[key], rel=1e-6)
    assert [v for _, _, v in board.get("/data/plugin/scalars/scalars", run=run, tag="train/lr")] == pytest.approx(
        [1e-3] * 2
    )
    assert all(v > 100 for _, _, v in board.get("/data/plugin/scalars/scalars", run=run, tag="train/images_per_s"))

    images = board.get("/data/plugin/images/images", run=run, tag="val/input_prediction_target")
    assert len(images) == 2 and images[0]["step"] < images[1]["step"]

    layout = board.get("/data/plugin/custom_scalars/layout")
    charts = {c["title"]: c["multiline"]["tag"] for cat in layout["category"] for c in cat["chart"]}
    assert charts["MSE: train and val"] == ["train/mse", "val/mse"]  # one chart, both curves

    text = board.get("/data/plugin/text/tags")[run]
    assert {"config", "network"} <= {t.split("/")[0] for t in text}
    config = board.get("/data/plugin/text/text", run=run, tag=next(t for t in text if t.startswith("config")))
    assert "y2uv" in config[0]["text"] and "max_epochs: 2" in config[0]["text"]
    network = board.get("/data/plugin/text/text", run=run, tag=next(t for t in text if t.startswith("network")))
    assert "net.encoder.0" in network[0]["text"] and "16x8x8 = 1,024" in network[0]["text"]

    graphs = board.get("/data/plugin/graphs/info")
    assert graphs[run]["run_graph"]


def graphs_written(run: Path) -> int:
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    return sum(e.HasField("graph_def") for f in (run / "tb").glob("events.*") for e in EventFileLoader(str(f)).Load())


def test_each_run_holds_its_graph_once_and_a_process_traces_each_network_once(tmp_path, monkeypatch):
    """Lightning asks for the graph at the start of fit and of test: written once. Runs of the same
    network in one process (a sweep's seeds) share the trace; another network is traced anew."""
    from autoenc.training.fit import train

    traced, trace = [], dashboard.trace_graph
    monkeypatch.setattr(dashboard.RunLogger, "traced", {})
    monkeypatch.setattr(dashboard, "trace_graph", lambda *a: traced.append(a[0].describe()["widths"]) or trace(*a))
    runs = [("classic", 0), ("classic", 1), ("4-6-8", 0)]
    for arch, seed in runs:
        train(
            compose_config(
                "config",
                tmp_path / f"{arch}_{seed}",
                "dataset=photos",
                "trainer=debug",
                f"arch={arch}",
                f"seed={seed}",
                *QUIET,
            )
        )
    assert traced == [[8, 12, 16], [4, 6, 8]]
    assert [graphs_written(tmp_path / f"{arch}_{seed}") for arch, seed in runs] == [1, 1, 1]
