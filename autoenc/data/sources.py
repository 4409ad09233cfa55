"""Picture sources (conf/dataset): each one a function -> a uint8 (N, 32, 32, 3) array of tiles,
with their classes where it has them; registered by name, as conf/dataset/<name>.yaml names it.

cifar10 (torchvision, checksummed), photos (tiles of scikit-image's colour photos, offline),
images (any folder of pictures, tiled; decoded once into a cache), array (pictures already
decoded, in a .npz or .npy file). Another source: a function decorated with
@register_source("name") and a conf/dataset/name.yaml (README, "Extend autoenc").
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autoenc import UserError

SPLITS = ("study", "official")


@dataclass
class Loaded:
    pictures: np.ndarray  # uint8 (N, 32, 32, 3) RGB
    labels: np.ndarray | None = None  # each picture's class, -1 where none
    classes: list[str] = field(default_factory=list)  # the classes' names
    official_train: int | None = None  # how many of the first pictures are an official training split


@dataclass(frozen=True)
class Source:
    load: Callable[..., Loaded]  # (root, download, on_error, cache_dir) -> Loaded
    root: str | None = None  # what dataset.root must name, where the source needs it
    missing: Callable[[Path], str | None] | None = None  # why a given root cannot be it (checked before loading)


SOURCES: dict[str, Source] = {}


def register_source(name: str, root: str | None = None, missing: Callable[[Path], str | None] | None = None):
    """A picture source by name: load(root, download, on_error, cache_dir) -> Loaded. root: what
    dataset.root must name (e.g. "a/folder/of/pictures"), where the source cannot do without it;
    missing(root): why a root cannot be one, answered before anything is imported or loaded."""

    def register(load: Callable[..., Loaded]) -> Callable[..., Loaded]:
        SOURCES[name] = Source(load, root, missing)
        return load

    return register


def check_dataset(name: str, root: str | None, batch_size: int, split: str) -> None:
    """conf/dataset's settings that cannot work, one line each, before anything is loaded."""
    if name not in SOURCES:
        raise UserError(f"dataset={name!r} is unknown; valid datasets: {', '.join(SOURCES)}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise UserError(f"dataset.batch_size={batch_size}: must be a positive integer")
    if split not in SPLITS:
        raise UserError(f"dataset.split={split!r}: must be one of {', '.join(SPLITS)}")
    source = SOURCES[name]
    if root is None and source.root:
        raise UserError(f"dataset={name} needs dataset.root=/path/to/{source.root}")
    if root is not None and source.missing and (why := source.missing(Path(root).expanduser())):
        raise UserError(f"dataset.root={root!r}{why}")


KEPT: dict[tuple, Loaded] = {}  # what a sweep's process loaded: its later runs take it again


def load_source(
    name: str, root: str | None, download: bool, on_error: str, cache_dir: str | None, reuse: bool = False
) -> Loaded:
    """The source's pictures. reuse: the ones this process loaded already with the same settings (the
    runs of one sweep: a folder of 60,000 pictures is listed and its cache checked once, not per run)."""
    key = (name, root, download, on_error, cache_dir)
    if reuse and key in KEPT:
        return KEPT[key]
    loaded = SOURCES[name].load(root=root, download=download, on_error=on_error, cache_dir=cache_dir)
    if reuse:
        KEPT[key] = loaded
    return loaded


@register_source("cifar10")
def cifar10(root: str | None, download: bool, **_) -> Loaded:
    from autoenc.data.cifar10 import load_cifar10

    pictures, official, labels, classes = load_cifar10(root or "data", download)
    return Loaded(pictures, labels, classes, official)


@register_source("photos")
def photos(**_) -> Loaded:
    from autoenc.data.tiles import photo_tiles

    return Loaded(photo_tiles())


@register_source(
    "images", "a/folder/of/pictures", lambda root: None if root.is_dir() else " is not a folder of pictures"
)
def images(root: str, on_error: str, cache_dir: str | None, **_) -> Loaded:
    from autoenc.data.tiles import folder_pictures

    return Loaded(*folder_pictures(root, on_error, cache_dir))


@register_source(
    "array",
    "pictures.npz",
    lambda root: None if root.is_file() else ": no such file (dataset=array takes a .npz or .npy file)",
)
def array(root: str, **_) -> Loaded:
    from autoenc.data.tiles import array_labels, array_pictures

    pictures = array_pictures(root)
    return Loaded(pictures, *array_labels(root, len(pictures)))
