"""Extending autoenc from outside the package, as README "Extend autoenc" shows: a task is a
registered Task subclass and its config, a dataset a registered source and its config. Each
trains, and a table is made of the runs."""

import numpy as np
import pytest
import torch
from conftest import QUIET, compose_config
from hydra.core.config_store import ConfigStore

from autoenc.data.sources import SOURCES, Loaded, register_source
from autoenc.model.tasks import TASKS, Task, register_task
from autoenc.report.table import make_table
from autoenc.training.fit import train


class Negative(Task):
    """A toy task: the picture in, its negative out."""

    name = "negative"

    def split(self, rgb: torch.Tensor, fixed: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        return rgb, -rgb

    def to_rgb(self, inputs: torch.Tensor, outputs: torch.Tensor) -> torch.Tensor:
        return -outputs.float()


def stripes(**_) -> Loaded:
    """A toy dataset: 300 pictures of coloured stripes, in 3 classes by their direction."""
    rng = np.random.default_rng(0)
    ramp = (np.sin(np.arange(32) / rng.uniform(1, 4, (300, 1))) + 1) * 127.5  # (300, 32)
    labels = rng.integers(0, 3, 300)
    pictures = np.where(labels[:, None, None] == 0, ramp[:, None, :], ramp[:, :, None]) * np.ones((1, 32, 32))
    pictures = pictures[..., None] * rng.uniform(0.2, 1, (300, 1, 1, 3))
    return Loaded(pictures.astype(np.uint8), labels, ["across", "down", "down again"])


@pytest.fixture
def extended():
    """The toy task and dataset registered, with their configs, for this test only."""
    register_task(Negative)
    register_source("stripes")(stripes)
    store = ConfigStore.instance()
    store.store(group="task", name="negative", node={"name": "negative"})
    store.store(
        group="dataset",
        name="stripes",
        node={"name": "stripes", "root": None, "batch_size": 32, "split": "study", "split_seed": 0},
    )
    yield
    TASKS.pop("negative")
    SOURCES.pop("stripes")
    store.repo["task"].pop("negative.yaml")
    store.repo["dataset"].pop("stripes.yaml")


def test_a_task_and_a_dataset_from_outside_the_package_train_and_make_a_table(tmp_path, extended):
    sweep = tmp_path / "sweep"
    one_epoch = ("trainer=debug", "trainer.limit_val_batches=1.0", *QUIET)
    negative = train(compose_config("config", sweep / "negative", "dataset=photos", "task=negative", *one_epoch))
    striped = train(compose_config("config", sweep / "stripes", "dataset=stripes", *one_epoch))
    assert negative["task"] == "negative"
    assert negative["test_mse_rgb"] == pytest.approx(negative["test_mse"], rel=1e-5)  # its to_rgb: -prediction
    assert striped["dataset"] == "stripes" and sum(striped["sizes"].values()) == 300
    table = make_table([sweep])
    rows = [line.split("|")[1:-1] for line in table.splitlines() if line.startswith("| classic")]
    assert [(r[1].strip(), r[2].strip()) for r in rows] == [("reconstruct", "stripes"), ("negative", "photos")]
    assert float(rows[1][8]) == pytest.approx(negative["test_mse"], abs=5e-6)
    assert (sweep / "strip_negative.png").is_file() and (sweep / "strip_reconstruct.png").is_file()
