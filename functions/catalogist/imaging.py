"""Photo bytes to model pixels: the one decoding and resizing policy of training and serving.

Training, evaluation and the functions all call `decode_photo` then `preprocess`, so the model
never sees pixels prepared differently from the ones it was trained on. Bad input raises
`BadPhoto` with a reason an admin can act on; it never crashes the function.
"""

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from catalogist.errors import BadPhoto

MAX_PIXELS = 40_000_000  # a 40 MP phone photo is plausible; more is a decompression bomb
MIN_SIDE = 16
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")  # the JPEG plugin also opens MPO
# Transparent areas become white, like the background of a product shot.
BACKGROUND = (255, 255, 255)


def _open(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise BadPhoto(f"the photo is too large to decode safely: {error}") from None
    except UnidentifiedImageError:
        raise BadPhoto("the file is not a JPEG, PNG, WebP or GIF image") from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise BadPhoto(f"the photo is {width}×{height} pixels, more than the {MAX_PIXELS // 1_000_000} megapixel limit")
    if min(width, height) < MIN_SIDE:
        raise BadPhoto(f"the photo is {width}×{height} pixels, too small to recognise a product")
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # 16-bit greyscale: keep the top 8 bits instead of clipping everything above 255 to white.
        levels = np.asarray(image, dtype=np.float32)
        scale = 257.0 if levels.max(initial=0) > 255 else 1.0
        image = Image.fromarray(np.clip(levels / scale, 0, 255).astype(np.uint8))
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image if image.mode == "RGB" else image.convert("RGB")


def decode_photo(data: bytes, target_size: int | None = None) -> Image.Image:
    """Validated RGB image, upright as the camera held it, first frame of an animation.

    `target_size` lets a JPEG decode at 1/2, 1/4 or 1/8 scale while both sides stay at least that
    large: a 12 MP phone photo decodes in milliseconds instead of a quarter second.
    """
    if not data:
        raise BadPhoto("the photo file is empty")
    image = _open(data)
    try:
        image.verify()  # checks structure (PNG CRCs and chunks) without decoding every pixel
    except Exception as error:
        raise BadPhoto(f"the photo file is corrupt: {error}") from None
    image = _open(data)  # verify() leaves the image unusable: reopen to decode it
    try:
        image.seek(0)
        if target_size and image.format in ("JPEG", "MPO"):
            image.draft("RGB", (target_size, target_size))
        image.load()
        image = ImageOps.exif_transpose(image) or image
        return _to_rgb(image)
    except BadPhoto:
        raise
    except Exception as error:  # Pillow raises OSError, ValueError, SyntaxError... for bad data
        raise BadPhoto(f"the photo is truncated or corrupt and cannot be decoded: {error}") from None


def preprocess(image: Image.Image, size: int) -> np.ndarray:
    """The whole frame squeezed to size×size RGB uint8 (H, W, 3).

    The whole frame, not a centre crop: a product near the edge must stay in view. Big images
    shrink first by an integer box filter (`reducing_gap`), which is both fast and anti-aliased,
    then bilinear to the exact size.
    """
    if image.mode != "RGB":
        image = _to_rgb(image)
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(image, dtype=np.uint8)


def photo_pixels(data: bytes, size: int) -> np.ndarray:
    """Bytes to model input in one call: what the functions and the evaluation use."""
    return preprocess(decode_photo(data, target_size=size), size)
