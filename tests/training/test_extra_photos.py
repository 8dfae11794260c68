"""`train classifier --extra DIR`: an export of reviewed photos joins a dataset, its train split
to training and its val split to validation (where thresholds are calibrated), never mixed."""

import csv
from pathlib import Path

import pytest
from PIL import Image

from catalogist_training.cli import extra_manifests
from catalogist_training.config import TrainConfig
from catalogist_training.photo_sets import ListedPhotos
from catalogist_training.prepare import prepare_photos


def photo(path: Path, shade: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (shade, 0, 0)).save(path)
    return path


def dataset(root: Path) -> Path:
    """A folder tree: train/ and val/ with two categories of a few photos each."""
    for split, count in (("train", 6), ("val", 2)):
        for category in ("Fruit/Apple/Granny-Smith", "Fruit/Banana/Banana"):
            for n in range(count):
                photo(root / split / category / f"{split}{n}.jpg", n)
    return root


def export(root: Path) -> Path:
    """What `catalogist export reviews` writes under DIR/photos: manifests beside the images."""
    photos = root / "photos"
    rows = {
        "train": [("images/v_A1_1.jpg", "Fruit/Apple/Granny-Smith"), ("images/v_K9_1.jpg", "Fruit/Kiwi/Kiwi")],
        "val": [("images/v_B2_1.jpg", "Fruit/Banana/Banana")],
    }
    photos.mkdir(parents=True)
    for split, entries in rows.items():
        with (photos / f"{split}.csv").open("w", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(["image", "category"])
            for image, category in entries:
                photo(photos / image, 200)
                writer.writerow([image, category])
    return root


def test_an_export_adds_its_train_photos_to_training_and_its_val_photos_to_validation(tmp_path):
    data = dataset(tmp_path / "data")
    train, val = extra_manifests([export(tmp_path / "export")], refit=False)

    run = prepare_photos(
        TrainConfig(data=str(data), out=str(tmp_path / "out"), extra_train=train, extra_val=val, iconic_copies=0)
    )

    assert isinstance(run.extra, ListedPhotos) and isinstance(run.val, ListedPhotos)
    assert sorted(p.name for p in run.extra.photos) == ["v_A1_1.jpg", "v_K9_1.jpg"]
    assert "v_B2_1.jpg" in {p.name for p in run.val.photos} and len(run.val) == 5
    assert ("Fruit", "Kiwi", "Kiwi") in run.taxonomy.leaves, "a category known only from reviews is learned"
    assert not {p.path for p in run.extra.photos} & {p.path for p in run.val.photos}


def test_a_refit_has_no_validation_so_both_splits_of_an_export_train(tmp_path):
    train, val = extra_manifests([export(tmp_path / "export") / "photos"], refit=True)

    assert [Path(m).name for m in train] == ["train.csv", "val.csv"] and val == ()


def test_a_folder_that_is_not_an_export_is_refused_with_its_name(tmp_path):
    with pytest.raises(SystemExit, match="nothing-here"):
        extra_manifests([tmp_path / "nothing-here"], refit=False)
