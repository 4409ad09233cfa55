"""The colour maths of the tasks (autoenc/model/tasks.py), as kornia defines it (kornia stays the
reference in tests/test_tasks.py), with its constants made once as buffers of a module.

kornia builds its matrices with torch.tensor(...) on every call: on a GPU each one is a copy
from the host that waits for every queued kernel (a sync per training step), and it cannot be
recorded in a CUDA graph. Here the constants move with the LightningModule, and every transform
runs in fp32 outside autocast, so bf16 training rounds neither inputs, targets nor scores.
"""

import contextlib

import torch
from torch import nn

GRAY = [0.299, 0.587, 0.114]  # ITU-R BT.601 luma, kornia's rgb_to_grayscale
RGB_TO_YUV = [[0.299, 0.587, 0.114], [-0.147, -0.289, 0.436], [0.615, -0.515, -0.100]]  # kornia: BT.470 M/PAL
YUV_TO_RGB = [  # kornia's exact inverse of RGB_TO_YUV
    [1.0, -3.945707070707071e-05, 1.139827967171717],
    [1.0, -0.39461016414141414, -0.5805003156565657],
    [1.0, 2.0319996843434343, -0.00048137626262626264],
]
RGB_TO_XYZ = [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]]
XYZ_TO_RGB = [
    [3.2404813432005266, -1.5371515162713185, -0.4985363261688878],
    [-0.9692549499965682, 1.8759900014898907, 0.0415559265582928],
    [0.0556466391351772, -0.2040413383665112, 1.0573110696453443],
]
D65_WHITE = [0.95047, 1.0, 1.08883]


def fp32(x: torch.Tensor) -> contextlib.AbstractContextManager:
    """Autocast off on x's device (if it is on): the colour maths stay in fp32."""
    on = torch.is_autocast_enabled(x.device.type)
    return torch.autocast(x.device.type, enabled=False) if on else contextlib.nullcontext()


class ColourMaths(nn.Module):
    """Gray, YUV and CIE-Lab (sRGB, D65) conversions of (N, 3, H, W) images, kornia's formulas.
    Buffers are not persistent: checkpoints hold the network only."""

    def __init__(self):
        super().__init__()
        for name, value in [
            ("gray_weights", [GRAY]),
            ("rgb_to_yuv_matrix", RGB_TO_YUV),
            ("yuv_to_rgb_matrix", YUV_TO_RGB),
            ("rgb_to_xyz_matrix", RGB_TO_XYZ),
            ("xyz_to_rgb_matrix", XYZ_TO_RGB),
        ]:
            self.register_buffer(name, torch.tensor(value, dtype=torch.float32), persistent=False)
        self.register_buffer("white", torch.tensor(D65_WHITE).view(3, 1, 1), persistent=False)

    @staticmethod
    def _linear(matrix: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        with fp32(image):
            return torch.einsum("ij,njhw->nihw", matrix.float(), image.float())

    def gray(self, rgb: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> (N, 1, H, W): the luma, as kornia's rgb_to_grayscale."""
        return self._linear(self.gray_weights, rgb)

    def rgb_to_yuv(self, rgb: torch.Tensor) -> torch.Tensor:
        return self._linear(self.rgb_to_yuv_matrix, rgb)

    def yuv_to_rgb(self, yuv: torch.Tensor) -> torch.Tensor:
        return self._linear(self.yuv_to_rgb_matrix, yuv)

    def rgb_to_lab(self, rgb: torch.Tensor) -> torch.Tensor:
        """RGB in [0, 1] -> L in [0, 100], a and b about [-110, 110]: kornia's rgb_to_lab."""
        with fp32(rgb):
            rgb = rgb.float()
            linear = torch.where(rgb > 0.04045, ((rgb + 0.055).clamp(min=0.0) / 1.055).pow(2.4), rgb / 12.92)
            xyz = self._linear(self.rgb_to_xyz_matrix, linear) / self.white
            f = torch.where(xyz > 0.008856, xyz.clamp(min=0.008856).pow(1 / 3.0), 7.787 * xyz + 4.0 / 29.0)
            x, y, z = f.unbind(1)
            return torch.stack([116.0 * y - 16.0, 500.0 * (x - y), 200.0 * (y - z)], dim=1)

    def lab_to_rgb(self, lab: torch.Tensor) -> torch.Tensor:
        """kornia's lab_to_rgb(clip=True): RGB in [0, 1]."""
        with fp32(lab):
            L, a, b = lab.float().unbind(1)
            fy = (L + 16.0) / 116.0
            f = torch.stack([a / 500.0 + fy, fy, (fy - b / 200.0).clamp(min=0.0)], dim=1)
            xyz = torch.where(f > 0.2068966, f.pow(3.0), (f - 4.0 / 29.0) / 7.787) * self.white
            linear = self._linear(self.xyz_to_rgb_matrix, xyz)
            rgb = torch.where(
                linear > 0.0031308, 1.055 * linear.clamp(min=0.0031308).pow(1 / 2.4) - 0.055, 12.92 * linear
            )
            return rgb.clamp(0.0, 1.0)
