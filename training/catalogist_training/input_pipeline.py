"""Photo sets into model batches with `tf.data`: read, decode, augment and batch on its threads
while the model trains, holding only the batches in flight.

Decoding is the functions' own `photo_pixels` (the serving preprocessing, one shared function:
the parity test holds training and serving to it), called through `tf.numpy_function`. Pillow
lets go of Python's lock while it decodes and resizes, so tf.data's parallel calls decode on
every core. A photo that cannot be decoded is skipped and counted with its reason, rather than
ending a run of hours on its ten-thousandth photo.
"""

import threading

import numpy as np
import tensorflow as tf

from catalogist.errors import BadPhoto
from catalogist.imaging import photo_pixels
from catalogist.models.taxonomy import Taxonomy
from catalogist_training.augment import AugmentConfig, augment_batch
from catalogist_training.photo_sets import ListedPhotos, PackedPhotos, PhotoSet, category_key


class Skipped:
    """Photos that could not be decoded, with the reason; shared by the input threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.photos: dict[str, str] = {}

    def add(self, name: str, reason: str) -> None:
        with self._lock:
            self.photos[name] = reason

    def __len__(self) -> int:
        with self._lock:
            return len(self.photos)


def leaf_lookup(taxonomy: Taxonomy) -> tf.lookup.StaticHashTable:
    """Category path ("Fruit/Apple/Granny-Smith") -> leaf index, -1 for a category not in the tree."""
    keys = [category_key(leaf) for leaf in taxonomy.leaves]
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(keys, tf.range(len(keys), dtype=tf.int32)), default_value=-1
    )


def decoded(records: tf.data.Dataset, taxonomy: Taxonomy, size: int, skipped: Skipped) -> tf.data.Dataset:
    """(size×size×3 uint8 pixels, leaf index) of each record whose photo decodes and whose
    category is in the tree."""
    table = leaf_lookup(taxonomy)

    def decode(data: bytes, name: bytes) -> tuple[np.ndarray, bool]:
        try:
            return photo_pixels(data, size), True
        except BadPhoto as error:
            skipped.add(name.decode(), error.reason)
            return np.zeros((size, size, 3), np.uint8), False

    def one(record):
        pixels, ok = tf.numpy_function(decode, [record["image"], record["name"]], [tf.uint8, tf.bool], stateful=False)
        pixels.set_shape((size, size, 3))
        ok.set_shape(())
        return pixels, table.lookup(record["category"]), ok

    return (
        records.map(one, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
        .filter(lambda pixels, label, ok: ok & (label >= 0))
        .map(lambda pixels, label, ok: (pixels, label))
    )


def combined(sets: list[PhotoSet]) -> PhotoSet:
    """The sets as one, to be shuffled together: all listed or all packed (a pack holds every
    role of its run; photos outside it are packed with it by `catalogist prepare photos`)."""
    if all(isinstance(s, ListedPhotos) for s in sets):
        return sum(sets, ListedPhotos())
    if all(isinstance(s, PackedPhotos) for s in sets):
        return sum(sets, PackedPhotos())
    raise ValueError("a run reads either listed photos or one pack: pack the extra photos with the rest")


def training_batches(
    photos: PhotoSet,
    taxonomy: Taxonomy,
    *,
    cache_size: int,
    image_size: int,
    batch_size: int,
    augment: AugmentConfig,
    seed: int,
    skipped: Skipped,
) -> tf.data.Dataset:
    """Endless augmented batches ((batch, image_size, image_size, 3) float 0..255, leaf indices):
    each pass over the photos in a new order; photos are decoded at `cache_size` and cropped down
    by the augmentation, as the release recipe was measured."""
    return (
        decoded(photos.dataset(shuffle_seed=seed).repeat(), taxonomy, cache_size, skipped)
        .batch(batch_size, drop_remainder=True)
        .map(lambda x, y: (augment_batch(x, image_size, augment), y), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def check_batches(photos: PhotoSet, taxonomy: Taxonomy, size: int, batch_size: int, skipped: Skipped):
    """Photos decoded exactly as serving decodes them, in batches, for validation."""
    return (
        decoded(photos.dataset(), taxonomy, size, skipped)
        .map(lambda x, y: (tf.cast(x, tf.float32), y))
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
