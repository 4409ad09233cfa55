"""An on-disk cache of a picture folder's decoded 32x32 tiles (dataset=images), so a sweep
decodes its 60,000 files once, not once per run.

Keyed by the folder's listing: every picture's relative path, size and modification time, and
the tiling settings; a changed, added or removed picture gives a new key, so a new cache file.
Written atomically (beside, then renamed); a file whose checksum or shape does not match its
record is not trusted: a warning, then it is rebuilt. dataset.cache_dir=null switches it off.
"""

import hashlib
import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

VERSION = 2  # of the tiling and its record (2: tiles per file): bump it when either changes


def default_dir() -> Path:
    """$XDG_CACHE_HOME/autoenc, else ~/.cache/autoenc."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "autoenc"


def folder_key(root: Path, files: list[Path], settings: str) -> str:
    digest = hashlib.sha256(f"v{VERSION} {root.resolve()} {settings}\n".encode())
    for f in files:
        st = f.stat()
        digest.update(f"{f.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def checksum(array: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(array).reshape(-1).view(np.uint8), digest_size=16).hexdigest()


Built = tuple[np.ndarray, list[str], list[int]]  # tiles, warnings, tiles of each file


def cached_tiles(
    cache_dir: str | os.PathLike, root: Path, files: list[Path], settings: str, build: Callable[[], Built]
) -> tuple[np.ndarray, list[int]]:
    """The folder's (tiles, tiles of each file) from the cache, or build() them (tiles, warnings,
    tiles of each file) and store them. The warnings of the build (skipped pictures) are given
    again on every use."""
    folder = Path(cache_dir).expanduser()
    key = folder_key(root, files, settings)
    data, record = folder / f"images-{key}.npy", folder / f"images-{key}.json"
    if data.is_file() and record.is_file():
        tiles = load(data, record)
        if tiles is not None:
            meta = json.loads(record.read_text())
            for message in meta.get("warnings", []):
                warnings.warn(message, stacklevel=3)
            return tiles, meta["tiles_per_file"]
    tiles, messages, counts = build()
    for message in messages:
        warnings.warn(message, stacklevel=3)
    meta = {"root": str(root.resolve()), "files": len(files), "warnings": messages, "tiles_per_file": counts}
    store(folder, data, record, tiles, meta)
    return tiles, counts


def load(data: Path, record: Path) -> np.ndarray | None:
    """The cached tiles, or None (with a warning) when the file is damaged."""
    try:
        meta = json.loads(record.read_text())
        tiles = np.load(data, allow_pickle=False)
        if list(tiles.shape) != meta["shape"] or tiles.dtype != np.uint8 or checksum(tiles) != meta["checksum"]:
            raise ValueError("its shape or checksum does not match its record")
        if sum(meta["tiles_per_file"]) != len(tiles):
            raise ValueError("its tiles per file do not add up to its tiles")
    except (OSError, ValueError, KeyError, EOFError) as e:
        warnings.warn(f"the tile cache {data} is damaged ({e}); decoding the pictures again", stacklevel=4)
        return None
    return tiles


def store(folder: Path, data: Path, record: Path, tiles: np.ndarray, meta: dict) -> None:
    """Write the tiles, then their record, each beside its final name and renamed; then drop
    older caches of the same folder (one per folder). A cache that cannot be written is not an
    error: the run goes on without it."""
    meta = {**meta, "shape": list(tiles.shape), "checksum": checksum(tiles)}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(data, lambda f: np.save(f, tiles, allow_pickle=False))
        write_atomic(record, lambda f: f.write(json.dumps(meta).encode()))
    except OSError as e:
        warnings.warn(
            f"could not write the tile cache in {folder} ({e.strerror or e}); going on without it", stacklevel=4
        )
        return
    for old in folder.glob("images-*.json"):
        try:
            if old != record and json.loads(old.read_text()).get("root") == meta["root"]:
                old.with_suffix(".npy").unlink(missing_ok=True)
                old.unlink(missing_ok=True)
        except (OSError, ValueError):
            continue  # another process's, or damaged: left alone


def write_atomic(path: Path, write: Callable) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
