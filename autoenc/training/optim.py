"""The optimizer (conf/optimizer): one of torch.optim's, with plain settings, checked before
anything is built."""

import torch

from autoenc import UserError

DEFAULT_OPTIMIZER = {"_target_": "torch.optim.Adam", "lr": 1e-3}
PLAIN = (bool, int, float, str, type(None))


def allowed_optimizers() -> dict[str, type]:
    """torch.optim's optimizers by their Hydra target: the only classes a config or a
    checkpoint may name."""
    base = torch.optim.Optimizer
    return {
        f"torch.optim.{name}": cls
        for name, cls in vars(torch.optim).items()
        if isinstance(cls, type) and issubclass(cls, base) and cls is not base
    }


def check_optimizer(spec: dict | None) -> tuple[type, dict]:
    """An optimizer config (from conf/optimizer or a checkpoint's hyper-parameters) -> (class,
    keyword arguments). Checked before anything is built: the target must be one of torch.optim's
    optimizers and every setting a plain value, so a config or a checkpoint cannot make autoenc
    call anything else (Hydra's instantiate would call whatever `_target_` names)."""
    spec = dict(spec or DEFAULT_OPTIMIZER)
    target, allowed = spec.pop("_target_", None), allowed_optimizers()
    spec.pop("_partial_", None)
    if target not in allowed:
        names = ", ".join(sorted(allowed))
        raise UserError(f"optimizer _target_={target!r} is not allowed; autoenc builds only these: {names}")
    for key, value in spec.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        plain = all(isinstance(v, PLAIN) for v in values)
        if key.startswith("_") or not plain:
            raise UserError(
                f"optimizer.{key}={value!r} is refused: optimizer settings are plain numbers, strings or lists of them"
            )
    return allowed[target], spec
