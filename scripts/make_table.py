"""Make the comparison table and plots of a sweep (default: the latest under outputs/multirun).

    python train.py -m experiment=table dataset=photos
    python scripts/make_table.py [outputs/multirun/<sweep>]

Writes table.md, table.csv, val_mse.png, mse_vs_latent.png and strip_<task>.png into the
sweep folder and prints the table. Failed jobs are listed with their reason.
"""

import sys
from pathlib import Path

from autoenc.report import latest_sweep, make_table


def main(argv: list[str]) -> int:
    try:
        sweep = Path(argv[0]) if argv else latest_sweep()
        if not sweep.is_dir():
            raise FileNotFoundError(f"{sweep} is not a folder")
        print(make_table(sweep))
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"written into {sweep}/: table.md, table.csv, val_mse.png, mse_vs_latent.png, strip_<task>.png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
