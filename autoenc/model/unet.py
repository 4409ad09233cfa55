"""The arch group's skip-connection nets (arch.skips=true), and the residual output of any net.

UNet: the CAE's stages (widths, kernel_size, block), but each decoder stage also takes the encoder
stage of its resolution (concatenated after the 2x upsample), and the last decoder stage works at
full resolution before the output conv: detail passes around the bottleneck, as the field's
restoration nets do (U-Net, Ronneberger et al. 2015). Residual (arch.residual=true): the net
predicts a correction to its input, output = input + net(input) (DnCNN's residual learning), for
tasks whose input and target share a space; its last conv starts at zero, so training starts
from "do nothing".
"""

import math
from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn

from autoenc import UserError
from autoenc.model.cae import CAE, StagedNet, glorot, stage


class UNet(StagedNet):
    def __init__(self, widths: Sequence[int], kernel_size: int, block: str, in_channels: int, out_channels: int):
        super().__init__(widths, kernel_size, block)
        widths, convs = self.widths, self.convs
        self.down = nn.ModuleList([nn.Sequential(*stage(in_channels, widths[0], kernel_size, convs))])
        self.down.extend(
            nn.Sequential(nn.MaxPool2d(2), *stage(prev, w, kernel_size, convs)) for prev, w in pairwise(widths)
        )
        self.up = nn.ModuleList(
            nn.Sequential(*stage(deep + w, w, kernel_size, convs))
            for deep, w in zip(widths[:0:-1], widths[-2::-1], strict=True)
        )
        self.out = nn.Conv2d(widths[0], out_channels, kernel_size, padding=kernel_size // 2)
        self.apply(glorot)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for stage_ in self.down:
            x = stage_(x)
            skips.append(x)
        x = skips.pop()
        for stage_ in self.up:
            x = nn.functional.interpolate(x, scale_factor=2, mode="nearest")
            x = stage_(torch.cat([x, skips.pop()], 1))
        return self.out(x)

    @property
    def output_conv(self) -> nn.Conv2d:
        return self.out

    @torch.no_grad()
    def latent_shape(self, image_size: int = 32) -> tuple[int, int, int]:
        """(C, H, W) of the deepest stage: not a code (the skips carry the rest), but its size."""
        x = torch.zeros(1, self.down[0][0].in_channels, image_size, image_size, device=self.out.weight.device)
        for stage_ in self.down:
            x = stage_(x)
        return tuple(x.shape[1:])


class Residual(nn.Module):
    """input + net(input): the wrapped net predicts a correction, starting from none."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net
        nn.init.zeros_(net.output_conv.weight)
        nn.init.zeros_(net.output_conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)

    def latent_shape(self, image_size: int = 32) -> tuple[int, int, int]:
        return self.net.latent_shape(image_size)


def check_net(skips: bool, residual: bool, task: str, restores: bool) -> None:
    """A UserError in one line where the net's options are not true/false or do not fit the task."""
    for key, value in (("skips", skips), ("residual", residual)):
        if not isinstance(value, bool):
            raise UserError(f"arch.{key}={value!r}: must be true or false")
    if skips and task == "reconstruct":
        raise UserError(
            "arch.skips=true with task=reconstruct: skips pass the picture around the bottleneck that reconstruction "
            "is about; use arch.skips=false, or a task that restores or colours (denoise, superres, inpaint, y2uv, ...)"
        )
    if residual and not restores:
        raise UserError(
            f"arch.residual=true with task={task}: a residual net adds its correction to its input, so input and "
            "target must be one picture space, as in denoise, superres and inpaint"
        )


def build_net(arch, task, out_channels: int) -> nn.Module:
    """The network an arch config describes (widths, kernel_size, block; skips, residual) for a task
    (its input channels; the options checked against it), with out_channels outputs (conf/loss's)."""
    skips, residual = arch.get("skips", False), arch.get("residual", False)
    check_net(skips, residual, task.name, task.restores)
    kind = UNet if skips else CAE
    net = kind(arch["widths"], arch["kernel_size"], arch["block"], task.in_channels, out_channels)
    return Residual(net) if residual else net


def describe_net(net: nn.Module, arch: dict, task: str) -> dict:
    """The network (trained for this task) as metrics.json records it."""
    latent_shape = net.latent_shape()
    return {
        "widths": [int(w) for w in arch["widths"]],
        "kernel_size": arch["kernel_size"],
        "block": arch["block"],
        "skips": bool(arch.get("skips")),
        "residual": bool(arch.get("residual")),
        "task": task,
        "latent_size": math.prod(latent_shape),
        "latent_shape": list(latent_shape),
        "params": sum(p.numel() for p in net.parameters()),
    }
