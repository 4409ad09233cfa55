"""Write 32x32 pictures into a .npz file (`images`, uint8 N x 32 x 32 x 3 RGB, in the order given).

The command lives in autoenc/cli/pictures_npz.py; installed, it is also `autoenc-pictures-npz`.
"""

from autoenc.cli.pictures_npz import run

if __name__ == "__main__":
    run()
