"""Write 32x32 pictures into a .npz file (`images`, uint8 N x 32 x 32 x 3 RGB, in the order given)
that eval.py's dataset=array and make_table's --pictures read. Pictures are decoded as
dataset=images decodes them.

    python scripts/pictures_npz.py out.npz a.png b.jpg ...
    python scripts/pictures_npz.py out.npz --root data/cifar10-jpeg --list-from original.npz:jpeg_paths

--list-from FILE:KEY takes the paths (relative to --root) from an array of a .npz file, e.g. the
JPEG copy's twins of CIFAR-10's original test pictures; its `labels`, if any, are copied along.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from autoenc import UserError
from autoenc.data.pictures import read
from autoenc.data.tiles import TILE


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--root", type=Path, default=Path("."), help="folder the paths are relative to")
    parser.add_argument("--list-from", metavar="FILE:KEY", help="take the paths from this array of a .npz file")
    args = parser.parse_args(argv)
    try:
        files, extra = list(args.files), {}
        if args.list_from:
            npz, _, key = args.list_from.rpartition(":")
            with np.load(npz, allow_pickle=False) as listed:
                if key not in listed.files:
                    raise UserError(f"{npz} has no array {key!r} (it has {', '.join(listed.files)})")
                files += [Path(p) for p in listed[key]]
                extra = {"labels": listed["labels"]} if "labels" in listed.files else {}
        files = [args.root / f for f in files]
        if not files:
            raise UserError("no pictures given: name files, or --list-from FILE:KEY")
        if missing := [str(f) for f in files if not f.is_file()]:
            raise UserError(f"{len(missing)} file(s) not found, e.g. {missing[0]}")
        pictures = [read(f).rgb for f in files]
        if wrong := next((f for f, p in zip(files, pictures, strict=True) if p.shape != (TILE, TILE, 3)), None):
            raise UserError(f"{wrong} is not a {TILE}x{TILE} picture")
        np.savez_compressed(args.out, images=np.stack(pictures), **extra)
    except (UserError, OSError, ValueError, SyntaxError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{len(pictures)} pictures -> {args.out}")
    return 0


def run() -> None:
    """The console script autoenc-pictures-npz."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    run()
