"""Use a trained model on pictures of any size, read from files and written back.

The network is fully convolutional: a picture is padded (reflect) to a multiple of its
total down-sampling, run, and cropped back. For colour tasks the output keeps the input's
own full-resolution luminance and takes only the colour from the model.
"""

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from autoenc import UserError
from autoenc.data.pictures import Picture, read
from autoenc.model.colour import ColourMaths
from autoenc.training.module import AutoEncoder

KEEP_ALPHA = (".png", ".webp", ".tif", ".tiff", ".gif")  # output formats that keep transparency


def stride_of(model: AutoEncoder) -> int:
    """Total down-sampling: sizes must be multiples of it."""
    return 2 ** (len(model.hparams.widths) - 1)


@torch.no_grad()
def predict_rgb(model: AutoEncoder, rgb: torch.Tensor) -> torch.Tensor:
    """RGB (N, 3, H, W) in [-1, 1], any H, W -> the model's RGB output, same size (superres: its
    factor times larger). Colour tasks see only the input's luminance and keep it: the output's YUV
    luma is the input's."""
    task = model.task
    x = task.input_from_picture(rgb)  # restoration tasks: the picture is the degraded one
    h, w = x.shape[-2:]
    s = stride_of(model)
    pad = (0, -w % s, 0, -h % s)
    mode = "reflect" if min(h, w) > s else "replicate"  # reflect needs more pixels than it pads
    out = model(F.pad(x, pad, mode=mode))[..., :h, :w]
    pred = task.to_rgb(x, out)
    if not task.colours:
        return pred.clamp(-1, 1)
    return with_luma(task.colour.rgb_to_yuv(rgb)[:, :1], pred, task.colour)


def with_luma(luma: torch.Tensor, colour: torch.Tensor, maths: ColourMaths) -> torch.Tensor:
    """The YUV luma `luma` (N, 1, H, W) with the chroma of RGB `colour`, chroma scaled down per
    pixel just enough to stay inside [-1, 1]: the luma is kept exactly, the hue too."""
    uv = maths.rgb_to_yuv(colour)[:, 1:]
    offset = maths.yuv_to_rgb(torch.cat([torch.zeros_like(luma), uv], dim=1))  # RGB = luma + offset (linear)
    room = torch.where(offset > 0, (1 - luma) / offset, torch.where(offset < 0, (-1 - luma) / offset, torch.inf))
    return luma + room.amin(dim=1, keepdim=True).clamp(0, 1) * offset


def to_tensor(picture: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) -> (1, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(picture).permute(2, 0, 1)[None].float() / 127.5 - 1


def to_picture(rgb: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [-1, 1] -> uint8 (H, W, 3)."""
    return ((rgb.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()


def read_picture(path: Path) -> Picture:
    """A picture file as a viewer shows it (autoenc/data/pictures.py); a clear UserError for unreadable,
    malformed or huge files (Pillow's decompression-bomb guard stays on)."""
    from PIL import Image

    try:
        return read(path)
    except Image.DecompressionBombError as e:
        raise UserError(f"{path}: refused, too large ({e})") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise UserError(f"{path}: cannot read this picture ({e})") from None


def picture_files(root: Path) -> list[Path]:
    from autoenc.data.tiles import PICTURE_SUFFIXES

    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in PICTURE_SUFFIXES)


def run_on_files(
    model: AutoEncoder,
    jobs: list[tuple[Path, Path]],
    batch_size: int = 16,
    side_by_side: bool = False,
    progress: bool = True,
) -> tuple[int, list[str]]:
    """Each (input, output) pair: read, run, write (PNG, or the output's format; a picture's
    transparency goes back onto its output where the format keeps it). Pictures of one size go
    through in batches. Returns (written, messages): unreadable inputs (skipped) and notes."""
    from tqdm import tqdm

    messages, pictures = [], []
    for src, dst in jobs:
        try:
            picture = read_picture(src)
        except UserError as e:
            messages.append(f"skipped: {e}")
            continue
        pictures.append((dst, picture))
        messages += [f"note: {n}" for n in picture.notes]
    pictures.sort(key=lambda p: p[1].rgb.shape)
    device = next(model.parameters()).device
    written = 0
    with tqdm(total=len(pictures), unit="picture", disable=not progress) as bar:
        i = 0
        while i < len(pictures):
            same = [p for p in pictures[i : i + batch_size] if p[1].rgb.shape == pictures[i][1].rgb.shape]
            rgb = torch.cat([to_tensor(p.rgb) for _, p in same]).to(device)
            for (dst, picture), out in zip(same, predict_rgb(model, rgb), strict=True):
                write_picture(dst, to_picture(out), picture, side_by_side)
                written += 1
            bar.update(len(same))
            i += len(same)
    return written, messages


def write_picture(dst: Path, result: np.ndarray, picture: Picture, side_by_side: bool) -> None:
    """The result (beside its input if asked), with the input's alpha where the format keeps it."""
    from PIL import Image

    rgb, alpha = picture.rgb, picture.alpha
    if result.shape[:2] != rgb.shape[:2]:  # superres: the input (shown beside) and its alpha enlarged to fit
        size = (result.shape[1], result.shape[0])
        rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))
        alpha = None if alpha is None else np.asarray(Image.fromarray(alpha).resize(size, Image.Resampling.BILINEAR))
    if side_by_side:
        result = np.concatenate([rgb, result], axis=1)
        alpha = None if alpha is None else np.concatenate([alpha, alpha], axis=1)
    image = Image.fromarray(result)
    if alpha is not None and dst.suffix.lower() in KEEP_ALPHA:
        image.putalpha(Image.fromarray(alpha))
    dst.parent.mkdir(parents=True, exist_ok=True)
    image.save(dst)
