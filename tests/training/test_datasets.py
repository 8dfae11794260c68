"""Dataset layouts: Grocery Store, CSV manifest and folder tree all give the same labelled photos."""

from pathlib import Path

import pytest
from PIL import Image

from catalogist_training.datasets import (
    load_folder_tree,
    load_grocery_store,
    load_manifest,
    load_split,
    resolve_data,
    split_holdout,
)
from tests.support import GROCERY

CLASSES_CSV = (
    "Class Name (str),Class ID (int),Coarse Class Name (str),Coarse Class ID (int),"
    "Iconic Image Path (str),Product Description Path (str)\n"
    "Granny-Smith,0,Apple,0,/iconic-images-and-descriptions/Fruit/Apple/Granny-Smith/G.jpg,/d.txt\n"
    "Banana,1,Banana,1,/iconic-images-and-descriptions/Fruit/Banana/B.jpg,/d.txt\n"
)


def photo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (20, 20)).save(path)
    return path


def test_grocery_store_layout_with_any_split_name(tmp_path):
    (tmp_path / "classes.csv").write_text(CLASSES_CSV)
    photo(tmp_path / "shelf/Fruit/Apple/Granny-Smith/a.jpg")
    photo(tmp_path / "shelf/Fruit/Banana/b.jpg")
    (tmp_path / "shelf.txt").write_text("shelf/Fruit/Apple/Granny-Smith/a.jpg, 0, 0\nshelf/Fruit/Banana/b.jpg, 1, 1\n")

    photos = load_split(tmp_path, "shelf")

    assert [p.category_path for p in photos] == [
        ("Fruit", "Apple", "Granny-Smith"),
        ("Fruit", "Banana"),
    ]
    assert photos == load_grocery_store(tmp_path, "shelf")


def test_manifest_and_folder_tree_keep_short_paths_as_they_are(tmp_path):
    photo(tmp_path / "train/Fruit/Apple/Granny-Smith/a.jpg")
    photo(tmp_path / "train/Fruit/Banana/b.jpg")
    (tmp_path / "train.csv").write_text(
        "image,category\ntrain/Fruit/Apple/Granny-Smith/a.jpg,Fruit/Apple/Granny-Smith\n"
        "train/Fruit/Banana/b.jpg,Fruit/Banana\n"
    )

    from_csv = load_manifest(tmp_path / "train.csv")
    from_tree = load_folder_tree(tmp_path / "train")

    assert from_csv == from_tree
    assert from_tree[1].category_path == ("Fruit", "Banana"), "no name repeated to fill a level"
    assert load_split(tmp_path, "train") == from_csv


def test_unknown_layout_says_what_was_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"classes\.csv \+ test\.txt"):
        load_split(tmp_path, "test")


def test_holdout_takes_the_tail_of_each_category(tmp_path):
    rows = [(f"a{i:02d}.jpg", "Fruit/Apple") for i in range(10)] + [("b.jpg", "Fruit/Banana")]
    (tmp_path / "m.csv").write_text("image,category\n" + "".join(f"{a},{b}\n" for a, b in rows))

    kept, held = split_holdout(load_manifest(tmp_path / "m.csv"), 0.2)

    assert [p.name for p in held] == ["a08.jpg", "a09.jpg"]
    assert len(kept) == 9  # a category with under 5 photos is never held out


def test_given_data_wins_over_download(tmp_path):
    assert resolve_data(str(tmp_path), tmp_path / "never-used") == str(tmp_path)
    with pytest.raises(FileNotFoundError, match="--download-to"):
        resolve_data(None, None)


@pytest.mark.usefixtures("grocery")
def test_the_real_dataset_has_81_fine_categories():
    photos = load_split(GROCERY, "train")

    assert len(photos) == 2640
    assert len({p.category_path for p in photos}) == 81
    assert all(Path(p.path).exists() for p in photos[:: len(photos) // 20])


def test_a_run_of_a_few_classes_spans_the_tree_and_fills_up_from_a_narrow_one():
    from catalogist_training.prepare import spread_leaves

    wide = [("Fruit", "Apple", "A1"), ("Fruit", "Apple", "A2"), ("Fruit", "Pear", "P1"), ("Packages", "Milk", "M1")]
    assert spread_leaves(wide, 3) == {("Fruit", "Apple", "A1"), ("Fruit", "Pear", "P1"), ("Packages", "Milk", "M1")}
    # a store's reviewed photos all of one coarse class: still four leaves to train on, not one
    narrow = [("Fruit", "Apple", name) for name in ("Golden", "Granny", "Pink", "Gala", "Fuji")]
    assert len(spread_leaves(narrow, 4)) == 4
    assert spread_leaves(narrow, 0) is None
