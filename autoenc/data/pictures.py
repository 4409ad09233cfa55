"""Picture files as a viewer shows them, in one place for colorize, dataset=images and
scripts/pictures_npz.py: EXIF orientation applied, an embedded colour profile converted to sRGB,
16-bit and float pictures scaled (not clipped) to 8 bits, alpha kept apart, the first frame of
an animation."""

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps

HIGH_DEPTH = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")  # Pillow's one-channel modes over 8 bits
WITH_ALPHA = ("RGBA", "LA", "PA", "RGBa", "La")


@dataclass
class Picture:
    rgb: np.ndarray  # uint8 (H, W, 3), sRGB, upright
    alpha: np.ndarray | None = None  # uint8 (H, W), where the file has transparency
    notes: list[str] = field(default_factory=list)  # what was done that a user may not expect


def read(path: str | Path) -> Picture:
    """Decode a picture file (Pillow) into upright 8-bit sRGB and its alpha. Pillow's errors
    (OSError, ValueError, SyntaxError, DecompressionBombError) pass through to the caller."""
    with Image.open(path) as im:
        notes, icc = [], im.info.get("icc_profile")
        if getattr(im, "n_frames", 1) > 1:
            notes.append(f"{Path(path).name}: the first of its {im.n_frames} frames")
            im.seek(0)
        im = ImageOps.exif_transpose(im)  # a copy, turned as the EXIF orientation says
    if im.mode in HIGH_DEPTH:
        im = Image.fromarray(to_8_bits(np.asarray(im)), "L")
    alpha = None
    if im.mode in WITH_ALPHA or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        alpha = np.array(im.getchannel("A"))
        alpha = None if alpha.min() == 255 else alpha  # an alpha channel that hides nothing: none
    if im.mode not in ("L", "RGB", "CMYK"):
        im = im.convert("RGB")
    if icc:
        im = to_srgb(im, icc)
    return Picture(np.array(im.convert("RGB")), alpha, notes)


def to_8_bits(values: np.ndarray) -> np.ndarray:
    """A high-depth one-channel picture scaled to 0-255: integers as 16-bit (255/65535), floats
    in [0, 1] by 255; anything outside those ranges by its own range."""
    floating = np.issubdtype(values.dtype, np.floating)
    values = values.astype(np.float64)
    low, high = values.min(), values.max()
    top = 1.0 if floating else 65535.0
    if low < 0 or high > top:
        values, top = values - low, max(high - low, 1e-12)
    return np.clip(np.round(values * (255 / top)), 0, 255).astype(np.uint8)


def to_srgb(im: Image.Image, icc: bytes) -> Image.Image:
    """Convert from the file's embedded colour profile to sRGB (LittleCMS through Pillow); a
    profile LittleCMS cannot read, or one for another colour space, leaves the pixels as they are."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(im, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return im
