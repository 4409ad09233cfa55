"""CIFAR-10 as users have it: torchvision's download (checksummed) into dataset.root, or a copy
already there, or Keras's; one clear message where none is found."""

import os
import socket
from pathlib import Path

import numpy as np

from autoenc import UserError


def cifar10_candidates(root: str | os.PathLike) -> list[Path]:
    """Folders that may hold cifar-10-batches-py: root, then the copies a user may have."""
    root = Path(root).expanduser()
    keras = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"
    found = [root, keras, keras / "cifar-10-batches-py_extracted"]  # Keras 2, Keras 3 layouts
    if root.name == "cifar-10-batches-py":
        found.insert(1, root.parent)
    return found


def load_cifar10(root: str | os.PathLike, download: bool) -> tuple[np.ndarray, int, np.ndarray, list[str]]:
    """All 60,000 images (the 50,000 official training images first), that count, their labels
    and the classes' names."""
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
    labels = np.asarray(train.targets + test.targets, dtype=np.int64)
    return np.concatenate([train.data, test.data]), len(train.data), labels, list(train.classes)
