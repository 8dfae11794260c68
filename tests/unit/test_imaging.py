"""Decoding and preprocessing of vendor photos: every odd format becomes the same RGB pixels."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from catalogist.errors import BadPhoto, PermanentError
from catalogist.imaging import MAX_PIXELS, decode_photo, decode_photo_with_facts, photo_pixels, preprocess


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def gradient(width=64, height=48) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.uint8)[:, None].repeat(width, 1)
    return Image.fromarray(np.stack([x, y, 255 - x], axis=-1), "RGB")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a size; the pixel data never needs to exist to be refused."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def test_jpeg_decodes_to_rgb():
    image = decode_photo(encoded(gradient(), "JPEG"))

    assert image.mode == "RGB"
    assert image.size == (64, 48)


def test_transparent_png_gets_white_background():
    rgba = Image.new("RGBA", (32, 32), (255, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (0, 0, 16, 32))

    pixels = np.asarray(decode_photo(encoded(rgba, "PNG")))

    assert tuple(pixels[0, 0]) == (0, 0, 255)
    assert tuple(pixels[0, 31]) == (255, 255, 255)


def test_palette_with_transparency_and_greyscale_become_rgb():
    palette = gradient().convert("P")
    palette.info["transparency"] = 0
    grey = gradient().convert("L")

    assert decode_photo(encoded(palette, "PNG", transparency=0)).mode == "RGB"
    assert decode_photo(encoded(grey, "JPEG")).mode == "RGB"


def test_cmyk_jpeg_becomes_rgb():
    cmyk = gradient().convert("CMYK")

    image = decode_photo(encoded(cmyk, "JPEG"))

    assert image.mode == "RGB"


def test_sixteen_bit_greyscale_keeps_its_range():
    levels = np.linspace(0, 65535, 32 * 32).reshape(32, 32).astype(np.uint16)
    sixteen = Image.fromarray(levels)  # uint16 -> mode I;16

    pixels = np.asarray(decode_photo(encoded(sixteen, "PNG")))

    assert pixels.min() == 0
    assert pixels.max() == 255  # scaled, not clipped: the mid-tones stay grey
    assert 100 < pixels[16, 0, 0] < 160


def test_animation_uses_its_first_frame():
    frames = [Image.new("RGB", (32, 32), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])

    pixels = np.asarray(decode_photo(buffer.getvalue()))

    assert pixels[0, 0, 0] > 200 and pixels[0, 0, 1] < 50


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"

    image = decode_photo(encoded(gradient(64, 48), "JPEG", exif=exif.tobytes()))

    assert image.size == (48, 64)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"this is a price list, not a photo", "not a JPEG"),
        (png_header_only(MAX_PIXELS, 2), "megapixel"),
        (png_header_only(60000, 60000), "too large"),
    ],
)
def test_bad_input_is_a_permanent_error_with_a_reason(data, words):
    with pytest.raises(BadPhoto) as raised:
        decode_photo(data)

    assert isinstance(raised.value, PermanentError)
    assert words in raised.value.reason


def test_truncated_jpeg_is_refused():
    data = encoded(gradient(256, 256), "JPEG")

    with pytest.raises(BadPhoto, match="truncated or corrupt"):
        decode_photo(data[: len(data) // 2])


def test_tiny_image_is_refused():
    with pytest.raises(BadPhoto, match="too small"):
        decode_photo(encoded(Image.new("RGB", (8, 8)), "PNG"))


def test_preprocess_gives_square_uint8_of_the_whole_frame():
    image = gradient(200, 100)

    pixels = preprocess(image, 32)

    assert pixels.shape == (32, 32, 3)
    assert pixels.dtype == np.uint8
    assert pixels[:, 0, 0].mean() < 20 and pixels[:, -1, 0].mean() > 235  # left and right edges kept


def test_draft_decoding_keeps_enough_pixels_and_same_content():
    big = gradient(1600, 1200)
    data = encoded(big, "JPEG", quality=95)

    drafted = decode_photo(data, target_size=224)
    fast, slow = photo_pixels(data, 224), preprocess(decode_photo(data), 224)

    assert min(drafted.size) >= 224
    assert drafted.size[0] < 1600
    assert np.abs(fast.astype(int) - slow.astype(int)).mean() < 3


def test_the_facts_describe_the_file_not_the_draft_decode():
    data = encoded(gradient(1600, 1200), "JPEG")

    decoded = decode_photo_with_facts(data, target_size=224)

    assert decoded.image.size[0] < 1600, "decoded at a reduced scale"
    assert {k: decoded.facts[k] for k in ("format", "width", "height", "exif_orientation")} == {
        "format": "JPEG",
        "width": 1600,
        "height": 1200,
        "exif_orientation": 1,
    }
