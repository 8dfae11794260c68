"""The photos of one role in a run (train, holdout, val, iconic, extra), listed or packed.

A set is read as a stream: `dataset()` gives `tf.data` records of the photo's original bytes,
its category path and its name, so nothing holds a set's pixels at once.

- `ListedPhotos`: paths or gs:// URIs with their categories (what `datasets.py` loads). Each
  photo is one file read, which a local disk serves fast and a bucket slowly (one request each).
- `PackedPhotos`: the same records packed into TFRecord shards once (`catalogist prepare photos
  --out DIR|gs://...`), read back sequentially: what a run over 150,000 photos in a bucket wants.

A pack is made for one selection of photos (splits, holdout fraction, classes, limit, extra
photos); `index.json` records it with every role's shards, photo count, bytes and categories, so
a run learns its taxonomy and step count without reading a record.
"""

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO

import numpy as np

from catalogist_training import files
from catalogist_training.datasets import LabelledPhoto

PACK_FORMAT = "catalogist-photos-1"
INDEX = "index.json"
SHARD_BYTES = 128 << 20  # TensorFlow's advice: shards of 100 MB or more read at full speed
READ_THREADS = 16  # photos fetched at once while packing: a bucket answers each in ~50 ms
ROLES = ("train", "holdout", "val", "iconic", "extra")


def category_key(category_path: tuple[str, ...]) -> str:
    return "/".join(category_path)


@dataclass(frozen=True)
class ListedPhotos:
    photos: tuple[LabelledPhoto, ...] = ()

    def __len__(self) -> int:
        return len(self.photos)

    def categories(self) -> Counter:
        return Counter(category_key(p.category_path) for p in self.photos)

    def dataset(self, shuffle_seed: int | None = None):
        """`{"image", "category", "name"}` records; with a seed, in a new order each pass (only
        the listing is shuffled, so the buffer holds names, not photos)."""
        import tensorflow as tf

        listing = tf.data.Dataset.from_tensor_slices(
            {
                "path": [p.path for p in self.photos] or tf.zeros([0], tf.string),
                "category": [category_key(p.category_path) for p in self.photos] or tf.zeros([0], tf.string),
            }
        )
        if shuffle_seed is not None and self.photos:
            listing = listing.shuffle(len(self.photos), seed=shuffle_seed, reshuffle_each_iteration=True)
        return listing.map(
            lambda r: {"image": tf.io.read_file(r["path"]), "category": r["category"], "name": r["path"]},
            num_parallel_calls=tf.data.AUTOTUNE,
        )

    def sample(self, count: int, seed: int) -> "ListedPhotos":
        """An even spread of `count` photos (0: all), in their listed order."""
        picks = np.random.default_rng(seed).permutation(len(self.photos))[: count or len(self.photos)]
        return ListedPhotos(tuple(self.photos[i] for i in sorted(picks)))

    def __add__(self, other: "ListedPhotos") -> "ListedPhotos":
        return ListedPhotos(self.photos + other.photos)


@dataclass(frozen=True)
class PackedPhotos:
    shards: tuple[str, ...] = ()
    count: int = 0
    total_bytes: int = 0
    per_category: tuple[tuple[str, int], ...] = ()
    first_only: bool = False  # the first `count` records of `shards`, not all of them

    def __len__(self) -> int:
        return self.count

    def categories(self) -> Counter:
        return Counter(dict(self.per_category))

    def dataset(self, shuffle_seed: int | None = None, buffer_bytes: int = 256 << 20):
        """The records in pack order; with a seed, shards in a new order each pass, read several
        at a time and mixed in a buffer of about `buffer_bytes` of encoded photos (the pack was
        written in a shuffled order already, so a bounded buffer mixes well enough)."""
        import tensorflow as tf

        features = {name: tf.io.FixedLenFeature([], tf.string) for name in ("image", "category", "name")}
        shards = tf.data.Dataset.from_tensor_slices(list(self.shards) or tf.zeros([0], tf.string))
        if shuffle_seed is None:
            records = tf.data.TFRecordDataset(shards)
        else:
            shards = shards.shuffle(max(len(self.shards), 1), seed=shuffle_seed, reshuffle_each_iteration=True)
            records = shards.interleave(
                tf.data.TFRecordDataset, cycle_length=min(8, max(len(self.shards), 1)), block_length=1
            )
            mean = self.total_bytes / max(self.count, 1)
            records = records.shuffle(int(min(max(buffer_bytes / max(mean, 1), 64), 16384)), seed=shuffle_seed)
        if self.first_only:
            records = records.take(self.count)
        return records.map(lambda r: tf.io.parse_single_example(r, features), num_parallel_calls=tf.data.AUTOTUNE)

    def sample(self, count: int, seed: int) -> "PackedPhotos":
        """The first `count` photos (0: all): a pack is written in a shuffled order, so its first
        photos are an even spread over the categories. A sample is read, never added to."""
        if not count or count >= self.count:
            return self
        per_shard = max(self.count // max(len(self.shards), 1), 1)
        taken = self.shards[: -(-count // per_shard) + 1]
        return PackedPhotos(taken, count, self.total_bytes * count // self.count, (), first_only=True)

    def __add__(self, other: "PackedPhotos") -> "PackedPhotos":
        if self.first_only or other.first_only:
            raise ValueError("a sample of a pack is read on its own")
        merged = self.categories() + other.categories()
        return PackedPhotos(
            self.shards + other.shards,
            self.count + other.count,
            self.total_bytes + other.total_bytes,
            tuple(sorted(merged.items())),
        )


PhotoSet = ListedPhotos | PackedPhotos


def records(photos: PhotoSet) -> Iterator[tuple[str, tuple[str, ...], bytes]]:
    """(name, category path, original bytes) of each photo, in order: for evaluation and export,
    which look at one photo at a time."""
    if isinstance(photos, ListedPhotos):  # plain reads: no TensorFlow needed to evaluate a list
        for photo in photos.photos:
            yield photo.path, photo.category_path, photo.read()
        return
    for record in photos.dataset().as_numpy_iterator():
        yield record["name"].decode(), tuple(record["category"].decode().split("/")), record["image"]


def repeated(photos: PhotoSet, copies: int) -> PhotoSet:
    """The set `copies` times over (0: empty), as one set of the same kind."""
    if isinstance(photos, ListedPhotos):
        return ListedPhotos(photos.photos * copies)
    total = PackedPhotos()
    for _ in range(copies):
        total = total + photos
    return total


# --- packing --------------------------------------------------------------------------------------


def _example(data: bytes, category: str, name: str) -> bytes:
    import tensorflow as tf

    def feature(value: bytes):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

    example = tf.train.Example(
        features=tf.train.Features(
            feature={
                "image": feature(data),
                "category": feature(category.encode()),
                "name": feature(name.encode()),
            }
        )
    )
    return example.SerializeToString()


def header_problem(data: bytes) -> str | None:
    """Why these bytes are no photo the functions would take, from the header alone (no decode:
    packing 150,000 photos must not cost a full decode each); None when they look fine."""
    from PIL import Image

    from catalogist.imaging import ACCEPTED_FORMATS

    if not data:
        return "empty file"
    try:
        with Image.open(BytesIO(data)) as image:
            if image.format not in ACCEPTED_FORMATS:
                return f"{image.format} is not a photo format the functions accept"
    except Exception as error:  # Pillow raises several kinds for what is not an image
        return f"not a readable image: {error}"
    return None


def pack_role(
    photos: list[LabelledPhoto], out: str, role: str, seed: int, shard_bytes: int = SHARD_BYTES
) -> tuple[dict, list[dict]]:
    """Write one role's photos as `<role>-NNNNN.tfrecord` shards in a seeded shuffled order;
    returns its index entry and the photos refused (with the reason)."""
    import tensorflow as tf

    order = [photos[i] for i in np.random.default_rng(seed).permutation(len(photos))]
    shards: list[str] = []
    refused: list[dict] = []
    categories: Counter = Counter()
    written_bytes, writer, in_shard = 0, None, 0

    def fetch(photo: LabelledPhoto) -> tuple[LabelledPhoto, bytes | None, str | None]:
        try:
            data = photo.read()
        except Exception as error:  # a missing or unreadable object: refused, the rest packs
            return photo, None, f"cannot be read: {error}"
        return photo, data, header_problem(data)

    with ThreadPoolExecutor(READ_THREADS) as pool:
        for photo, data, problem in pool.map(fetch, order):  # in order, READ_THREADS ahead
            if problem or data is None:
                refused.append({"image": photo.path, "reason": problem})
                continue
            if writer is None or in_shard >= shard_bytes:
                if writer is not None:
                    writer.close()
                shards.append(f"{role}-{len(shards):05d}.tfrecord")
                writer = tf.io.TFRecordWriter(files.join(out, shards[-1]))
                in_shard = 0
            writer.write(_example(data, category_key(photo.category_path), photo.path))
            in_shard += len(data)
            written_bytes += len(data)
            categories[category_key(photo.category_path)] += 1
    if writer is not None:
        writer.close()
    entry = {
        "shards": shards,
        "photos": sum(categories.values()),
        "bytes": written_bytes,
        "categories": dict(sorted(categories.items())),
    }
    return entry, refused


def write_pack(
    roles: Mapping[str, Iterable[LabelledPhoto]], out: str, selection: dict, seed: int, shard_bytes: int = SHARD_BYTES
) -> dict:
    """Pack every role into `out` (a folder or gs://...) and write `index.json` last: a pack
    without its index is unfinished and is never read."""
    files.makedirs(out)
    index: dict = {"format": PACK_FORMAT, "selection": selection, "roles": {}, "refused": []}
    for role, photos in roles.items():
        entry, refused = pack_role(list(photos), out, role, seed, shard_bytes)
        index["roles"][role] = entry
        index["refused"] += [{**r, "role": role} for r in refused]
    files.write_text(files.join(out, INDEX), json.dumps(index, indent=1) + "\n")
    return index


def is_pack(data: str) -> bool:
    return files.exists(files.join(data, INDEX))


def read_pack(data: str) -> tuple[dict, dict[str, PackedPhotos]]:
    """(the pack's selection, its roles as `PackedPhotos`)."""
    index = json.loads(files.read_text(files.join(data, INDEX)))
    if index.get("format") != PACK_FORMAT:
        raise ValueError(f"{data}/{INDEX} is not a photo pack of this version ({PACK_FORMAT})")
    roles = {
        role: PackedPhotos(
            tuple(files.join(data, shard) for shard in entry["shards"]),
            entry["photos"],
            entry["bytes"],
            tuple(sorted(entry["categories"].items())),
        )
        for role, entry in index["roles"].items()
    }
    return index["selection"], roles
