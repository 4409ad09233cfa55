"""Build data/cifar10-jpeg from a downloaded copy of the public CIFAR-10 JPEG set.

The command lives in autoenc/cli/cifar10_jpeg.py; installed, it is also `autoenc-cifar10-jpeg`.
"""

from autoenc.cli.cifar10_jpeg import run

if __name__ == "__main__":
    run()
