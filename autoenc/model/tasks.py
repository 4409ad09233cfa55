"""The tasks (conf/task): how to make (input, target) from RGB, and how to turn a prediction
back into RGB. RGB is in [-1, 1] as in the study; colour maths as kornia's (autoenc/model/colour.py),
in fp32, with constants that move with the model. The restoration tasks (denoise, inpaint,
superres) degrade the picture (autoenc/model/degrade.py) and predict it whole.

YUV is kornia's (BT.470 M/PAL) applied to the [-1, 1] RGB. The transform is linear, so
Y lies in [-1, 1] and U, V are twice kornia's [0, 1]-scale values: the study's scale.
Lab is kornia's CIE-Lab (sRGB, D65) of the [0, 1] RGB, scaled to the same range:
L / 50 - 1 in [-1, 1] and a, b / 110 (the usual colorisation normalisation).

Each task is a Task subclass registered by name (@register_task), as conf/task/<name>.yaml names
it; another task is one such class and its YAML (README, "Extend autoenc").
"""

import torch
from torch import nn

from autoenc import UserError
from autoenc.model.colour import ColourMaths
from autoenc.model.degrade import RESAMPLE, add_noise, cut_holes, enlarge, lower_resolution

AB_SCALE = 110.0
TASKS: dict[str, type["Task"]] = {}


def register_task(cls: type["Task"]) -> type["Task"]:
    """A task by its name (conf/task/<name>.yaml: task=<name>)."""
    TASKS[cls.name] = cls
    return cls


def positive_int(v) -> bool:
    return isinstance(v, int) and v >= 1


def to_unit_rgb(batch: torch.Tensor, channels_last: bool = True) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, H, W) in [-1, 1], as the study scales pixels; in
    channels-last memory (the NHWC batch as it is), or copied to contiguous NCHW."""
    rgb = batch.permute(0, 3, 1, 2).float().div(127.5).sub(1)
    return rgb if channels_last else rgb.contiguous()


class Task(nn.Module):
    """One task's transforms; a submodule of the model, so its constants live on its device.
    A subclass names itself, its channels, its settings (defaults: their default values; rules:
    each setting's check and what it must be) and defines split; the rest has defaults here."""

    name = "task"
    in_channels, out_channels = 3, 3
    defaults: dict = {}
    rules: dict = {}
    restores = False  # a restoration task: its input is a degraded RGB picture, a baseline of its own
    colours = False  # a colour task: the input is the luma, the output's colour goes onto a picture's own luma

    def __init__(self, **options):
        super().__init__()
        self.options = {**self.defaults, **options}
        self.colour = ColourMaths()

    def split(self, rgb: torch.Tensor, fixed: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """RGB batch (N, 3, H, W) in [-1, 1] -> (network input, target) in task space. Anything random
        (noise, holes) is random where fixed is false (training), else fixed per picture."""
        raise NotImplementedError

    def to_rgb(self, inputs: torch.Tensor, outputs: torch.Tensor) -> torch.Tensor:
        """Network input and output (or target) -> RGB in [-1, 1] (fp32)."""
        return outputs.float()

    def saturate(self, prediction: torch.Tensor) -> torch.Tensor:
        """A decoding setting on the prediction (colour tasks: task.saturation); as it is here."""
        return prediction

    def input_from_picture(self, rgb: torch.Tensor) -> torch.Tensor:
        """A user's picture -> the network's input (colour tasks: the picture's gray)."""
        return self.split(rgb)[0]

    def input_to_rgb(self, inputs: torch.Tensor) -> torch.Tensor:
        """What the network saw, as an RGB picture: for colour tasks the input with no colour."""
        return inputs if inputs.shape[1] == 3 else inputs.expand(-1, 3, -1, -1)

    def extra_repr(self) -> str:
        return ", ".join([self.name] + [f"{k}={v}" for k, v in self.options.items()])


@register_task
class Reconstruct(Task):
    name = "reconstruct"

    def split(self, rgb, fixed=True):
        return rgb, rgb


class ColourTask(Task):
    """Colorisation: the luma in, the colour out. task.saturation is a decoding setting of eval.py,
    colorize.py and checkpoints: the predicted chroma times it (training's loss never sees it)."""

    colours = True
    defaults = {"saturation": 1.0}
    rules = {
        "saturation": (
            lambda v: isinstance(v, (int, float)) and 0 <= v <= 4,
            "a number from 0 (gray) to 4 (1: the colours as predicted)",
        )
    }

    def saturate(self, prediction: torch.Tensor) -> torch.Tensor:
        """The chroma (U,V or a,b) times task.saturation; the luma is kept."""
        gain = self.options["saturation"]
        return prediction if gain == 1 else prediction * gain

    def no_colour(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The prediction of no colour in task space (the table's baseline): chroma 0."""
        return target.new_zeros(target.shape)


@register_task
class Gray2RGB(ColourTask):
    name = "gray2rgb"
    in_channels, out_channels = 1, 3

    def split(self, rgb, fixed=True):
        return self.colour.gray(rgb), rgb

    def saturate(self, prediction):
        """The RGB prediction moved away from its luma by task.saturation."""
        gain = self.options["saturation"]
        if gain == 1:
            return prediction
        luma = self.colour.gray(prediction)
        return luma + gain * (prediction - luma)

    def no_colour(self, inputs, target):
        return self.input_to_rgb(inputs)


@register_task
class Y2UV(ColourTask):
    name = "y2uv"
    in_channels, out_channels = 1, 2

    def split(self, rgb, fixed=True):
        yuv = self.colour.rgb_to_yuv(rgb)
        return yuv[:, :1], yuv[:, 1:]

    def to_rgb(self, inputs, outputs):
        return self.colour.yuv_to_rgb(torch.cat([inputs.float(), outputs.float()], dim=1))


@register_task
class L2AB(ColourTask):
    name = "l2ab"
    in_channels, out_channels = 1, 2

    def split(self, rgb, fixed=True):
        lab = self.colour.rgb_to_lab((rgb + 1) / 2)
        return lab[:, :1] / 50 - 1, lab[:, 1:] / AB_SCALE

    def to_rgb(self, inputs, outputs):
        lab = torch.cat([(inputs.float() + 1) * 50, outputs.float() * AB_SCALE], dim=1)
        return self.colour.lab_to_rgb(lab) * 2 - 1

    def input_to_rgb(self, inputs):
        return self.to_rgb(inputs, torch.zeros_like(inputs).expand(-1, 2, -1, -1))


class RestorationTask(Task):
    """Restoration: a degraded picture in (autoenc/model/degrade.py), the picture out; a user's
    picture is taken as the degraded one."""

    restores = True

    def input_from_picture(self, rgb):
        return rgb


@register_task
class Denoise(RestorationTask):
    name = "denoise"
    defaults = {"sigma": 0.1, "clip": True}
    rules = {
        "sigma": (lambda v: isinstance(v, (int, float)) and 0 < v <= 1, "a noise level in (0, 1] (pixels in [0, 1])"),
        "clip": (lambda v: isinstance(v, bool), "true (noisy pixels clipped to the picture's range) or false"),
    }

    def split(self, rgb, fixed=True):
        return add_noise(rgb, self.options["sigma"], fixed, self.options["clip"]), rgb


@register_task
class Inpaint(RestorationTask):
    name = "inpaint"
    defaults = {"holes": 2, "size": 8}
    rules = {"holes": (positive_int, "a positive integer"), "size": (positive_int, "a positive integer (pixels)")}

    def split(self, rgb, fixed=True):
        return cut_holes(rgb, self.options["holes"], self.options["size"], fixed), rgb


@register_task
class Superres(RestorationTask):
    name = "superres"
    defaults = {"factor": 2, "resample": "box"}
    rules = {
        "factor": (lambda v: isinstance(v, int) and v >= 2, "an integer of at least 2"),
        "resample": (lambda v: v in RESAMPLE, f"one of {', '.join(RESAMPLE)}"),
    }

    def split(self, rgb, fixed=True):
        return lower_resolution(rgb, self.options["factor"], self.options["resample"]), rgb

    def input_from_picture(self, rgb):
        """The picture enlarged by the factor first: the network restores the enlarged picture."""
        return enlarge(rgb, [n * self.options["factor"] for n in rgb.shape[-2:]], self.options["resample"])


def get_task(name: str, **options) -> Task:
    """The task by name, with its settings checked: an unknown name or setting, or an impossible
    value, is one line that says what is valid."""
    if name not in TASKS:
        raise UserError(f"task={name!r} is unknown; valid tasks: {', '.join(TASKS)}")
    kind = TASKS[name]
    for key, value in options.items():
        if key not in kind.defaults:
            valid = ", ".join(f"task.{k}" for k in kind.defaults) or "none"
            raise UserError(f"task.{key} is not a setting of task={name}; its settings: {valid}")
        ok, what = kind.rules[key]
        if isinstance(value, bool) != isinstance(kind.defaults[key], bool) or not ok(value):
            raise UserError(f"task.{key}={value!r}: must be {what}")
    return kind(**options)


def task_options(task_cfg: dict) -> dict:
    """conf/task's settings without its name: what get_task takes besides it."""
    return {k: v for k, v in task_cfg.items() if k != "name"}


def colour_tasks() -> list[str]:
    return [name for name, kind in TASKS.items() if kind.colours]


def restores(name: str) -> bool:
    """Whether the task of this name is a restoration task (a table's row may name a task not registered here)."""
    return name in TASKS and TASKS[name].restores
