"""conf/logger: csv and mlflow beside the default tensorboard, one or several at once. MLflow is
asked through its own client, against a real tracking server on localhost (sqlite backend store,
a local artifact folder)."""

import csv
import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import QUIET, compose_config
from test_dashboard import free_port

from autoenc import UserError
from autoenc.training.config import read_config
from autoenc.training.fit import train

QUICK = ("dataset=photos", "trainer=debug", "trainer.max_epochs=2", *QUIET)


def test_csv_logger_writes_every_epoch_and_the_test_at_the_optimizer_step(tmp_path):
    metrics = train(compose_config("config", tmp_path, *QUICK, "logger=csv"))
    rows = list(csv.DictReader((tmp_path / "csv" / "metrics.csv").open()))
    val = [(int(r["step"]), float(r["val/mse"])) for r in rows if r.get("val/mse")]
    assert val == [(8, metrics["history"]["val_mse"][0]), (16, metrics["history"]["val_mse"][1])]
    test = [r for r in rows if r.get("test/mse")]
    assert len(test) == 1 and float(test[0]["test/mse"]) == pytest.approx(metrics["test_mse"], rel=1e-6)
    assert float(next(r for r in rows if r.get("val/best_mse"))["val/best_mse"]) == metrics["best_val_mse"]
    assert not (tmp_path / "tb").exists()  # only the logger asked for


def test_no_logger_and_an_unknown_logger(tmp_path):
    metrics = train(compose_config("config", tmp_path / "none", *QUICK, "trainer.max_epochs=1", "~logger"))
    assert metrics["test_mse"] > 0 and not (tmp_path / "none" / "tb").exists()
    cfg = compose_config("config", tmp_path / "typo", *QUICK, "+logger.wandb={}")
    with pytest.raises(UserError, match="logger='wandb' is unknown; valid loggers: tensorboard, csv, mlflow"):
        read_config(cfg)


class MLflowServer:
    """`mlflow server` on 127.0.0.1: runs in a sqlite file, artifacts in a folder; stopped at the end."""

    def __init__(self, folder: Path):
        self.url = f"http://127.0.0.1:{free_port()}"
        command = Path(sys.executable).with_name("mlflow")
        args = [
            "server",
            "--backend-store-uri",
            f"sqlite:///{folder / 'mlflow.db'}",
            "--artifacts-destination",
            str(folder / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            self.url.rsplit(":", 1)[1],
            "--workers",
            "1",
        ]
        self.proc = subprocess.Popen([str(command), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def wait(self, timeout: float = 120) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise TimeoutError(f"mlflow server did not answer within {timeout} s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.mark.skipif(
    shutil.which("mlflow", path=str(Path(sys.executable).parent)) is None, reason="mlflow not installed"
)
@pytest.mark.slow
def test_mlflow_and_tensorboard_at_once_on_a_real_tracking_server(tmp_path):
    from mlflow.tracking import MlflowClient

    server = MLflowServer(tmp_path / "server")
    try:
        server.wait()
        run_dir = tmp_path / "run"
        overrides = (*QUICK, "task=y2uv", "logger=[tensorboard,mlflow]", f"logger.mlflow.tracking_uri={server.url}")
        metrics = train(compose_config("config", run_dir, *overrides))
        client = MlflowClient(server.url)
        experiment = client.get_experiment_by_name("autoenc")
        (run,) = client.search_runs([experiment.experiment_id])
        assert run.info.run_name == run_dir.name and run.data.tags["run_folder"] == str(run_dir.resolve())
        params = run.data.params
        assert params["arch"] == "classic" and params["task"] == "y2uv" and float(params["lr"]) == 1e-3
        assert params["dataset"] == "photos" and int(params["max_epochs"]) == 2
        history = client.get_metric_history(run.info.run_id, "val/mse")
        assert [m.step for m in history] == [8, 16]
        assert [m.value for m in history] == pytest.approx(metrics["history"]["val_mse"], rel=1e-6)
        assert len(client.get_metric_history(run.info.run_id, "train/mse")) == 2
        assert run.data.metrics["test/mse"] == pytest.approx(metrics["test_mse"], rel=1e-6)
        assert run.data.metrics["val/best_mse"] == pytest.approx(metrics["best_val_mse"], rel=1e-6)
        best = client.download_artifacts(run.info.run_id, "best/best.ckpt", str(tmp_path / "download"))
        assert Path(best).read_bytes() == (run_dir / metrics["best_checkpoint"]).read_bytes()
        assert list((run_dir / "tb").glob("events.out.tfevents.*"))  # TensorBoard too
        assert json.loads((run_dir / "metrics.json").read_text())["test_mse"] == metrics["test_mse"]
    finally:
        server.stop()
