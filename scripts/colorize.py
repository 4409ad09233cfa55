"""Colorize (or reconstruct) pictures of any size with a trained autoenc model.

The command lives in autoenc/cli/colorize.py; installed, it is also `autoenc-colorize`.
"""

from autoenc.cli.colorize import run

if __name__ == "__main__":
    run()
