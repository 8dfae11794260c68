"""The shop-photo corruptions the evaluation measures robustness against.

Each takes a decoded photo and returns a damaged copy, deterministically (the same photo always
gets the same damage), before the normal `preprocess`. `index` picks the corner or the other
photo where a corruption needs one, so a whole split is damaged evenly.
"""

import io
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageFilter

Corruption = Callable[[Image.Image, int, Sequence[Image.Image]], Image.Image]


def _scaled(image: Image.Image, factor: float) -> Image.Image:
    pixels = np.asarray(image, np.float32) * factor
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def gaussian_blur(image, index, others):
    return image.filter(ImageFilter.GaussianBlur(radius=max(image.size) / 128))


def jpeg_q10(image, index, others):
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=10)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def dark(image, index, others):
    return _scaled(image, 0.4)


def bright(image, index, others):
    return _scaled(image, 1.8)


def rotation_25(image, index, others):
    """A phone tilted by 25°: rotate, then keep the largest upright frame without empty corners."""
    angle = 25 if index % 2 == 0 else -25
    turned = image.rotate(angle, Image.Resampling.BILINEAR)
    radians = np.deg2rad(25)
    keep = 1 / (np.cos(radians) + np.sin(radians))
    w, h = image.size
    cw, ch = w * keep, h * keep
    return turned.crop((round((w - cw) / 2), round((h - ch) / 2), round((w + cw) / 2), round((h + ch) / 2)))


def downscale_64(image, index, others):
    w, h = image.size
    small = image.resize((64, max(1, round(64 * h / w))), Image.Resampling.BILINEAR)
    return small.resize((w, h), Image.Resampling.BILINEAR)


def sensor_noise(image, index, others):
    rng = np.random.default_rng(index)
    pixels = np.asarray(image, np.float32) + rng.normal(0, 20, (image.height, image.width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def distractor(image, index, others):
    """Another product's photo over a quarter of the frame (half of each side), in a corner."""
    other = others[(index + len(others) // 2) % len(others)]
    w, h = image.size
    patch = other.resize((w // 2, h // 2), Image.Resampling.BILINEAR)
    corner = index % 4
    x = 0 if corner in (0, 2) else w - w // 2
    y = 0 if corner in (0, 1) else h - h // 2
    pasted = image.copy()
    pasted.paste(patch, (x, y))
    return pasted


def off_centre_crop(image, index, others):
    """65 % of each side, anchored at a corner: the product is partly out of frame."""
    w, h = image.size
    cw, ch = round(w * 0.65), round(h * 0.65)
    corner = index % 4
    x = 0 if corner in (0, 2) else w - cw
    y = 0 if corner in (0, 1) else h - ch
    return image.crop((x, y, x + cw, y + ch))


CORRUPTIONS: dict[str, Corruption] = {
    "gaussian_blur": gaussian_blur,
    "jpeg_q10": jpeg_q10,
    "dark_x0.4": dark,
    "bright_x1.8": bright,
    "rotation_25": rotation_25,
    "downscale_64": downscale_64,
    "sensor_noise": sensor_noise,
    "distractor_quarter": distractor,
    "off_centre_crop": off_centre_crop,
}
