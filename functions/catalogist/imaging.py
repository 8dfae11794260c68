"""Photo bytes to model pixels: the one decoding and resizing policy of training and serving.

Training, evaluation and the functions all call `decode_photo` then `preprocess`, so the model
never sees pixels prepared differently from the ones it was trained on. Bad input raises
`BadPhoto` with a reason an admin can act on; it never crashes the function.
"""

import ctypes
import io
import threading
import warnings
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from catalogist.errors import BadPhoto

MAX_PIXELS = 40_000_000  # a 40 MP phone photo is plausible; more is a decompression bomb
MIN_SIDE = 16
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")  # the JPEG plugin also opens MPO
# Transparent areas become white, like the background of a product shot.
BACKGROUND = (255, 255, 255)
ORIENTATION = 0x0112  # the EXIF tag
# How to turn each EXIF orientation upright (as `ImageOps.exif_transpose`); applied after the
# frame is reduced, so the turn copies a small image, not the full decode.
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
STRIP_ROWS = 256  # rows converted at a time when a large non-RGB frame is reduced


def _open(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise BadPhoto(f"the photo is too large to decode safely: {error}") from None
    except UnidentifiedImageError:
        raise BadPhoto("the file is not a JPEG, PNG, WebP or GIF image") from None
    except MemoryError:
        raise
    except Exception as error:
        # Reading the header already decompresses PNG text and colour-profile chunks (Pillow caps
        # them with a ValueError) and reads JPEG markers and WebP headers, so a file cut short or
        # damaged there fails here, with OSError, ValueError, SyntaxError... as Pillow sees fit.
        if "Decompressed data too large" in str(error):
            raise BadPhoto(
                "the photo's metadata (a compressed text or colour-profile chunk) inflates past the safe limit; refused"
            ) from None
        raise BadPhoto(f"the photo file is truncated or corrupt: {error}") from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise BadPhoto(f"the photo is {width}×{height} pixels, more than the {MAX_PIXELS // 1_000_000} megapixel limit")
    if min(width, height) < MIN_SIDE:
        raise BadPhoto(f"the photo is {width}×{height} pixels, too small to recognise a product")
    return image


def _to_rgb(image: Image.Image, grey_scale: float = 1.0) -> Image.Image:
    """RGB of any mode; `grey_scale` divides 16-bit or float greyscale into 0..255."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        levels = np.asarray(image, dtype=np.float32)
        image = Image.fromarray(np.clip(levels / grey_scale, 0, 255).astype(np.uint8))
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image if image.mode == "RGB" else image.convert("RGB")


def _grey_scale(image: Image.Image) -> float:
    """16-bit greyscale keeps its top 8 bits instead of clipping everything above 255 to white;
    decided once for the whole image, so every strip of it is scaled alike."""
    if image.mode not in ("I", "I;16", "I;16B", "I;16L", "F"):
        return 1.0
    _, highest = image.getextrema()
    return 257.0 if float(highest) > 255 else 1.0  # type: ignore[arg-type]


def decoded_bytes(image: Image.Image) -> int:
    """What the decoded frame takes in memory: Pillow keeps 1, 2 or 4 bytes per pixel."""
    width, height = image.size
    per_pixel = 1 if image.mode in ("1", "L", "P") else 2 if image.mode.startswith("I;16") else 4
    return width * height * per_pixel


def _shrink_factors(size: tuple[int, int], target_size: int) -> tuple[int, int]:
    """Integer box-filter factors that keep each side at least twice the target, as
    `preprocess`'s resize (`reducing_gap=2.0`) would take them anyway."""
    return tuple(max(1, int(side / target_size / 2.0)) for side in size)  # type: ignore[return-value]


def _rgb_shrunk(image: Image.Image, target_size: int | None) -> Image.Image:
    """The decoded frame as RGB, box-reduced toward `target_size` before anything is converted.

    A 6300×6300 RGBA PNG is 160 MB decoded; converting it whole (to RGBa to reduce, or flat
    on white) costs two or three more copies of that. So modes other than RGB are converted and
    reduced strip by strip, each strip a multiple of the factor tall, which gives the same pixels
    as converting the whole frame first: peak memory stays about the decoded frame alone.
    """
    factors = _shrink_factors(image.size, target_size) if target_size else (1, 1)
    if image.mode == "RGB":
        return image.reduce(factors) if factors != (1, 1) else image
    grey_scale = _grey_scale(image)
    if factors == (1, 1):
        return _to_rgb(image, grey_scale)
    width, height = image.size
    factor_x, factor_y = factors
    strip = factor_y * max(1, STRIP_ROWS // factor_y)
    shrunk = Image.new("RGB", (-(-width // factor_x), -(-height // factor_y)))
    for top in range(0, height, strip):
        rows = _to_rgb(image.crop((0, top, width, min(top + strip, height))), grey_scale)
        shrunk.paste(rows.reduce(factors), (0, top // factor_y))
    return shrunk


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
MMAP_THRESHOLD_BYTES = 1 << 20


def return_freed_pixels_to_the_system() -> bool:
    """Make every allocation of 1 MB or more (pixel buffers, in Pillow's 16 MB blocks) its own
    mapping, given back to the system when freed. glibc otherwise raises that threshold past
    16 MB after the first such free, and a decoded frame's blocks then come from the request
    thread's heap and stay there: eight threads of worst-case photos held 810 MB where the
    decode budget let 380 MB be in use at once (docs/pipelines.md). Called once at start-up;
    False where the C library is not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


class DecodeBudget:
    """Bounds the memory of the photos being decoded at once in one instance.

    Each decode reserves what its decoded frame takes (`decoded_bytes`, known from the header
    before any pixel is decoded) and waits while the reservations would pass `max_bytes`. One
    decode is always let through, however large, so nothing waits forever. Shared by every
    request thread of the instance.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._reserved = 0
        self._changed = threading.Condition()

    @contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: self._reserved == 0 or self._reserved + nbytes <= self.max_bytes)
            self._reserved += nbytes
        try:
            yield
        finally:
            with self._changed:
                self._reserved -= nbytes
                self._changed.notify_all()


@dataclass(frozen=True)
class Decoded:
    """A decoded photo and what its file said of itself (kept on the product for admins)."""

    image: Image.Image
    facts: dict[str, Any]
    reservation: AbstractContextManager[None] = field(default_factory=nullcontext)

    def release(self) -> None:
        """Give the decode budget back (the pixels are no longer needed)."""
        self.reservation.__exit__(None, None, None)


def decode_photo(data: bytes, target_size: int | None = None, budget: DecodeBudget | None = None) -> Image.Image:
    """Validated RGB image, upright as the camera held it, first frame of an animation.

    `target_size` lets a JPEG decode at 1/2, 1/4 or 1/8 scale while both sides stay at least that
    large (a 12 MP phone photo decodes in milliseconds instead of a quarter second), and lets
    other formats be box-reduced toward it before they are converted. `budget` bounds the
    memory of the decodes running at once.
    """
    return decode_photo_with_facts(data, target_size, budget).image


def footprint(image: Image.Image, target_size: int | None) -> int:
    """Every pixel buffer a photo's decode and preprocessing hold at their peak, in bytes: the
    decoded frame; converting a frame that is not RGB (strip by strip when it is reduced, two
    whole copies when it is not); the reduced frame and its upright turn; the model input and
    its array. Known from the header before any pixel is decoded, so a `DecodeBudget` can bound
    the worst photos decoded at once, not only their frames."""
    width, height = image.size
    frame = decoded_bytes(image)
    factors = _shrink_factors(image.size, target_size) if target_size else (1, 1)
    if image.mode == "RGB":
        converting = 0
    elif factors == (1, 1):
        converting = 2 * width * height * 4  # RGBA and the flattened RGB, whole
    else:
        strip = factors[1] * max(1, STRIP_ROWS // factors[1])
        converting = 3 * width * min(strip, height) * 4  # the strip cropped, converted, flattened
    shrunk = -(-width // factors[0]) * -(-height // factors[1]) * 4
    model_input = (target_size or 0) ** 2 * (4 + 3)
    return frame + converting + 2 * shrunk + model_input


def decode_photo_with_facts(
    data: bytes, target_size: int | None = None, budget: DecodeBudget | None = None, keep: bool = False
) -> Decoded:
    """`decode_photo`, and the file's format, size, mode, frames and EXIF orientation, from the
    same one decode. With `keep` and a budget, the reservation is the caller's to release
    (`Decoded.release`), once it is done with the pixels (`photo_pixels_with_facts`)."""
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
        facts = {  # as the file says, before draft decoding shrinks the frame
            "format": image.format,
            "width": image.width,
            "height": image.height,
            "mode": image.mode,
            "frames": getattr(image, "n_frames", 1),
            "bytes": len(data),
        }
        if target_size and image.format in ("JPEG", "MPO"):
            image.draft("RGB", (target_size, target_size))
        reservation = budget.reserve(footprint(image, target_size)) if budget else nullcontext()
        reservation.__enter__()
        try:
            image.load()
            # after load: a PNG's getexif() loads the whole frame itself to find its eXIf chunk
            orientation = int(image.getexif().get(ORIENTATION, 1))
            image = _rgb_shrunk(image, target_size)
            method = UPRIGHT.get(orientation)
            upright = image.transpose(method) if method is not None else image
        except BaseException:
            reservation.__exit__(None, None, None)
            raise
        if not keep:
            reservation.__exit__(None, None, None)
            reservation = nullcontext()
        return Decoded(upright, {**facts, "exif_orientation": orientation}, reservation)
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
        image = _to_rgb(image, _grey_scale(image))
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(image, dtype=np.uint8)


def photo_pixels(data: bytes, size: int, budget: DecodeBudget | None = None) -> np.ndarray:
    """Bytes to model input in one call: what the functions and the evaluation use."""
    return photo_pixels_with_facts(data, size, budget)[0]


def photo_pixels_with_facts(
    data: bytes, size: int, budget: DecodeBudget | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """The model input and the file's facts; the budget is held until the input is made."""
    decoded = decode_photo_with_facts(data, target_size=size, budget=budget, keep=True)
    try:
        return preprocess(decoded.image, size), decoded.facts
    finally:
        decoded.release()
