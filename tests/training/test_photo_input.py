"""Photos stream into training from their files or from a pack, decoded by the serving function.

What an ML engineer relies on: a pack holds exactly the photos (and bytes) a listing would give,
a broken photo is reported and never ends a run, training sees the pixels serving would compute,
and a bucket location works like a folder (TensorFlow's in-memory ram:// file system stands in
for gs://, which TensorFlow's own GCS client would serve in production).
"""

import io
import uuid
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from catalogist.imaging import photo_pixels
from catalogist.models.taxonomy import Taxonomy
from catalogist_training import files
from catalogist_training.config import TrainConfig
from catalogist_training.datasets import LabelledPhoto, load_folder_tree
from catalogist_training.input_pipeline import Skipped, check_batches, decoded, training_batches
from catalogist_training.photo_sets import ListedPhotos, PackedPhotos, read_pack, records, write_pack
from catalogist_training.prepare import pack_photos, prepare_photos

CATEGORIES = ("Fruit/Apple/Granny-Smith", "Fruit/Banana/Banana", "Dairy/Milk/Oat-Milk", "Dairy/Yoghurt/Greek")


def jpeg(shade: int, size: tuple[int, int] = (120, 90)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (shade, 255 - shade, (shade * 7) % 256)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def photo_tree(root: Path, per_category: int = 6, broken: int = 0) -> Path:
    """A folder tree of small JPEGs, `broken` of them truncated in the first category."""
    for c, category in enumerate(CATEGORIES):
        folder = root / "train" / category
        folder.mkdir(parents=True)
        for i in range(per_category):
            data = jpeg(20 * c + 3 * i)
            (folder / f"p{i:02d}.jpg").write_bytes(data[: len(data) // 3] if c == 0 and i < broken else data)
    return root


def test_a_pack_holds_the_same_photos_and_bytes_as_the_listing(tmp_path):
    data = photo_tree(tmp_path / "data")
    listed = load_folder_tree(data / "train")

    index = write_pack({"train": listed}, str(tmp_path / "pack"), {"note": "test"}, seed=3, shard_bytes=2000)
    _selection, roles = read_pack(str(tmp_path / "pack"))

    packed = roles["train"]
    assert len(index["roles"]["train"]["shards"]) > 1, "small shards: the photos span several"
    assert len(packed) == len(listed) and packed.categories() == ListedPhotos(tuple(listed)).categories()
    from_pack = {name: (category, data) for name, category, data in records(packed)}
    assert from_pack == {p.path: (p.category_path, Path(p.path).read_bytes()) for p in listed}
    assert [name for name, *_ in records(packed)] != [p.path for p in listed], "packed in a shuffled order"


def test_packing_refuses_what_is_no_photo_and_keeps_the_rest(tmp_path):
    good = [LabelledPhoto(str(tmp_path / f"{i}.jpg"), ("Fruit", "Apple")) for i in range(3)]
    for i, photo in enumerate(good):
        Path(photo.path).write_bytes(jpeg(40 * i))
    (tmp_path / "notes.jpg").write_text("not a photo")
    bad = [
        LabelledPhoto(str(tmp_path / "notes.jpg"), ("Fruit", "Apple")),
        LabelledPhoto(str(tmp_path / "gone.jpg"), ("Fruit", "Apple")),
    ]

    index = write_pack({"train": good + bad}, str(tmp_path / "pack"), {}, seed=1)

    assert index["roles"]["train"]["photos"] == 3
    assert {Path(r["image"]).name: r["role"] for r in index["refused"]} == {"notes.jpg": "train", "gone.jpg": "train"}
    assert all(r["reason"] for r in index["refused"])


def test_a_run_on_a_pack_sees_the_roles_the_listing_chose(tmp_path):
    data = photo_tree(tmp_path / "data", per_category=10)
    config = TrainConfig(data=str(data), out=str(tmp_path / "out"), iconic_copies=0, holdout_fraction=0.2)
    listed = prepare_photos(config)

    pack_photos(config, str(tmp_path / "pack"))
    packed = prepare_photos(TrainConfig(data=str(tmp_path / "pack"), out="", iconic_copies=0, holdout_fraction=0.2))

    assert packed.taxonomy == listed.taxonomy
    for role in ("train", "holdout", "val"):
        assert getattr(packed, role).categories() == getattr(listed, role).categories(), role
    assert {n for n, *_ in records(packed.holdout)} == {p.path for p in listed.holdout.photos}


def test_a_pack_is_not_silently_trained_with_another_choice_of_photos(tmp_path):
    data = photo_tree(tmp_path / "data")
    pack_photos(TrainConfig(data=str(data), out="", holdout_fraction=0.2), str(tmp_path / "pack"))

    with pytest.raises(ValueError, match=r"holdout_fraction is 0\.2 there, 0\.1 here"):
        prepare_photos(TrainConfig(data=str(tmp_path / "pack"), out=""))


def test_training_sees_the_pixels_serving_computes_from_a_listing_and_from_a_pack(tmp_path):
    data = photo_tree(tmp_path / "data", per_category=3)
    listed = load_folder_tree(data / "train")
    taxonomy = Taxonomy.from_paths([p.category_path for p in listed])
    write_pack({"train": listed}, str(tmp_path / "pack"), {}, seed=2)
    packed = read_pack(str(tmp_path / "pack"))[1]["train"]
    expected = {
        taxonomy.leaf_index(p.category_path) * 1000 + int(photo_pixels(Path(p.path).read_bytes(), 48).sum() % 997): p
        for p in listed
    }

    for photos in (ListedPhotos(tuple(listed)), packed):
        seen = [
            int(label) * 1000 + int(pixels.sum() % 997)
            for pixels, label in decoded(photos.dataset(), taxonomy, 48, Skipped()).as_numpy_iterator()
        ]
        assert sorted(seen) == sorted(expected), type(photos).__name__


def test_a_broken_photo_is_skipped_with_its_reason_and_the_others_train(tmp_path):
    data = photo_tree(tmp_path / "data", per_category=8, broken=3)
    listed = ListedPhotos(tuple(load_folder_tree(data / "train")))
    taxonomy = Taxonomy.from_paths([p.category_path for p in listed.photos])
    skipped = Skipped()

    batches = training_batches(
        listed,
        taxonomy,
        cache_size=40,
        image_size=32,
        batch_size=4,
        augment=TrainConfig(data="", out="").augment,
        seed=1,
        skipped=skipped,
    )
    # 33 batches are 132 photos, 4.5 passes over the 29 good ones: decoding runs in parallel and
    # out of order (`deterministic=False`), so a busy machine may move a few photos across a pass
    # boundary, but every good photo must come 4 times in 4.5 passes
    labels = np.concatenate([y for _x, y in batches.take(33).as_numpy_iterator()])

    assert len(skipped) == 3 and all("corrupt" in reason or "truncated" in reason for reason in skipped.photos.values())
    assert {Path(name).name for name in skipped.photos} == {"p00.jpg", "p01.jpg", "p02.jpg"}
    apple = taxonomy.leaf_index(("Fruit", "Apple", "Granny-Smith"))
    at_least = {leaf: 4 * (5 if leaf == apple else 8) for leaf in range(4)}
    seen = Counter(labels.tolist())
    assert set(seen) == set(at_least) and all(seen[leaf] >= at_least[leaf] for leaf in at_least), (
        f"every good photo, each pass: {seen} against at least {at_least}"
    )


def test_check_batches_decode_every_photo_once_in_order(tmp_path):
    data = photo_tree(tmp_path / "data", per_category=5)
    listed = ListedPhotos(tuple(load_folder_tree(data / "train")))
    taxonomy = Taxonomy.from_paths([p.category_path for p in listed.photos])

    labels = np.concatenate([y for _x, y in check_batches(listed, taxonomy, 32, 7, Skipped()).as_numpy_iterator()])

    assert sorted(labels.tolist()) == sorted(taxonomy.leaf_index(p.category_path) for p in listed.photos)


def test_a_bucket_location_packs_and_reads_like_a_folder(tmp_path):
    data = photo_tree(tmp_path / "data", per_category=10)
    bucket = f"ram://bucket-{uuid.uuid4().hex}/packs/grocery"

    pack_photos(TrainConfig(data=str(data), out="", iconic_copies=0), bucket)
    run = prepare_photos(TrainConfig(data=bucket, out="", iconic_copies=0))

    assert files.exists(files.join(bucket, "index.json"))
    assert isinstance(run.train, PackedPhotos) and all(s.startswith("ram://") for s in run.train.shards)
    assert sum(1 for _ in records(run.train)) == len(run.train) == 40 - 4  # the tail of each category held out
