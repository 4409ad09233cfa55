"""Export a trained autoenc network to ONNX, with dynamic batch, height and width.

The command lives in autoenc/cli/export_onnx.py; installed, it is also `autoenc-export-onnx`.
"""

from autoenc.cli.export_onnx import run

if __name__ == "__main__":
    run()
