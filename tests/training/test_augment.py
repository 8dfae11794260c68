"""Training augmentation keeps shapes, ranges and labels sane."""

import numpy as np
import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")


def test_augmented_batch_has_model_shape_and_pixel_range():
    import tensorflow as tf

    from catalogist_training.augment import AugmentConfig, augment_batch

    rng = np.random.default_rng(0)
    cache = rng.integers(0, 256, (6, 40, 40, 3), dtype=np.uint8)
    everything = AugmentConfig(distractor_prob=1, blur_prob=1, jpeg_prob=1, rotate_prob=1, lowres_prob=1, noise_prob=1)

    batch = augment_batch(tf.constant(cache), 32, everything).numpy()

    assert batch.shape == (6, 32, 32, 3)
    assert batch.min() >= 0 and batch.max() <= 255
    assert batch.std() > 1  # not collapsed to a flat image


def test_pasted_distractor_covers_part_of_the_frame_only():
    import tensorflow as tf

    from catalogist_training.augment import paste_distractor

    images = tf.constant(np.stack([np.zeros((32, 32, 3)), np.full((32, 32, 3), 200.0)]), tf.float32)

    pasted = paste_distractor(images, (0.5, 0.5), p=1.0).numpy()

    covered = (pasted[0] > 100).mean()
    assert 0.15 < covered < 0.35  # half of each side: about a quarter of the frame
