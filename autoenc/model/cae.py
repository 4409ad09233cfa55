"""The CAE builder (conf/arch): widths, kernel_size, block -> encoder + decoder.

Stage i = conv(kernel_size, widths[i], "same") + ReLU (twice if block=double); a 2x2
max-pool between stages; the last stage is the latent. The decoder mirrors it: 2x nearest
upsample + stage for widths[-2] .. widths[1], a last 2x upsample and a final conv (no
activation) to the task's output channels. With arch.skips or arch.residual: autoenc/model/unet.py.
"""

from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn

from autoenc import UserError

BLOCKS = {"single": 1, "double": 2}


def check_arch(widths: Sequence[int], kernel_size: int, block: str, image_size: int = 32) -> None:
    """Raise UserError with a plain reason if these settings cannot build a working CAE."""
    if len(widths) < 2 or any(int(w) < 1 for w in widths):
        raise UserError(f"arch.widths={list(widths)}: need at least 2 positive widths")
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise UserError(f"arch.kernel_size={kernel_size}: must be a positive odd number ('same' padding)")
    if block not in BLOCKS:
        raise UserError(f"arch.block={block!r}: must be one of {sorted(BLOCKS)}")
    pools = len(widths) - 1
    if image_size % 2**pools:
        raise UserError(
            f"arch.widths has {len(widths)} stages, i.e. {pools} 2x2 pools, which needs an image "
            f"size divisible by {2**pools}; the images are {image_size}x{image_size}"
        )


def stage(in_ch: int, out_ch: int, kernel_size: int, convs: int) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for i in range(convs):
        layers += [nn.Conv2d(in_ch if i == 0 else out_ch, out_ch, kernel_size, padding=kernel_size // 2), nn.ReLU()]
    return layers


class StagedNet(nn.Module):
    """What the arch group's nets share: checked widths, kernel_size and block (convs per stage)."""

    def __init__(self, widths: Sequence[int], kernel_size: int, block: str):
        super().__init__()
        check_arch(widths, kernel_size, block)
        self.widths, self.kernel_size, self.block = [int(w) for w in widths], kernel_size, block
        self.convs = BLOCKS[block]


class CAE(StagedNet):
    def __init__(self, widths: Sequence[int], kernel_size: int, block: str, in_channels: int, out_channels: int):
        super().__init__(widths, kernel_size, block)
        widths, convs = self.widths, self.convs
        enc: list[nn.Module] = stage(in_channels, widths[0], kernel_size, convs)
        for prev, w in pairwise(widths):
            enc += [nn.MaxPool2d(2), *stage(prev, w, kernel_size, convs)]
        dec: list[nn.Module] = []
        for prev, w in pairwise(widths[:0:-1]):
            dec += [nn.Upsample(scale_factor=2, mode="nearest"), *stage(prev, w, kernel_size, convs)]
        dec += [
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(widths[1], out_channels, kernel_size, padding=kernel_size // 2),
        ]
        self.encoder, self.decoder = nn.Sequential(*enc), nn.Sequential(*dec)
        self.apply(glorot)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))

    @property
    def output_conv(self) -> nn.Conv2d:
        return self.decoder[-1]

    @torch.no_grad()
    def latent_shape(self, image_size: int = 32) -> tuple[int, int, int]:
        """(C, H, W) of the latent, measured by running the built encoder."""
        conv = next(m for m in self.encoder if isinstance(m, nn.Conv2d))
        x = torch.zeros(1, conv.in_channels, image_size, image_size, device=conv.weight.device)
        return tuple(self.encoder(x).shape[1:])


def glorot(m: nn.Module) -> None:
    """Keras's defaults (Glorot-uniform weights, zero bias): faster start than PyTorch's on this net."""
    if isinstance(m, nn.Conv2d):
        nn.init.xavier_uniform_(m.weight)
        nn.init.zeros_(m.bias)
