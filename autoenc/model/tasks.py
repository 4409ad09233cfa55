"""The tasks (conf/task): how to make (input, target) from RGB, and how to turn a prediction
back into RGB. RGB is in [-1, 1] as in the study; colour maths as kornia's (autoenc/model/colour.py),
in fp32, with constants that move with the model. The restoration tasks (denoise, inpaint,
superres) degrade the picture (autoenc/model/degrade.py) and predict it whole.

YUV is kornia's (BT.470 M/PAL) applied to the [-1, 1] RGB. The transform is linear, so
Y lies in [-1, 1] and U, V are twice kornia's [0, 1]-scale values: the study's scale.
Lab is kornia's CIE-Lab (sRGB, D65) of the [0, 1] RGB, scaled to the same range:
L / 50 - 1 in [-1, 1] and a, b / 110 (the usual colorisation normalisation).
"""

import torch
from torch import nn

from autoenc import UserError
from autoenc.model.colour import ColourMaths
from autoenc.model.degrade import add_noise, cut_holes, enlarge, lower_resolution

CHANNELS = {
    "reconstruct": (3, 3),
    "gray2rgb": (1, 3),
    "y2uv": (1, 2),
    "l2ab": (1, 2),
    "denoise": (3, 3),
    "inpaint": (3, 3),
    "superres": (3, 3),
}
TASKS = tuple(CHANNELS)
# the tasks' settings (the restoration tasks': conf/task/<name>.yaml; the colour tasks' saturation: a decoding
# setting of eval.py, colorize.py and checkpoints), their defaults and what each must be
COLOUR = ("gray2rgb", "y2uv", "l2ab")
RESTORATION = ("denoise", "inpaint", "superres")
OPTIONS = {
    "denoise": {"sigma": 0.1},
    "inpaint": {"holes": 2, "size": 8},
    "superres": {"factor": 2},
    **{name: {"saturation": 1.0} for name in COLOUR},
}
RULES = {
    "sigma": (lambda v: isinstance(v, (int, float)) and 0 < v <= 1, "a noise level in (0, 1] (pixels in [0, 1])"),
    "holes": (lambda v: isinstance(v, int) and v >= 1, "a positive integer"),
    "size": (lambda v: isinstance(v, int) and v >= 1, "a positive integer (pixels)"),
    "factor": (lambda v: isinstance(v, int) and v >= 2, "an integer of at least 2"),
    "saturation": (
        lambda v: isinstance(v, (int, float)) and 0 <= v <= 4,
        "a number from 0 (gray) to 4 (1: the colours as predicted)",
    ),
}
AB_SCALE = 110.0


def to_unit_rgb(batch: torch.Tensor, channels_last: bool = True) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, H, W) in [-1, 1], as the study scales pixels; in
    channels-last memory (the NHWC batch as it is), or copied to contiguous NCHW."""
    rgb = batch.permute(0, 3, 1, 2).float().div(127.5).sub(1)
    return rgb if channels_last else rgb.contiguous()


class Task(nn.Module):
    """One task's transforms; a submodule of the model, so its constants live on its device."""

    def __init__(self, name: str, **options):
        super().__init__()
        self.name = name
        self.in_channels, self.out_channels = CHANNELS[name]
        self.options = {**OPTIONS.get(name, {}), **options}
        self.colour = ColourMaths()

    @property
    def restores(self) -> bool:
        """A restoration task: its input is a degraded RGB picture, a baseline of its own."""
        return self.name in RESTORATION

    def split(self, rgb: torch.Tensor, fixed: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """RGB batch (N, 3, H, W) in [-1, 1] -> (network input, target) in task space. The
        restoration tasks' noise and holes are random where fixed is false (training), else
        fixed per picture (validation, test, pictures)."""
        if self.name == "reconstruct":
            return rgb, rgb
        if self.name == "denoise":
            return add_noise(rgb, self.options["sigma"], fixed), rgb
        if self.name == "inpaint":
            return cut_holes(rgb, self.options["holes"], self.options["size"], fixed), rgb
        if self.name == "superres":
            return lower_resolution(rgb, self.options["factor"]), rgb
        if self.name == "gray2rgb":
            return self.colour.gray(rgb), rgb
        if self.name == "l2ab":
            lab = self.colour.rgb_to_lab((rgb + 1) / 2)
            return lab[:, :1] / 50 - 1, lab[:, 1:] / AB_SCALE
        yuv = self.colour.rgb_to_yuv(rgb)
        return yuv[:, :1], yuv[:, 1:]

    def saturate(self, prediction: torch.Tensor) -> torch.Tensor:
        """A colour task's prediction (task space) with its chroma times task.saturation: U,V or
        a,b scaled, gray2rgb's RGB moved away from its luma; the luma is kept. A decoding setting,
        like loss=classify's temperature: training's loss never sees it."""
        gain = self.options.get("saturation", 1.0)
        if gain == 1:
            return prediction
        if self.name == "gray2rgb":
            luma = self.colour.gray(prediction)
            return luma + gain * (prediction - luma)
        return prediction * gain

    def to_rgb(self, inputs: torch.Tensor, outputs: torch.Tensor) -> torch.Tensor:
        """Network input and output (or target) -> RGB in [-1, 1] (fp32)."""
        if self.name == "y2uv":
            return self.colour.yuv_to_rgb(torch.cat([inputs.float(), outputs.float()], dim=1))
        if self.name == "l2ab":
            lab = torch.cat([(inputs.float() + 1) * 50, outputs.float() * AB_SCALE], dim=1)
            return self.colour.lab_to_rgb(lab) * 2 - 1
        return outputs.float()

    def input_from_picture(self, rgb: torch.Tensor) -> torch.Tensor:
        """A user's picture -> the network's input. Colour tasks: the picture's gray; restoration
        tasks: the picture is the degraded one (superres: enlarged by its factor first)."""
        if self.name == "superres":
            return enlarge(rgb, [n * self.options["factor"] for n in rgb.shape[-2:]])
        return rgb if self.restores else self.split(rgb)[0]

    def input_to_rgb(self, inputs: torch.Tensor) -> torch.Tensor:
        """What the network saw, as an RGB picture: for colour tasks the input with no colour."""
        if self.name == "l2ab":
            return self.to_rgb(inputs, torch.zeros_like(inputs).expand(-1, 2, -1, -1))
        return inputs if inputs.shape[1] == 3 else inputs.expand(-1, 3, -1, -1)

    def extra_repr(self) -> str:
        return ", ".join([self.name] + [f"{k}={v}" for k, v in self.options.items()])


def get_task(name: str, **options) -> Task:
    """The task by name, with its settings checked: an unknown name or setting, or an impossible
    value, is one line that says what is valid."""
    if name not in CHANNELS:
        raise UserError(f"task={name!r} is unknown; valid tasks: {', '.join(TASKS)}")
    allowed = OPTIONS.get(name, {})
    for key, value in options.items():
        if key not in allowed:
            valid = ", ".join(f"task.{k}" for k in allowed) or "none"
            raise UserError(f"task.{key} is not a setting of task={name}; its settings: {valid}")
        ok, what = RULES[key]
        if isinstance(value, bool) or not ok(value):
            raise UserError(f"task.{key}={value!r}: must be {what}")
    return Task(name, **options)


def task_options(task_cfg: dict) -> dict:
    """conf/task's settings without its name: what get_task takes besides it."""
    return {k: v for k, v in task_cfg.items() if k != "name"}
