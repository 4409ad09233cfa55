"""autoenc: Hydra-configured PyTorch Lightning convolutional autoencoders."""


class UserError(Exception):
    """Bad input from the user: shown as one line, exit status non-zero, no traceback."""


class OtherRunsFolder(UserError):
    """A run folder held by another run (another config, or another process right now): nothing in
    it may be touched, not even to say why this one failed."""
