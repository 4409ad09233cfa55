"""The restoration tasks' degradations (conf/task: denoise, inpaint, superres) on RGB batches in
[-1, 1]: Gaussian noise, square holes, lower resolution. Random for every training batch; for
validation and test drawn from a hash of each picture's own pixels, so every picture gets the
same noise or holes whatever its batch, its order or the device, and the scores repeat. All on
the batch's device: nothing waits for the host."""

import torch
import torch.nn.functional as F

MASK32 = 0xFFFFFFFF


def mul32(x: torch.Tensor, c: int) -> torch.Tensor:
    """(x * c) mod 2**32 for 32-bit x and c, in halves: no int64 product overflows."""
    return ((x & 0xFFFF) * c + (((x >> 16) * c) & 0xFFFF) * 65536) & MASK32


def mix(x: torch.Tensor) -> torch.Tensor:
    """MurmurHash3's 32-bit finaliser, element-wise on int64 tensors: every input bit reaches every output bit."""
    x = x & MASK32
    x = mul32(x ^ (x >> 16), 0x85EBCA6B)
    x = mul32(x ^ (x >> 13), 0xC2B2AE35)
    return x ^ (x >> 16)


def picture_seeds(rgb: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) in [-1, 1] -> (N,) a 32-bit hash of each picture's 8-bit pixels."""
    pixels = ((rgb.float() + 1) * 127.5).round().long().flatten(1)
    weights = mix(torch.arange(1, pixels.shape[1] + 1, device=rgb.device))
    return mix((pixels * weights).sum(1))  # each term < 2**40: no overflow below 2**23 values


def fixed_uniform(seeds: torch.Tensor, count: int, salt: int) -> torch.Tensor:
    """(N,) seeds -> (N, count) numbers in (0, 1), a function of the seed, the position and the salt."""
    index = torch.arange(count, device=seeds.device)
    x = mix(mix(seeds[:, None] ^ salt) + mul32(index[None], 0x9E3779B1))
    return ((x >> 8).float() + 0.5) / 2**24  # 24 bits: exact in fp32, never 0 or 1


def fixed_normal(seeds: torch.Tensor, count: int, salt: int) -> torch.Tensor:
    """(N, count) standard normal numbers (Box-Muller) from the seeds."""
    u1, u2 = fixed_uniform(seeds, count, salt), fixed_uniform(seeds, count, salt + 1)
    return torch.sqrt(-2 * torch.log(u1)) * torch.cos(2 * torch.pi * u2)


def add_noise(rgb: torch.Tensor, sigma: float, fixed: bool, clip: bool = True) -> torch.Tensor:
    """Gaussian noise of `sigma` on the [0, 1] pixel scale (2 sigma on [-1, 1]); clipped to the picture's
    range as a camera clips (and as the field's CIFAR-10 denoising numbers are measured), or not."""
    if fixed:
        noise = fixed_normal(picture_seeds(rgb), rgb[0].numel(), salt=1).view(rgb.shape)
    else:
        noise = torch.randn_like(rgb)
    noisy = rgb + 2 * sigma * noise
    return noisy.clamp(-1, 1) if clip else noisy


def cut_holes(rgb: torch.Tensor, holes: int, size: int, fixed: bool) -> torch.Tensor:
    """`holes` squares of size x size pixels (they may overlap) set to mid-gray (0 on [-1, 1])."""
    n, _, h, w = rgb.shape
    size = min(size, h, w)
    u = fixed_uniform(picture_seeds(rgb), 2 * holes, salt=3) if fixed else torch.rand(n, 2 * holes, device=rgb.device)
    top = (u[:, :holes] * (h - size + 1)).long()[:, :, None]  # (N, holes, 1)
    left = (u[:, holes:] * (w - size + 1)).long()[:, :, None]
    rows, cols = torch.arange(h, device=rgb.device), torch.arange(w, device=rgb.device)
    in_rows = (rows >= top) & (rows < top + size)  # (N, holes, H)
    in_cols = (cols >= left) & (cols < left + size)  # (N, holes, W)
    mask = (in_rows[:, :, :, None] & in_cols[:, :, None, :]).any(1)  # (N, H, W)
    return rgb.masked_fill(mask[:, None], 0.0)


# How superres lowers the resolution and enlarges again: box (the mean of each factor x factor block,
# then bilinear) or bicubic (antialiased bicubic down, bicubic up: as PIL's and MATLAB's imresize, the
# field's super-resolution setting)
RESAMPLE = ("box", "bicubic")


def lower_resolution(rgb: torch.Tensor, factor: int, resample: str = "box") -> torch.Tensor:
    """Down-sampled by `factor`, then up-sampled to the full size again: the network's input and
    output have the picture's size."""
    h, w = rgb.shape[-2:]
    if resample == "box":
        small = F.avg_pool2d(rgb.float(), factor)
    else:
        small = F.interpolate(rgb.float(), size=(h // factor, w // factor), mode="bicubic", antialias=True)
    return enlarge(small.clamp(-1, 1), (h, w), resample)


def enlarge(rgb: torch.Tensor, size, resample: str = "box") -> torch.Tensor:
    mode = "bilinear" if resample == "box" else "bicubic"
    return F.interpolate(rgb.float(), size=tuple(size), mode=mode, align_corners=False).clamp(-1, 1)
