"""autoenc: Hydra-configured PyTorch Lightning convolutional autoencoders."""


class UserError(Exception):
    """Bad input from the user: shown as one line, exit status non-zero, no traceback."""
