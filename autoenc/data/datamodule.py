"""Data (conf/dataset): a source (autoenc/data/sources.py) -> one uint8 (N, 32, 32, 3) tensor ->
seeded split -> batches.

Images stay uint8 in memory; the LightningModule converts each batch to [-1, 1] floats.
"""

from collections.abc import Callable

import lightning as L
import numpy as np
import torch

from autoenc import UserError
from autoenc.data.batches import Batches
from autoenc.data.sources import SPLITS, check_dataset, load_source

EVAL_BATCH = 1000  # pictures a validation or test batch holds (at least the training's batch)

# --- split and batches ------------------------------------------------------------------


def split_indices(n: int, split: str, seed: int, n_official_train: int | None = None):
    """(train, val, test) index tensors. study: all pooled, 80/10/10 at random (seeded);
    official: CIFAR-10's own train/test, 10% of train held out for validation."""
    g = torch.Generator().manual_seed(seed)
    if split == "study":
        order, k = torch.randperm(n, generator=g), n // 10
        return order[: n - 2 * k], order[n - 2 * k : n - k], order[n - k :]
    if split == "official":
        if n_official_train is None:
            raise UserError("dataset.split=official exists only for cifar10; use dataset.split=study")
        order, k = torch.randperm(n_official_train, generator=g), n_official_train // 10
        return order[k:], order[:k], torch.arange(n_official_train, n)
    raise UserError(f"dataset.split={split!r}: must be one of {', '.join(SPLITS)}")


class ImageDataModule(L.LightningDataModule):
    """One of the sources, split once (seeded), served as uint8 batches."""

    def __init__(
        self,
        name: str = "photos",
        root: str | None = None,
        batch_size: int = 64,
        split: str = "study",
        split_seed: int = 0,
        download: bool = True,
        on_error: str = "skip",
        cache_dir: str | None = None,
        seed: int = 0,
        on_device: bool = True,
        steps_per_call: int = 1,
        train_limit: int | float = 1.0,
        reuse: bool = False,
        prepare: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ):
        super().__init__()
        self.save_hyperparameters(
            ignore=["reuse", "prepare"], logger=False
        )  # into each checkpoint: eval.py finds the data
        check_dataset(name, root, batch_size, split)
        self.name, self.root, self.batch_size, self.split = name, root, batch_size, split
        self.split_seed, self.download, self.on_error, self.seed = split_seed, download, on_error, seed
        self.on_device, self.steps_per_call, self.cache_dir = on_device, steps_per_call, cache_dir
        self.train_limit = train_limit  # trainer.limit_train_batches, in batches (Lightning would count blocks)
        self.reuse = reuse  # the pictures this process loaded for an earlier run of its sweep
        self.prepare = prepare  # the training split's fixed per-picture work, done once (on its device)
        self.train_set = self.val_set = self.test_set = self.all_set = None
        self.labels: dict[str, torch.Tensor] = {}  # split -> each picture's class, -1 where none (self.classes)
        self.classes: list[str] = []

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        loaded = load_source(self.name, self.root, self.download, self.on_error, self.cache_dir, self.reuse)
        self.classes, labels = loaded.classes, loaded.labels
        self.all_set = images = torch.from_numpy(np.ascontiguousarray(loaded.pictures))  # every picture, in order
        idx = split_indices(len(images), self.split, self.split_seed, loaded.official_train)
        self.train_set, self.val_set, self.test_set = (images[i] for i in idx)
        labels = torch.from_numpy(labels) if labels is not None else torch.full((len(images),), -1)
        parts = zip(("train", "val", "test"), idx, strict=True)
        self.labels = {"all": labels, **{part: labels[i] for part, i in parts}}

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train_set), "val": len(self.val_set), "test": len(self.test_set)}

    @property
    def eval_batch_size(self) -> int:
        """Validation and test take large batches: every score is a sum over pictures, so the batch size
        moves none (tests/test_speed.py), and a GPU gets fewer, fuller launches."""
        return max(self.batch_size, EVAL_BATCH)

    def _batches(self, images: torch.Tensor, shuffle: bool = False, group: int = 1, limit=1.0, prepare=None) -> Batches:
        rank, world = 0, 1
        if self.trainer is not None:
            rank, world = self.trainer.global_rank, self.trainer.world_size
            if self.on_device:  # one copy on the training device, no transfer per batch
                images = images.to(self.trainer.strategy.root_device)
        if prepare is not None:
            images = prepare(images)
        size = self.batch_size if shuffle else self.eval_batch_size
        return Batches(images, size, shuffle, self.seed, rank, world, group, limit)

    def train_dataloader(self) -> Batches:
        return self._batches(
            self.train_set, shuffle=True, group=self.steps_per_call, limit=self.train_limit, prepare=self.prepare
        )

    def val_dataloader(self) -> Batches:
        return self._batches(self.val_set)

    def test_dataloader(self) -> Batches:
        return self._batches(self.test_set)
