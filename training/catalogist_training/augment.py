"""Training-time augmentation aimed at how shop photos go wrong.

Each transform mirrors a failure seen in vendor photos and has a twin corruption in
`corruptions.py` that the evaluation measures: a second product in the frame (the label stays the
dominant one), blur, heavy JPEG, dim or blown-out light, a tilted phone, a low-resolution
upload, sensor noise, a product off-centre. Works on batches of float pixels in 0..255 inside
`tf.data`, so it runs on the input threads while the model trains.
"""

import math

import tensorflow as tf

from catalogist_training.config import AugmentConfig


def random_resized_crop(images, size: int, scale: tuple[float, float]):
    """Per-photo random crop (area share in `scale`, aspect 3:4..4:3) resized to size×size."""
    n = tf.shape(images)[0]
    area = tf.random.uniform([n], scale[0], scale[1])
    log_ratio = tf.random.uniform([n], math.log(3 / 4), math.log(4 / 3))
    ratio = tf.exp(log_ratio)
    h = tf.minimum(tf.sqrt(area / ratio), 1.0)
    w = tf.minimum(tf.sqrt(area * ratio), 1.0)
    y0 = tf.random.uniform([n]) * (1.0 - h)
    x0 = tf.random.uniform([n]) * (1.0 - w)
    boxes = tf.stack([y0, x0, y0 + h, x0 + w], axis=1)
    return tf.image.crop_and_resize(images, boxes, tf.range(n), (size, size))


def _where(mask, changed, original):
    return tf.where(tf.reshape(mask, [-1, 1, 1, 1]), changed, original)


def _chance(n, p):
    return tf.random.uniform([n]) < p


def paste_distractor(images, side: tuple[float, float], p: float):
    """Paste another photo of the batch, scaled to `side` of the frame, at a random place.

    `crop_and_resize` with a box reaching outside the source draws the source small and fills
    the rest with -1, which then marks where the original shows through.
    """
    n = tf.shape(images)[0]
    size = tf.shape(images)[1:3]
    others = tf.roll(images, shift=1, axis=0)
    s = tf.random.uniform([n], side[0], side[1])
    y0 = tf.random.uniform([n]) * (1.0 - s)
    x0 = tf.random.uniform([n]) * (1.0 - s)
    boxes = tf.stack([-y0 / s, -x0 / s, (1.0 - y0) / s, (1.0 - x0) / s], axis=1)
    pasted = tf.image.crop_and_resize(others, boxes, tf.range(n), size, extrapolation_value=-1.0)
    combined = tf.where(pasted >= 0.0, pasted, images)
    return _where(_chance(n, p), combined, images)


def _gaussian_kernel(sigma):
    radius = 4
    x = tf.range(-radius, radius + 1, dtype=tf.float32)
    k = tf.exp(-(x**2) / (2.0 * sigma**2))
    k = k / tf.reduce_sum(k)
    k2 = tf.tensordot(k, k, axes=0)[:, :, None, None]
    return tf.tile(k2, [1, 1, 3, 1])


def gaussian_blur(images, p: float):
    sigma = tf.random.uniform([], 0.6, 2.5)
    blurred = tf.nn.depthwise_conv2d(images, _gaussian_kernel(sigma), [1, 1, 1, 1], "SAME")
    return _where(_chance(tf.shape(images)[0], p), blurred, images)


def low_resolution(images, p: float):
    """Down to 40..112 px and back: the thumbnail some vendors upload."""
    size = tf.shape(images)[1:3]
    small = tf.random.uniform([], 40, 112, dtype=tf.int32)
    blocky = tf.image.resize(tf.image.resize(images, [small, small], "area"), size, "bilinear")
    return _where(_chance(tf.shape(images)[0], p), blocky, images)


def rotate(images, degrees: float, p: float):
    """Small tilts with reflected borders: a tilted phone shows more scene, not black corners."""
    n = tf.shape(images)[0]
    h = tf.cast(tf.shape(images)[1], tf.float32)
    w = tf.cast(tf.shape(images)[2], tf.float32)
    angle = tf.random.uniform([n], -degrees, degrees) * (math.pi / 180.0)
    cos, sin = tf.cos(angle), tf.sin(angle)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    transforms = tf.stack(
        [
            cos,
            -sin,
            cx - cos * cx + sin * cy,
            sin,
            cos,
            cy - sin * cx - cos * cy,
            tf.zeros([n]),
            tf.zeros([n]),
        ],
        axis=1,
    )
    turned = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="REFLECT",
    )
    return _where(_chance(n, p), turned, images)


def colour_and_light(images, brightness: tuple[float, float]):
    n = tf.shape(images)[0]
    level = tf.exp(tf.random.uniform([n, 1, 1, 1], math.log(brightness[0]), math.log(brightness[1])))
    grey = tf.reduce_mean(images, axis=-1, keepdims=True)
    saturation = tf.random.uniform([n, 1, 1, 1], 0.6, 1.4)
    images = grey + (images - grey) * saturation
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    contrast = tf.random.uniform([n, 1, 1, 1], 0.7, 1.3)
    images = mean + (images - mean) * contrast
    tint = tf.random.uniform([n, 1, 1, 3], 0.9, 1.1)  # white balance of shop lighting
    return images * level * tint


def sensor_noise(images, p: float):
    n = tf.shape(images)[0]
    sigma = tf.random.uniform([n, 1, 1, 1], 3.0, 18.0)
    noisy = images + tf.random.normal(tf.shape(images)) * sigma
    return _where(_chance(n, p), noisy, images)


def jpeg_artefacts(image, p: float):
    """One photo (JPEG coding has no batch op): recompressed at quality 8..50 with chance p."""
    quality = tf.random.uniform([], 8, 50, dtype=tf.int32)
    encoded = tf.image.adjust_jpeg_quality(tf.cast(tf.clip_by_value(image, 0, 255), tf.uint8), quality)
    compressed = tf.cast(encoded, tf.float32)
    return tf.cond(tf.random.uniform([]) < p, lambda: compressed, lambda: image)


def augment_batch(images, size: int, config: AugmentConfig):
    """uint8 cache batch (N, S, S, 3) -> augmented float batch (N, size, size, 3) in 0..255.

    A transform whose chance is 0 is left out of the graph rather than computed and discarded:
    the per-photo JPEG round trip alone costs the input threads noticeable time on two cores.
    """
    images = random_resized_crop(tf.cast(images, tf.float32), size, config.crop_scale)
    images = tf.image.random_flip_left_right(images)
    if config.distractor_prob > 0:
        images = paste_distractor(images, config.distractor_side, config.distractor_prob)
    if config.rotate_prob > 0:
        images = rotate(images, config.rotate_degrees, config.rotate_prob)
    images = colour_and_light(images, config.brightness)
    if config.blur_prob > 0:
        images = gaussian_blur(images, config.blur_prob)
    if config.lowres_prob > 0:
        images = low_resolution(images, config.lowres_prob)
    if config.noise_prob > 0:
        images = sensor_noise(images, config.noise_prob)
    images = tf.clip_by_value(images, 0.0, 255.0)
    if config.jpeg_prob > 0:
        images = tf.map_fn(lambda im: jpeg_artefacts(im, config.jpeg_prob), images)
    return images
