"""Labelled photos, on disk or in a bucket: the Grocery Store layout, a CSV manifest, or a folder
tree (any of them under `gs://`, read through `files.py`).

Every loader yields `LabelledPhoto(path, category_path)`, where the category path runs from the
top of the tree down (`("Fruit", "Apple", "Granny-Smith")`). Paths keep their own depth
(`Drinks/Juice` beside `Fresh/Fruit/Apple/Granny-Smith`): the taxonomy takes mixed depths, and a
name repeated to fill a level would be shown to reviewers and stored on products. Grocery Store
names some classes twice (fine class Banana under coarse class Banana): those are `Fruit/Banana`.

    python -m catalogist_training.datasets --data DIR --split train   # counts per category
"""

import argparse
import csv
import io
import shutil
import urllib.request
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from catalogist_training import files

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
GROCERY_STORE_ZIP = "https://github.com/marcusklasson/GroceryStoreDataset/archive/refs/heads/master.zip"


@dataclass(frozen=True)
class LabelledPhoto:
    path: str  # a local path or a gs:// URI
    category_path: tuple[str, ...]

    @property
    def name(self) -> str:
        return files.name(self.path)

    def read(self) -> bytes:
        return files.read_bytes(self.path)


def _labelled(rows: list[tuple[str, tuple[str, ...]]]) -> list[LabelledPhoto]:
    return [LabelledPhoto(path, category) for path, category in rows]


def _csv_rows(location: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(files.read_text(location), newline="")))


def grocery_store_classes(root: str | Path) -> dict[int, tuple[str, ...]]:
    """Fine class id -> (top, coarse, fine), the top taken from the iconic image's folder; (top,
    coarse) where the dataset names the fine class as its coarse class."""
    classes: dict[int, tuple[str, ...]] = {}
    for row in _csv_rows(files.join(str(root), "classes.csv")):
        fine, coarse = row["Class Name (str)"], row["Coarse Class Name (str)"]
        top = row["Iconic Image Path (str)"].strip("/").split("/")[1]
        classes[int(row["Class ID (int)"])] = (top, coarse) if fine == coarse else (top, coarse, fine)
    return classes


def load_grocery_store(root: str | Path, split: str) -> list[LabelledPhoto]:
    """`<split>.txt` lines `train/Fruit/Apple/.../x.jpg, fine_id, coarse_id`, any split name."""
    classes = grocery_store_classes(root)
    photos = []
    for line in files.read_text(files.join(str(root), f"{split}.txt")).splitlines():
        if line.strip():
            relative, fine_id, _coarse_id = (part.strip() for part in line.split(","))
            photos.append(LabelledPhoto(files.join(str(root), relative), classes[int(fine_id)]))
    return photos


def load_grocery_store_iconic(root: str | Path) -> list[LabelledPhoto]:
    """The one studio product shot per class: extra, clean training examples."""
    photos = []
    for row, category in zip(
        _csv_rows(files.join(str(root), "classes.csv")), grocery_store_classes(root).values(), strict=True
    ):
        path = files.join(str(root), row["Iconic Image Path (str)"].lstrip("/"))
        if files.exists(path):
            photos.append(LabelledPhoto(path, category))
    return photos


def load_manifest(csv_path: str | Path) -> list[LabelledPhoto]:
    """A CSV with columns `image` (relative to the CSV, or absolute, or a gs:// URI) and
    `category` (`Fruit/Apple/Granny-Smith`)."""
    folder = files.parent(str(csv_path))
    rows = [
        (files.join(folder, row["image"]), tuple(p for p in row["category"].split("/") if p))
        for row in _csv_rows(str(csv_path))
    ]
    return _labelled(rows)


def write_manifest(photos: list[LabelledPhoto], csv_path: str | Path) -> None:
    """The CSV `load_manifest` reads (absolute image paths): lets any split be re-evaluated."""
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(["image", "category"])
    for photo in photos:
        image = photo.path if files.is_remote(photo.path) else str(Path(photo.path).resolve())
        writer.writerow([image, "/".join(photo.category_path)])
    files.write_text(str(csv_path), stream.getvalue())


def load_folder_tree(root: str | Path) -> list[LabelledPhoto]:
    """Every photo under `root`; the folders between `root` and the photo are its category."""
    root = str(root).rstrip("/")
    rows = []
    for path in files.walk_files(root):
        parts = tuple(path[len(root) + 1 :].split("/"))
        if Path(parts[-1]).suffix.lower() in PHOTO_SUFFIXES and len(parts) > 1:
            rows.append((path, parts[:-1]))
    return _labelled(rows)


def load_split(data: str | Path, split: str) -> list[LabelledPhoto]:
    """Whichever layout `data` has: Grocery Store, `<split>.csv` manifest, or `<split>/` tree;
    a `split` that names a CSV file is that manifest (a run's `work/holdout.csv`, half of val)."""
    data = str(data)
    if data.endswith(".csv") and files.exists(data) and not files.is_dir(data):
        return load_manifest(data)
    if split.endswith(".csv") and files.exists(split):
        return load_manifest(split)
    if files.exists(files.join(data, "classes.csv")) and files.exists(files.join(data, f"{split}.txt")):
        return load_grocery_store(data, split)
    if files.exists(files.join(data, f"{split}.csv")):
        return load_manifest(files.join(data, f"{split}.csv"))
    if files.is_dir(files.join(data, split)):
        return load_folder_tree(files.join(data, split))
    raise FileNotFoundError(
        f"no split {split!r} in {data}: expected classes.csv + {split}.txt (Grocery Store), "
        f"{split}.csv (manifest) or a {split}/ folder tree"
    )


def split_holdout(photos: list[LabelledPhoto], fraction: float) -> tuple[list, list]:
    """(kept, held out): the last `fraction` of each category's photos in file-name order.

    A contiguous tail, not a random sample: shop photos come in bursts of near-duplicates, and a
    random pick would leave each held-out photo's twin in training.
    """
    by_category = defaultdict(list)
    for photo in photos:
        by_category[photo.category_path].append(photo)
    kept, held = [], []
    for members in by_category.values():
        members = sorted(members, key=lambda p: p.name)
        n_held = round(len(members) * fraction) if len(members) >= 5 else 0
        kept += members[: len(members) - n_held]
        held += members[len(members) - n_held :]
    return kept, held


def download_grocery_store(destination: Path) -> Path:
    """Fetch the public repository's `dataset/` folder (MIT licence); only when asked."""
    target = destination / "GroceryStoreDataset"
    if (target / "classes.csv").exists():
        return target
    destination.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(GROCERY_STORE_ZIP, timeout=600) as response:
        archive = zipfile.ZipFile(io.BytesIO(response.read()))
    staging = destination / "GroceryStoreDataset.partial"
    for member in archive.namelist():
        parts = Path(member).parts
        if len(parts) < 3 or parts[1] != "dataset" or ".." in parts or member.endswith("/"):
            continue
        out = staging.joinpath(*parts[2:])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(archive.read(member))
    staging.rename(target)
    return target


def resolve_data(data: str | None, download_to: Path | None) -> str:
    """The dataset: the given path or URI, or a fresh download when only a download folder is given."""
    if data:
        return str(data)
    if download_to is None:
        raise FileNotFoundError("no dataset given: pass --data DIR, or --download-to DIR to fetch it")
    return str(download_grocery_store(download_to))


def clean_staging(destination: Path) -> None:
    shutil.rmtree(destination / "GroceryStoreDataset.partial", ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="train")
    args = parser.parse_args()
    counts = Counter("/".join(p.category_path) for p in load_split(args.data, args.split))
    for category, count in sorted(counts.items()):
        print(f"{count:5d}  {category}")
    print(f"{sum(counts.values()):5d}  photos in {len(counts)} categories")
