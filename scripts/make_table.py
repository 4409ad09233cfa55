"""Make the comparison table and plots of a sweep (default: the latest under outputs/multirun).

    python train.py -m experiment=table dataset=photos
    python scripts/make_table.py [outputs/multirun/<sweep>]
    python scripts/make_table.py <sweep> --pictures original=orig.npz jpeg=jpeg.npz   # more columns

Writes table.md, table.csv, val_mse.png, mse_vs_latent.png and strip_<task>.png into the
sweep folder and prints the table. Failed jobs are listed with their reason. With --pictures,
each run's best checkpoint is also scored on every picture of each file (uint8 N x 32 x 32 x 3
in a .npz or .npy, eval.py's dataset=array), kept in <run>/pictures/<name>/ and not redone
while the checkpoint and the file stay as they are; the table gets a column per file.
"""

import argparse
import sys
from pathlib import Path

from autoenc import UserError
from autoenc.report import latest_sweep, make_table


def picture_file(text: str) -> tuple[str, Path]:
    name, sep, file = text.partition("=")
    if not sep or not name.isidentifier() or not file:
        raise argparse.ArgumentTypeError(f"{text!r}: give NAME=FILE, e.g. original=pictures.npz")
    return name, Path(file)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep", nargs="?", type=Path, help="a sweep folder (default: the latest)")
    parser.add_argument("--pictures", nargs="+", type=picture_file, default=[], metavar="NAME=FILE",
                        help="also score every run on every picture of these files")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        sweep = args.sweep or latest_sweep()
        if not sweep.is_dir():
            raise FileNotFoundError(f"{sweep} is not a folder")
        if args.pictures:
            from autoenc.rescore import score_runs

            ran = score_runs(sweep, dict(args.pictures))
            print(f"scored {ran} checkpoint x file pair(s) anew; the others were up to date", file=sys.stderr)
        print(make_table(sweep))
    except (FileNotFoundError, UserError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"written into {sweep}/: table.md, table.csv, val_mse.png, mse_vs_latent.png, strip_<task>.png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
