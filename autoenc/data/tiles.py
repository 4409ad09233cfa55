"""Pictures as 32x32 tiles: the offline photos (scikit-image's colour photos at several scales),
any folder of pictures (decoded once into autoenc/data/cache.py's cache, its sub-folders as
classes) and pictures already decoded in a NumPy file."""

import functools
import os
import warnings
from pathlib import Path

import numpy as np

from autoenc import UserError

TILE = 32
PICTURE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


def tiles(picture: np.ndarray) -> np.ndarray:
    """(H, W, 3) -> (n, 32, 32, 3) non-overlapping tiles, the right/bottom remainder dropped."""
    h, w = picture.shape[0] // TILE, picture.shape[1] // TILE
    t = picture[: h * TILE, : w * TILE].reshape(h, TILE, w, TILE, 3).swapaxes(1, 2)
    return t.reshape(h * w, TILE, TILE, 3)


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


def folder_pictures(
    root: str | os.PathLike, on_error: str = "skip", cache_dir: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(tiles, label of each tile, class names): every picture under root (recursively), as RGB,
    cut into non-overlapping 32x32 tiles; its class is the folder it is in (torchvision
    ImageFolder's root/<class>/x.png; root/train/<class>/x.png likewise), -1 for a picture in
    root itself. With cache_dir ("auto": ~/.cache/autoenc), decoded once and kept there
    (autoenc/data/cache.py)."""
    from autoenc.data.cache import cached_tiles, default_dir

    if on_error not in ("skip", "raise"):
        raise UserError(f"dataset.on_error={on_error!r}: must be 'skip' or 'raise'")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise UserError(f"dataset.root={str(root)!r} is not a folder of pictures")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in PICTURE_SUFFIXES and p.is_file())
    if cache_dir and on_error == "skip":  # on_error=raise must look at every file: no cache
        cache = default_dir() if str(cache_dir) == "auto" else cache_dir
        out, counts = cached_tiles(cache, root, files, f"tile {TILE}, read as shown", lambda: decode(files, on_error))
    else:
        out, messages, counts = decode(files, on_error)
        for message in messages:
            warnings.warn(message, stacklevel=2)
    if len(out) < 10:
        raise UserError(
            f"dataset.root={str(root)!r}: {len(files)} picture file(s) ({', '.join(sorted(PICTURE_SUFFIXES))}) "
            f"gave {len(out)} tiles of {TILE}x{TILE}; need at least 10 to split into train/val/test"
        )
    return (out, *folder_labels(root, files, counts))


def folder_labels(root: Path, files: list[Path], counts: list[int]) -> tuple[np.ndarray, list[str]]:
    """Each tile's class: the name of its picture's folder (-1 for pictures in root itself)."""
    names = ["" if f.parent == root else f.parent.name for f in files]
    classes = sorted(set(names) - {""})
    index = {name: i for i, name in enumerate(classes)} | {"": -1}
    return np.repeat(np.array([index[n] for n in names], dtype=np.int64), counts), classes


def decode(files: list[Path], on_error: str) -> tuple[np.ndarray, list[str], list[int]]:
    """(tiles of every readable picture, warnings about the others, the tiles of each file)."""
    from PIL import Image

    from autoenc.data.pictures import read

    out, bad, small, animated, counts = [np.zeros((0, TILE, TILE, 3), np.uint8)], [], 0, 0, []
    for f in files:
        try:
            picture = read(f)
            animated += bool(picture.notes)
            picture = picture.rgb
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
            if on_error == "raise":
                raise UserError(f"cannot read picture {f}: {e}") from None
            bad.append(f)
            counts.append(0)
            continue
        t = tiles(picture)
        small += len(t) == 0
        out.append(t)
        counts.append(len(t))
    messages = []
    if bad:
        shown = ", ".join(str(b) for b in bad[:5]) + (" ..." if len(bad) > 5 else "")
        messages.append(f"skipped {len(bad)} unreadable picture(s) of {len(files)}: {shown}")
    if small:
        messages.append(f"{small} picture(s) smaller than {TILE}x{TILE} gave no tile")
    if animated:
        messages.append(f"{animated} animated picture(s): their first frame only")
    return np.concatenate(out), messages, counts


# --- array: pictures already decoded, in a NumPy file ------------------------------------


def array_labels(path: str | os.PathLike, n: int) -> tuple[np.ndarray, list[str]]:
    """A .npz file's `labels` (ints, one per picture; its `classes` names them), else -1 each."""
    loaded = np.load(Path(path).expanduser(), allow_pickle=False)  # a .npy file: an array, no labels
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        return np.full(n, -1, dtype=np.int64), []
    with loaded:
        if "labels" not in loaded.files:
            return np.full(n, -1, dtype=np.int64), []
        labels = loaded["labels"].astype(np.int64)
        classes = [str(c) for c in loaded["classes"]] if "classes" in loaded.files else []
    if labels.shape != (n,):
        raise UserError(f"{path}: `labels` has shape {labels.shape}, not one label for each of the {n} pictures")
    return labels, classes or [str(c) for c in range(labels.max(initial=-1) + 1)]


def array_pictures(path: str | os.PathLike) -> np.ndarray:
    """uint8 (N, 32, 32, 3) RGB pictures from a .npy file, or from a .npz file's `images` (or its
    only array), as torchvision's CIFAR10(...).data holds them."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"dataset.root={str(path)!r}: no such file (dataset=array takes a .npz or .npy file)")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise UserError(f"{path} is not a NumPy .npz or .npy file ({e})") from None
    pictures = loaded
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            names = loaded.files
            if "images" not in names and len(names) != 1:
                raise UserError(f"{path} holds {', '.join(names)} but no `images`: name the pictures' array images")
            pictures = loaded["images" if "images" in names else names[0]]
    if pictures.dtype != np.uint8 or pictures.ndim != 4 or pictures.shape[1:] != (TILE, TILE, 3):
        raise UserError(
            f"{path}: the pictures are {pictures.dtype} {tuple(pictures.shape)}; dataset=array takes uint8 "
            f"(N, {TILE}, {TILE}, 3) RGB, as torchvision's CIFAR10(...).data"
        )
    return pictures
