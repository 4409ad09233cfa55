"""A trained model from its checkpoint, loaded safely (tensors and plain values only), its
decoding settings changed (temperature, saturation), or kept small for shipping."""

import inspect
from pathlib import Path

import torch

from autoenc import UserError
from autoenc.model.tasks import colour_tasks, get_task
from autoenc.runs.folder import DamagedCheckpoint, read_checkpoint
from autoenc.training.module import AutoEncoder

HPARAMS = tuple(inspect.signature(AutoEncoder.__init__).parameters)[1:]  # its arguments, as hparams records them
SHIPPED_COLORIZER = Path(__file__).parents[1] / "assets" / "colorizer_y2uv_cifar.ckpt"  # scripts/dev/make_colorizer.py
VIVID_COLORIZER = Path(__file__).parents[1] / "assets" / "colorizer_y2uv_vivid.ckpt"  # ... vivid=true (task.saturation)


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[AutoEncoder, dict]:
    """An autoenc checkpoint -> (model in eval mode, the checkpoint dict). Loaded with
    torch.load(weights_only=True): tensors and plain values only, never pickled code."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist")
    try:
        ckpt = read_checkpoint(path)  # pickled code: a UserError that says it was refused
    except DamagedCheckpoint as e:
        raise UserError(f"checkpoint {path} is corrupt or not an autoenc checkpoint: {e}") from None
    hparams = ckpt.get("hyper_parameters")
    if not isinstance(hparams, dict) or not {"widths", "kernel_size", "block", "task"} <= hparams.keys():
        raise UserError(f"{path} is not an autoenc checkpoint (no widths/kernel_size/block/task hyper-parameters)")
    model = AutoEncoder(**{k: hparams[k] for k in HPARAMS if k in hparams})  # optimizer checked there
    try:
        model.load_state_dict(ckpt["state_dict"])
    except (KeyError, RuntimeError) as e:
        raise UserError(f"{path}: weights do not fit the arch it names: {str(e).splitlines()[0]}") from None
    return model.to(device).eval(), ckpt


def set_temperature(model: AutoEncoder, temperature) -> None:
    """Decode a loss=classify model's colours at another temperature (T -> 0 vivid, 1 the mean)."""
    if model.objective.name != "classify":
        raise UserError(
            f"temperature={temperature}: only a model trained with loss=classify has one "
            f"(this one: loss={model.objective.name})"
        )
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0.01 <= temperature <= 10:
        raise UserError(f"temperature={temperature!r}: must be a number from 0.01 to 10")
    model.objective.temperature = float(temperature)


def set_saturation(model: AutoEncoder, saturation) -> None:
    """Decode a colour task's model with its chroma times `saturation` (1: as predicted, 0: gray)."""
    if not model.task.colours:
        raise UserError(
            f"saturation={saturation}: only a colour task's model has one ({', '.join(colour_tasks())}; "
            f"this one: task={model.task.name})"
        )
    options = {**model.task.options, "saturation": saturation}
    get_task(model.task.name, **options)  # checked: a possible value, one line if not
    model.task.options["saturation"] = float(saturation)


def slim_checkpoint(
    src: str | Path, dst: str | Path, temperature: float | None = None, saturation: float | None = None
) -> None:
    """Keep what inference needs (weights, hyper-parameters, data config, history): a small file.
    temperature: a loss=classify model's decoding temperature from then on (its hyper-parameter);
    saturation: a colour task's chroma gain from then on (task.saturation)."""
    ckpt = torch.load(src, map_location="cpu", weights_only=True)
    hparams = ckpt["hyper_parameters"]
    if temperature is not None:
        set_temperature(load_checkpoint(src)[0], temperature)  # checked: a classify model, a possible T
        hparams["loss"]["temperature"] = temperature
    if saturation is not None:
        set_saturation(load_checkpoint(src)[0], saturation)  # checked: a colour task, a possible gain
        hparams["task_options"] = {**(hparams.get("task_options") or {}), "saturation": float(saturation)}
    keep = ("state_dict", "hyper_parameters", "datamodule_hyper_parameters", "history", "epoch", "global_step")
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: ckpt[k] for k in keep if k in ckpt}, dst)
