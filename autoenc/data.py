"""Data (conf/dataset): sources -> one uint8 (N, 32, 32, 3) tensor -> seeded split -> batches.

Images stay uint8 in memory; the LightningModule converts each batch to [-1, 1] floats.
Sources: cifar10 (torchvision), photos (tiles of scikit-image's colour photos, offline),
images (any folder of pictures, tiled).
"""

import functools
import math
import os
import socket
import warnings
from pathlib import Path

import lightning as L
import numpy as np
import torch

from autoenc import UserError

TILE = 32
SPLITS = ("study", "official")
SOURCES = ("cifar10", "photos", "images")
PICTURE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


def tiles(picture: np.ndarray) -> np.ndarray:
    """(H, W, 3) -> (n, 32, 32, 3) non-overlapping tiles, the right/bottom remainder dropped."""
    h, w = picture.shape[0] // TILE, picture.shape[1] // TILE
    t = picture[: h * TILE, : w * TILE].reshape(h, TILE, w, TILE, 3).swapaxes(1, 2)
    return t.reshape(h * w, TILE, TILE, 3)


# --- CIFAR-10 --------------------------------------------------------------------------


def cifar10_candidates(root: str | os.PathLike) -> list[Path]:
    """Folders that may hold cifar-10-batches-py: root, then the copies a user may have."""
    root = Path(root).expanduser()
    keras = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"
    found = [root, keras, keras / "cifar-10-batches-py_extracted"]  # Keras 2, Keras 3 layouts
    if root.name == "cifar-10-batches-py":
        found.insert(1, root.parent)
    return found


def load_cifar10(root: str | os.PathLike, download: bool) -> tuple[np.ndarray, int]:
    """All 60,000 images (the 50,000 official training images first) and that count."""
    from torchvision.datasets import CIFAR10

    candidates = cifar10_candidates(root)
    folder = next((c for c in candidates if (c / CIFAR10.base_folder / "data_batch_1").is_file()), None)
    if folder is None and download:
        folder = Path(root).expanduser()
        try:
            old = socket.getdefaulttimeout()
            socket.setdefaulttimeout(30)
            CIFAR10(str(folder), train=True, download=True)
        except Exception as e:  # no network, refused, timed out, bad archive: all one answer
            reason = f"download failed ({type(e).__name__}: {e})"
            folder = None
        finally:
            socket.setdefaulttimeout(old)
    else:
        reason = "download is off (dataset.download=false)"
    if folder is None:
        looked = "\n".join(f"  - {c / CIFAR10.base_folder}" for c in candidates)
        raise UserError(
            f"CIFAR-10 not found. Looked in:\n{looked}\nand {reason}.\n"
            f"Fetch {CIFAR10.url} ({CIFAR10.filename}, 163 MB, md5 {CIFAR10.tgz_md5}) and extract it "
            f"in {Path(root).expanduser()}/ so that {Path(root).expanduser() / CIFAR10.base_folder}/data_batch_1 "
            f"exists, or point dataset.root at the folder that holds {CIFAR10.base_folder}/.\n"
            "To run offline without it: python train.py dataset=photos"
        )
    try:
        train, test = (CIFAR10(str(folder), train=t, download=False) for t in (True, False))
    except RuntimeError as e:
        raise UserError(
            f"CIFAR-10 files in {folder / CIFAR10.base_folder} failed their checksum ({e}): "
            "the copy is partial or corrupt; delete it and download again"
        ) from None
    return np.concatenate([train.data, test.data]), len(train.data)


# --- photos: offline tiles of scikit-image's colour photos -----------------------------

PHOTO_SCALES = (1.0, 0.75, 0.5, 0.25)
PHOTO_NAMES = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "stereo_motorcycle",
)


@functools.cache
def photo_tiles(min_std: float = 4.0) -> np.ndarray:
    """Deterministic 32x32 tiles cut at several scales from the colour photos that ship with
    scikit-image; near-flat tiles (pixel std < min_std, e.g. retina's black border) dropped.
    Cached: treat the result as read-only."""
    import skimage.data
    from PIL import Image

    pictures = []
    for name in PHOTO_NAMES:
        p = getattr(skimage.data, name)()
        pictures += list(p[:2]) if name == "stereo_motorcycle" else [p]  # left and right views
    out = []
    for p in pictures:
        img = Image.fromarray(p[..., :3])
        for s in PHOTO_SCALES:
            size = (round(img.width * s), round(img.height * s))
            t = tiles(np.asarray(img if s == 1 else img.resize(size, Image.Resampling.LANCZOS)))
            out.append(t[t.reshape(len(t), -1).std(axis=1) >= min_std])
    return np.concatenate(out)


# --- images: any folder of pictures -----------------------------------------------------


def folder_tiles(root: str | os.PathLike, on_error: str = "skip", cache_dir: str | os.PathLike | None = None):
    """Every picture under root (recursively), as RGB, cut into non-overlapping 32x32 tiles;
    with cache_dir ("auto": ~/.cache/autoenc), decoded once and kept there (autoenc/cache.py)."""
    from autoenc.cache import cached_tiles, default_dir

    if on_error not in ("skip", "raise"):
        raise UserError(f"dataset.on_error={on_error!r}: must be 'skip' or 'raise'")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise UserError(f"dataset.root={str(root)!r} is not a folder of pictures")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in PICTURE_SUFFIXES and p.is_file())
    if cache_dir and on_error == "skip":  # on_error=raise must look at every file: no cache
        cache = default_dir() if str(cache_dir) == "auto" else cache_dir
        out = cached_tiles(cache, root, files, f"tile {TILE}", lambda: decode(files, on_error))
    else:
        out, messages = decode(files, on_error)
        for message in messages:
            warnings.warn(message, stacklevel=2)
    if len(out) < 10:
        raise UserError(
            f"dataset.root={str(root)!r}: {len(files)} picture file(s) ({', '.join(sorted(PICTURE_SUFFIXES))}) "
            f"gave {len(out)} tiles of {TILE}x{TILE}; need at least 10 to split into train/val/test"
        )
    return out


def decode(files: list[Path], on_error: str) -> tuple[np.ndarray, list[str]]:
    """(tiles of every readable picture, warnings about the others)."""
    from PIL import Image

    out, bad, small = [np.zeros((0, TILE, TILE, 3), np.uint8)], [], 0
    for f in files:
        try:
            with Image.open(f) as im:
                picture = np.asarray(im.convert("RGB"))
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
            if on_error == "raise":
                raise UserError(f"cannot read picture {f}: {e}") from None
            bad.append(f)
            continue
        t = tiles(picture)
        small += len(t) == 0
        out.append(t)
    messages = []
    if bad:
        shown = ", ".join(str(b) for b in bad[:5]) + (" ..." if len(bad) > 5 else "")
        messages.append(f"skipped {len(bad)} unreadable picture(s) of {len(files)}: {shown}")
    if small:
        messages.append(f"{small} picture(s) smaller than {TILE}x{TILE} gave no tile")
    return np.concatenate(out), messages


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


class Batches:
    """Batches of a uint8 (N, H, W, C) tensor, each one slice of a per-epoch permutation
    (shuffle) or of the data in order; no per-sample Python work, no workers. The tensor may
    live on the training device. With several processes (rank of world), each takes its own
    shard: when shuffling, equal shards of a permutation all ranks share (a remainder of fewer
    than `world` samples sits out that epoch); in order, every sample exactly once. With
    group > 1 each item is a tuple of up to `group` consecutive batches (one gather), which the
    training step takes in turn (speed.steps_per_call)."""

    def __init__(self, images: torch.Tensor, batch_size: int, shuffle: bool = False, seed: int = 0,
                 rank: int = 0, world: int = 1, group: int = 1):  # fmt: skip
        self.images, self.batch_size, self.shuffle, self.seed = images, batch_size, shuffle, seed
        self.group = max(1, int(group))
        self.rank, self.world, self.epoch = rank, world, 0
        self.sampler, self.batch_sampler = self, None  # where Lightning looks for set_epoch

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _size(self) -> int:
        n = len(self.images)
        return n // self.world if self.shuffle else len(range(self.rank, n, self.world))

    def __len__(self) -> int:
        return math.ceil(math.ceil(self._size() / self.batch_size) / self.group)

    def __iter__(self):
        n, b = len(self.images), self.batch_size
        if self.group > 1:
            yield from (block.split(b) for block in self._slices(n, b * self.group))
            return
        yield from self._slices(n, b)

    def _slices(self, n: int, b: int):
        if not self.shuffle and self.world == 1:
            yield from (self.images[i : i + b] for i in range(0, n, b))
            return
        if self.shuffle:
            order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed * 100_003 + self.epoch))
            order = order[self.rank : self._size() * self.world : self.world]
        else:
            order = torch.arange(self.rank, n, self.world)
        order = order.to(self.images.device)
        yield from (self.images[order[i : i + b]] for i in range(0, len(order), b))


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
    ):
        super().__init__()
        self.save_hyperparameters()  # into each checkpoint, so eval.py finds the run's data
        if name not in SOURCES:
            raise UserError(f"dataset={name!r} is unknown; valid datasets: {', '.join(SOURCES)}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise UserError(f"dataset.batch_size={batch_size}: must be a positive integer")
        if split not in SPLITS:
            raise UserError(f"dataset.split={split!r}: must be one of {', '.join(SPLITS)}")
        self.name, self.root, self.batch_size, self.split = name, root, batch_size, split
        self.split_seed, self.download, self.on_error, self.seed = split_seed, download, on_error, seed
        self.on_device, self.steps_per_call, self.cache_dir = on_device, steps_per_call, cache_dir
        self.train_set = self.val_set = self.test_set = None

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        images, n_official = self.load()
        images = torch.from_numpy(np.ascontiguousarray(images))
        idx = split_indices(len(images), self.split, self.split_seed, n_official)
        self.train_set, self.val_set, self.test_set = (images[i] for i in idx)

    def load(self) -> tuple[np.ndarray, int | None]:
        if self.name == "cifar10":
            return load_cifar10(self.root or "data", self.download)
        if self.name == "photos":
            return photo_tiles(), None
        if self.root is None:
            raise UserError("dataset=images needs dataset.root=/path/to/a/folder/of/pictures")
        return folder_tiles(self.root, self.on_error, self.cache_dir), None

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train_set), "val": len(self.val_set), "test": len(self.test_set)}

    def _batches(self, images: torch.Tensor, shuffle: bool = False, group: int = 1) -> Batches:
        rank, world = 0, 1
        if self.trainer is not None:
            rank, world = self.trainer.global_rank, self.trainer.world_size
            if self.on_device:  # one copy on the training device, no transfer per batch
                images = images.to(self.trainer.strategy.root_device)
        return Batches(images, self.batch_size, shuffle, self.seed, rank, world, group)

    def train_dataloader(self) -> Batches:
        return self._batches(self.train_set, shuffle=True, group=self.steps_per_call)

    def val_dataloader(self) -> Batches:
        return self._batches(self.val_set)

    def test_dataloader(self) -> Batches:
        return self._batches(self.test_set)
