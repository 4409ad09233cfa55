"""What a run folder records of its config (.hydra/), and the check that a folder is only ever
taken for the run it holds: a finished or half-trained run of another config is refused, never
reported or resumed, whatever the folder's name."""

import hashlib
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from autoenc import OtherRunsFolder

# Keys that change how a run goes, not what it trains (speed.* changes speed, not results:
# tests/test_speed.py), or where it writes or logs: two configs that differ only here are the same run.
NOT_THE_RUN = (
    "output_dir",
    "retrain",
    "ckpt_path",
    "speed",
    "trainer.enable_progress_bar",
    "trainer.enable_model_summary",
    "trainer.log_every_n_steps",
    "dataset.cache_dir",
    "dataset.download",
    "logger",
)

PROBE_FILE = "probe/probe.json"  # a run's linear probe (autoenc/inference/latents.py, make_table --probe)


def short_hash(text) -> str:
    """The hash in run and sweep folder names (conf/config.yaml): of the overrides' text."""
    return hashlib.sha1(str(text).encode()).hexdigest()[:8]


class AnotherRunsFolder(OtherRunsFolder):
    """This run folder holds a run of another config: nothing here may be touched."""


def save_hydra_config(out: Path, cfg: DictConfig) -> None:
    """.hydra/config.yaml, and under Hydra hydra.yaml and overrides.yaml, as Hydra writes them
    (each written beside its name, then renamed). Hydra's own writing is off (conf/config.yaml
    hydra.output_subdir), so that a second copy of a command, refused by the lock, cannot
    overwrite a running run's record."""
    from hydra.core.hydra_config import HydraConfig

    folder = out / ".hydra"
    folder.mkdir(exist_ok=True)
    records = {"config.yaml": cfg}
    if HydraConfig.initialized():
        records |= {"hydra.yaml": HydraConfig.instance().cfg, "overrides.yaml": HydraConfig.get().overrides.task}
    for name, content in records.items():
        OmegaConf.save(content, folder / f"{name}.tmp")
        (folder / f"{name}.tmp").replace(folder / name)


def holds_a_run(out: Path) -> bool:
    return (out / "metrics.json").is_file() or (out / "checkpoints").is_dir()


def record_new_run(out: Path, cfg: DictConfig) -> None:
    """The record describes the training: written when the folder holds no run yet, kept when a
    command reports or resumes the run there (its speed.* or ckpt_path may differ)."""
    if not holds_a_run(out) or not (out / ".hydra" / "config.yaml").is_file():
        save_hydra_config(out, cfg)


def check_same_run(out: Path, cfg: DictConfig) -> None:
    """Refuse, in one line, a folder that holds results or checkpoints of a run whose recorded
    config trains something else (retrain=true replaces them, setting them aside)."""
    recorded = out / ".hydra" / "config.yaml"
    if cfg.get("retrain") or not holds_a_run(out) or not recorded.is_file():
        return
    try:
        earlier = OmegaConf.load(recorded)
    except Exception as e:  # a damaged record: never guess whose run it is
        raise AnotherRunsFolder(
            f"{out} holds a run whose record {recorded} cannot be read ({type(e).__name__}); nothing there was "
            "touched: choose another folder, or add retrain=true"
        ) from None
    differ = differences(what_it_trains(earlier), what_it_trains(cfg))
    if differ:
        shown = "; ".join(f"{key}: {there} there, {here} here" for key, (there, here) in differ.items())
        raise AnotherRunsFolder(
            f"{out} holds a run of another config ({shown}); nothing there was touched: choose another folder "
            "(hydra.run.dir=... / hydra.sweep.dir=...), or add retrain=true to set that run aside and train this one"
        )


def holds_another_run(out: Path, cfg: DictConfig) -> bool:
    """Whether check_same_run refuses this folder: a command that failed must not write there."""
    try:
        check_same_run(out, cfg)
    except AnotherRunsFolder:
        return True
    return False


def what_it_trains(cfg: DictConfig) -> dict:
    """The config as flat dotted keys, without the keys that do not change the trained model."""
    flat: dict = {}

    def walk(node, prefix: str) -> None:
        for key, value in node.items():
            path = f"{prefix}{key}"
            if path in NOT_THE_RUN:
                continue
            if isinstance(value, dict):
                walk(value, f"{path}.")
            else:
                flat[path] = value

    walk(OmegaConf.to_container(cfg, resolve=False), "")
    return flat


def differences(there: dict, here: dict) -> dict[str, tuple]:
    """Keys set on both sides to different values (a key on one side only is a setting that did
    not exist when the other was recorded: it had its default there)."""
    return {k: (there[k], here[k]) for k in sorted(set(there) & set(here)) if there[k] != here[k]}
