"""The colour-space tasks (conf/task): how to make (input, target) from RGB, and how to
turn a prediction back into RGB. RGB is in [-1, 1] as in the study; colour maths as kornia's
(autoenc/colour.py), in fp32, with constants that move with the model.

YUV is kornia's (BT.470 M/PAL) applied to the [-1, 1] RGB. The transform is linear, so
Y lies in [-1, 1] and U, V are twice kornia's [0, 1]-scale values: the study's scale.
Lab is kornia's CIE-Lab (sRGB, D65) of the [0, 1] RGB, scaled to the same range:
L / 50 - 1 in [-1, 1] and a, b / 110 (the usual colorisation normalisation).
"""

import torch
from torch import nn

from autoenc import UserError
from autoenc.colour import ColourMaths

CHANNELS = {"reconstruct": (3, 3), "gray2rgb": (1, 3), "y2uv": (1, 2), "l2ab": (1, 2)}  # name: (in, out)
TASKS = tuple(CHANNELS)
AB_SCALE = 110.0


class Task(nn.Module):
    """One task's transforms; a submodule of the model, so its constants live on its device."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name
        self.in_channels, self.out_channels = CHANNELS[name]
        self.colour = ColourMaths()

    def split(self, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """RGB batch (N, 3, H, W) in [-1, 1] -> (network input, target) in task space."""
        if self.name == "reconstruct":
            return rgb, rgb
        if self.name == "gray2rgb":
            return self.colour.gray(rgb), rgb
        if self.name == "l2ab":
            lab = self.colour.rgb_to_lab((rgb + 1) / 2)
            return lab[:, :1] / 50 - 1, lab[:, 1:] / AB_SCALE
        yuv = self.colour.rgb_to_yuv(rgb)
        return yuv[:, :1], yuv[:, 1:]

    def to_rgb(self, inputs: torch.Tensor, outputs: torch.Tensor) -> torch.Tensor:
        """Network input and output (or target) -> RGB in [-1, 1] (fp32)."""
        if self.name == "y2uv":
            return self.colour.yuv_to_rgb(torch.cat([inputs.float(), outputs.float()], dim=1))
        if self.name == "l2ab":
            lab = torch.cat([(inputs.float() + 1) * 50, outputs.float() * AB_SCALE], dim=1)
            return self.colour.lab_to_rgb(lab) * 2 - 1
        return outputs.float()

    def input_to_rgb(self, inputs: torch.Tensor) -> torch.Tensor:
        """What the network saw, as an RGB picture: for colour tasks the input with no colour."""
        if self.name == "l2ab":
            return self.to_rgb(inputs, torch.zeros_like(inputs).expand(-1, 2, -1, -1))
        return inputs if inputs.shape[1] == 3 else inputs.expand(-1, 3, -1, -1)

    def extra_repr(self) -> str:
        return self.name


def get_task(name: str) -> Task:
    if name not in CHANNELS:
        raise UserError(f"task={name!r} is unknown; valid tasks: {', '.join(TASKS)}")
    return Task(name)
