"""Make the comparison table and plots of a sweep (default: the latest under outputs/multirun).

The command lives in autoenc/cli/make_table.py; installed, it is also `autoenc-make-table`.
"""

from autoenc.cli.make_table import run

if __name__ == "__main__":
    run()
