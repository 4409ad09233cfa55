"""Make the comparison table and plots of a sweep (default: the latest under outputs/multirun).

    python train.py -m experiment=table dataset=photos
    python scripts/make_table.py [outputs/multirun/<sweep>]
    python scripts/make_table.py <sweep> --pictures original=orig.npz jpeg=jpeg.npz   # more columns
    python scripts/make_table.py <sweep> --pictures ... --ratio original/jpeg         # + their ratio
    python scripts/make_table.py <sweep> --probe                                      # + what codes hold
    python scripts/make_table.py <sweep> <sweep> ... --out <folder>                   # one table of several
    python scripts/make_table.py <new seeds> --earlier <old table.csv> --out <folder> # pooled with a table

Writes table.md, table.csv, val_mse.png, mse_vs_latent.png and strip_<task>.png into the
sweep folder (or --out) and prints the table. Failed jobs are listed with their reason. A run
may be in only one of the sweeps. With --earlier, cells that an earlier make_table's table.csv
holds (its runs may be gone) are pooled with this table's runs of the same cells: the exact
mean and sample std over all seeds; a seed in both is refused. With --pictures,
each run's best checkpoint is also scored on every picture of each file (uint8 N x 32 x 32 x 3
in a .npz or .npy, eval.py's dataset=array), kept in <run>/pictures/<name>/ and not redone
while the checkpoint and the file stay as they are; the table gets a column per file.
--ratio A/B adds each run's MSE on A over its MSE on B (paired: the same checkpoint). --probe
adds a linear probe's class accuracy on each run's codes (<run>/probe/probe.json, kept).
"""

import argparse
import sys
from pathlib import Path

from autoenc import UserError
from autoenc.report.table import latest_sweep, make_table


def picture_file(text: str) -> tuple[str, Path]:
    name, sep, file = text.partition("=")
    if not sep or not name.isidentifier() or not file:
        raise argparse.ArgumentTypeError(f"{text!r}: give NAME=FILE, e.g. original=pictures.npz")
    return name, Path(file)


def ratio(text: str) -> tuple[str, str]:
    a, sep, b = text.partition("/")
    if not sep or not a.isidentifier() or not b.isidentifier():
        raise argparse.ArgumentTypeError(f"{text!r}: give A/B, two names of --pictures, e.g. original/jpeg")
    return a, b


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweeps", nargs="*", type=Path, help="sweep folders (default: the latest)")
    parser.add_argument("--out", type=Path, help="where the table and plots go (default: the first sweep)")
    parser.add_argument("--earlier", type=Path, help="an earlier table.csv to pool the same cells with")
    parser.add_argument(
        "--pictures",
        nargs="+",
        type=picture_file,
        default=[],
        metavar="NAME=FILE",
        help="also score every run on every picture of these files",
    )
    parser.add_argument(
        "--probe", action="store_true", help="a linear probe's class accuracy on each run's codes (scripts/latents.py)"
    )
    parser.add_argument(
        "--ratio",
        nargs="+",
        type=ratio,
        default=[],
        metavar="A/B",
        help="a column of each run's MSE on pictures A over its MSE on pictures B",
    )
    args = parser.parse_args(argv)
    try:
        sweeps = args.sweeps or [latest_sweep()]
        for sweep in sweeps:
            if not sweep.is_dir():
                raise FileNotFoundError(f"{sweep} is not a folder")
        if args.pictures:
            from autoenc.report.rescore import score_runs

            ran = sum(score_runs(sweep, dict(args.pictures)) for sweep in sweeps)
            print(f"scored {ran} checkpoint x file pair(s) anew; the others were up to date", file=sys.stderr)
        if args.probe:
            from autoenc.inference.latents import probe_runs

            ran = sum(probe_runs(sweep) for sweep in sweeps)
            print(f"probed {ran} checkpoint(s) anew; the others were up to date", file=sys.stderr)
        print(make_table(sweeps, args.out, args.earlier, args.ratio))
    except (FileNotFoundError, UserError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    curves = "" if args.earlier else " val_mse.png,"  # an earlier table has no curves
    print(f"written into {args.out or sweeps[0]}/: table.md, table.csv,{curves} mse_vs_latent.png, strip_<task>.png")
    return 0


def run() -> None:
    """The console script autoenc-make-table."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    run()
