"""Pictures read as a viewer shows them (autoenc/data/pictures.py), each kind of file written here:
16-bit and float gray, EXIF orientation, alpha, an embedded colour profile, animation; and the
same through dataset=images and scripts/colorize.py."""

import struct

import numpy as np
import pytest
from conftest import import_script
from PIL import Image

from autoenc.data.pictures import read, to_8_bits
from autoenc.data.tiles import decode

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (24, 40, 3), dtype=np.uint8)  # H 24, W 40


def s15(x: float) -> bytes:
    return struct.pack(">i", round(x * 65536))


def icc_profile(red: tuple, green: tuple, blue: tuple, gamma: float = 2.2) -> bytes:
    """A minimal ICC v2 RGB display profile (matrix + gamma curves) with these D50 primaries."""
    xyz = lambda v: b"XYZ \0\0\0\0" + b"".join(s15(c) for c in v)  # noqa: E731
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    text = b"autoenc test profile\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + b"\0" * 4 + b"\0" * 4 + b"\0\0\0" + b"\0" * 67
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz((0.9642, 1.0, 0.8249))),
        (b"rXYZ", xyz(red)),
        (b"gXYZ", xyz(green)),
        (b"bXYZ", xyz(blue)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset, table, data = 128 + 4 + 12 * len(tags), b"", b""
    for sig, body in tags:
        body += b"\0" * (-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + b"\0" * 4
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 28
        + s15(0.9642)
        + s15(1.0)
        + s15(0.8249)
        + b"\0" * 48
    )
    return header + struct.pack(">I", len(tags)) + table + data


SRGB_D50 = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141))


def test_16_bit_gray_is_scaled_not_clipped(tmp_path):
    """An archive's 16-bit scan (PNG, TIFF) comes out as its 8-bit picture, not almost all white."""
    gray16 = (RNG.integers(0, 256, (24, 40)).astype(np.uint16) * 257).astype(np.uint16)  # 8-bit values, widened
    for name in ("scan.png", "scan.tif"):
        Image.fromarray(gray16).save(tmp_path / name)
        rgb = read(tmp_path / name).rgb
        assert rgb.shape == (24, 40, 3) and np.array_equal(rgb[..., 0], gray16 // 257)
        assert np.array_equal(rgb[..., 0], rgb[..., 2])
    assert to_8_bits(np.array([0.0, 0.5, 1.0], np.float32)).tolist() == [0, 128, 255]  # float pictures in [0, 1]
    assert to_8_bits(np.array([-2.0, 0.0, 2.0], np.float32)).tolist() == [0, 128, 255]  # else their own range


def test_exif_orientation_is_applied(tmp_path):
    """A phone's picture stored sideways with Orientation 6 ("rotate 90 clockwise to view") reads upright."""
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(RGB).save(tmp_path / "phone.png", exif=exif.tobytes())
    Image.fromarray(RGB).save(tmp_path / "phone.jpg", exif=exif.tobytes(), quality=95)
    upright = read(tmp_path / "phone.png").rgb
    assert np.array_equal(upright, np.rot90(RGB, k=-1))  # turned 90 degrees clockwise: H 40, W 24
    assert read(tmp_path / "phone.jpg").rgb.shape == (40, 24, 3)


def test_alpha_is_kept_apart(tmp_path):
    alpha = RNG.integers(0, 256, (24, 40), dtype=np.uint8)
    Image.fromarray(np.dstack([RGB, alpha])).save(tmp_path / "logo.png")
    picture = read(tmp_path / "logo.png")
    assert np.array_equal(picture.rgb, RGB) and np.array_equal(picture.alpha, alpha)
    Image.fromarray(np.dstack([RGB, np.full_like(alpha, 255)])).save(tmp_path / "opaque.png")
    assert read(tmp_path / "opaque.png").alpha is None  # nothing hidden: no alpha to carry


def test_an_embedded_colour_profile_is_converted_to_srgb(tmp_path):
    """A file whose profile swaps red and blue primaries: its stored red is a blue in sRGB."""
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 200
    Image.fromarray(red).save(tmp_path / "swapped.png", icc_profile=icc_profile(*SRGB_D50[::-1]))
    Image.fromarray(red).save(tmp_path / "srgb_like.png", icc_profile=icc_profile(*SRGB_D50))
    swapped, same = read(tmp_path / "swapped.png").rgb, read(tmp_path / "srgb_like.png").rgb
    assert swapped[..., 2].min() > 150 and swapped[..., 0].max() < 60  # red stored, blue shown
    assert same[..., 0].min() > 150 and same[..., 2].max() < 60  # sRGB's own primaries: still red
    Image.fromarray(red).save(tmp_path / "bad_profile.png", icc_profile=b"not a profile")
    assert np.array_equal(read(tmp_path / "bad_profile.png").rgb, red)  # unreadable profile: pixels kept


def test_an_animation_gives_its_first_frame_and_says_so(tmp_path):
    frames = [Image.fromarray(np.full((32, 32, 3), v, np.uint8)) for v in (10, 120, 240)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=100)
    picture = read(tmp_path / "anim.gif")
    assert picture.rgb.max() < 30 and picture.notes == ["anim.gif: the first of its 3 frames"]
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "still.png")
    tiles, messages, counts = decode([tmp_path / "anim.gif", tmp_path / "still.png"], "skip")
    assert len(tiles) == 2 and messages == ["1 animated picture(s): their first frame only"] and counts == [1, 1]


def test_colorize_reads_them_as_shown_and_puts_the_alpha_back(tmp_path, capsys):
    colorize = import_script("colorize")

    alpha = RNG.integers(0, 256, (24, 40), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.dstack([RGB, alpha])).save(tmp_path / "logo.png")
    Image.fromarray(RGB).save(tmp_path / "phone.jpg", exif=exif.tobytes())
    frames = [Image.fromarray(np.full((32, 32, 3), v, np.uint8)) for v in (10, 240)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    assert colorize.main([f"input={tmp_path}", f"output={tmp_path / 'out'}"]) == 0
    assert "note: anim.gif: the first of its 2 frames" in capsys.readouterr().err
    with Image.open(tmp_path / "out" / "logo.png") as out:
        assert out.mode == "RGBA" and np.array_equal(np.asarray(out)[..., 3], alpha)
    with Image.open(tmp_path / "out" / "phone.png") as out:
        assert out.size == (24, 40)  # upright, as a viewer shows the input
    assert colorize.main([f"input={tmp_path / 'logo.png'}", f"output={tmp_path / 'logo.jpg'}"]) == 0
    with Image.open(tmp_path / "logo.jpg") as out:
        assert out.mode == "RGB"  # JPEG keeps no alpha


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "LA"])
def test_other_modes_read_as_rgb(tmp_path, mode):
    Image.fromarray(RGB).convert(mode).save(tmp_path / "x.tif")
    picture = read(tmp_path / "x.tif")
    assert picture.rgb.shape == (24, 40, 3) and picture.rgb.dtype == np.uint8
    with Image.open(tmp_path / "x.tif") as saved:  # as Pillow converts that mode to RGB
        assert np.array_equal(picture.rgb, np.asarray(saved.convert("RGB")))
