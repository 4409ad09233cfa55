"""The test split's no-colour baselines (a property of the split, one set per dataset), and the
split itself, loaded once per dataset for them and for the plots' strips."""

import json
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import OmegaConf

if TYPE_CHECKING:
    import torch


def baselines(results: list[dict]) -> dict[str, dict]:
    """The no-colour baselines are properties of the test split: one set per dataset. The gray image's
    RGB scores come from the runs; the task-space MSE of predicting no colour (U = V = 0, a = b = 0, the
    gray image for gray2rgb) is computed here from the test split itself."""
    from autoenc.model.tasks import colour_tasks, get_task

    out: dict[str, dict] = {}
    for r in results:
        if "test_gray_mse_rgb" not in r or r["dataset"] in out:
            continue
        b = out[r["dataset"]] = {
            k: r[f"test_gray_{k}"] for k in ("mse_rgb", "psnr", "ssim", "colour_distance") if f"test_gray_{k}" in r
        }
        rgb = load_test_split(Path(r["path"]))
        for name in colour_tasks():
            task = get_task(name)
            x, target = task.split(rgb)
            b[name] = (task.no_colour(x, target) - target).square().mean().item()
    return out


_TEST_SPLITS: dict[str, "torch.Tensor"] = {}


def load_test_split(job: Path, n: int | None = None) -> "torch.Tensor":
    """The first n (default all) test images of a job's dataset, RGB in [-1, 1], loaded once per dataset."""
    from autoenc.data.datamodule import ImageDataModule
    from autoenc.model.tasks import to_unit_rgb

    dataset = OmegaConf.to_container(OmegaConf.load(job / ".hydra" / "config.yaml").dataset)
    key = json.dumps(dataset, sort_keys=True)
    if key not in _TEST_SPLITS:
        data = ImageDataModule(**dataset)
        data.setup()
        _TEST_SPLITS[key] = to_unit_rgb(data.test_set, channels_last=False)
    return _TEST_SPLITS[key][:n]
