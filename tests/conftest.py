from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
ARCHS = sorted(p.stem for p in (CONF / "arch").glob("*.yaml"))
TASKS = sorted(p.stem for p in (CONF / "task").glob("*.yaml"))


@pytest.fixture
def make_cfg(tmp_path):
    """Compose conf/config.yaml with overrides, as train.py would, writing into tmp_path."""

    def make(*overrides: str) -> DictConfig:
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            return compose("config", overrides=[f"output_dir={tmp_path}", *overrides])

    return make
