"""autoenc: Hydra-configured PyTorch Lightning convolutional autoencoders.

Layers, each a subpackage that imports only those below it: data, model, speed, runs, scale ->
training -> inference -> report -> cli (the user commands). The errors every layer raises are here."""

from pathlib import Path

CONF = Path(__file__).resolve().parents[1] / "conf"  # the project's config groups (train.py, eval.py)


class UserError(Exception):
    """Bad input from the user: shown as one line, exit status non-zero, no traceback."""


class OtherRunsFolder(UserError):
    """A run folder held by another run (another config, or another process right now): nothing in
    it may be touched, not even to say why this one failed."""
