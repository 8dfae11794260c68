"""Labelled photos from disk: the Grocery Store layout, a CSV manifest, or a folder tree.

Every loader yields `LabelledPhoto(path, category_path)`, where the category path runs from the
top of the tree down (`("Fruit", "Apple", "Granny-Smith")`). Paths shorter than the deepest one
repeat their last name (Grocery Store's `Fruit/Banana` is `Fruit/Banana/Banana`), so every leaf
sits at the same depth.

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

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
GROCERY_STORE_ZIP = "https://github.com/marcusklasson/GroceryStoreDataset/archive/refs/heads/master.zip"


@dataclass(frozen=True)
class LabelledPhoto:
    path: Path
    category_path: tuple[str, ...]


def _pad(paths: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    depth = max(len(p) for p in paths)
    return [p + (p[-1],) * (depth - len(p)) for p in paths]


def _labelled(rows: list[tuple[Path, tuple[str, ...]]]) -> list[LabelledPhoto]:
    padded = _pad([category for _, category in rows])
    return [LabelledPhoto(path, cat) for (path, _), cat in zip(rows, padded, strict=True)]


def grocery_store_classes(root: Path) -> dict[int, tuple[str, ...]]:
    """Fine class id -> (top, coarse, fine), the top taken from the iconic image's folder."""
    classes: dict[int, tuple[str, ...]] = {}
    with open(root / "classes.csv", newline="") as stream:
        for row in csv.DictReader(stream):
            fine, coarse = row["Class Name (str)"], row["Coarse Class Name (str)"]
            top = row["Iconic Image Path (str)"].strip("/").split("/")[1]
            classes[int(row["Class ID (int)"])] = (top, coarse, fine)
    return classes


def load_grocery_store(root: Path, split: str) -> list[LabelledPhoto]:
    """`<split>.txt` lines `train/Fruit/Apple/.../x.jpg, fine_id, coarse_id`, any split name."""
    classes = grocery_store_classes(root)
    photos = []
    for line in (root / f"{split}.txt").read_text().splitlines():
        if line.strip():
            relative, fine_id, _coarse_id = (part.strip() for part in line.split(","))
            photos.append(LabelledPhoto(root / relative, classes[int(fine_id)]))
    return photos


def load_grocery_store_iconic(root: Path) -> list[LabelledPhoto]:
    """The one studio product shot per class: extra, clean training examples."""
    photos = []
    with open(root / "classes.csv", newline="") as stream:
        for row, category in zip(csv.DictReader(stream), grocery_store_classes(root).values(), strict=True):
            path = root / row["Iconic Image Path (str)"].lstrip("/")
            if path.exists():
                photos.append(LabelledPhoto(path, category))
    return photos


def load_manifest(csv_path: Path) -> list[LabelledPhoto]:
    """A CSV with columns `image` (relative to the CSV) and `category` (`Fruit/Apple/Granny-Smith`)."""
    with open(csv_path, newline="") as stream:
        rows = [
            (csv_path.parent / row["image"], tuple(p for p in row["category"].split("/") if p))
            for row in csv.DictReader(stream)
        ]
    return _labelled(rows)


def write_manifest(photos: list[LabelledPhoto], csv_path: Path) -> None:
    """The CSV `load_manifest` reads (absolute image paths): lets any split be re-evaluated."""
    with open(csv_path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["image", "category"])
        for photo in photos:
            writer.writerow([photo.path.resolve(), "/".join(photo.category_path)])


def load_folder_tree(root: Path) -> list[LabelledPhoto]:
    """Every photo under `root`; the folders between `root` and the photo are its category."""
    rows = [
        (path, path.relative_to(root).parent.parts)
        for path in sorted(root.rglob("*"))
        if path.suffix.lower() in PHOTO_SUFFIXES and path.parent != root
    ]
    return _labelled(rows)


def load_split(data: Path, split: str) -> list[LabelledPhoto]:
    """Whichever layout `data` has: Grocery Store, `<split>.csv` manifest, or `<split>/` tree;
    a `split` that names a CSV file is that manifest (a run's `work/holdout.csv`, half of val)."""
    if data.is_file() and data.suffix == ".csv":
        return load_manifest(data)
    if split.endswith(".csv") and Path(split).is_file():
        return load_manifest(Path(split))
    if (data / "classes.csv").exists() and (data / f"{split}.txt").exists():
        return load_grocery_store(data, split)
    if (data / f"{split}.csv").exists():
        return load_manifest(data / f"{split}.csv")
    if (data / split).is_dir():
        return load_folder_tree(data / split)
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
        members = sorted(members, key=lambda p: p.path.name)
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


def resolve_data(data: str | None, download_to: Path | None) -> Path:
    """The local dataset: the given path, or a fresh download when only a download folder is given."""
    if data:
        return Path(data)
    if download_to is None:
        raise FileNotFoundError("no dataset given: pass --data DIR, or --download-to DIR to fetch it")
    return download_grocery_store(download_to)


def clean_staging(destination: Path) -> None:
    shutil.rmtree(destination / "GroceryStoreDataset.partial", ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--split", default="train")
    args = parser.parse_args()
    counts = Counter("/".join(p.category_path) for p in load_split(args.data, args.split))
    for category, count in sorted(counts.items()):
        print(f"{count:5d}  {category}")
    print(f"{sum(counts.values()):5d}  photos in {len(counts)} categories")
