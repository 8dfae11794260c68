"""Which photos play which role in a run: train, held-out tail of train, validation, and the
extra labelled photos a refit trains on (validation itself, once a recipe is chosen).

    python -m catalogist_training.prepare --data ../shared/datasets/grocerystore   # prints counts

The taxonomy comes from the training photos; validation photos of a category the model never
saw are dropped (and counted), since no answer of the model could be right for them.
"""

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from catalogist.errors import BadPhoto
from catalogist.imaging import photo_pixels
from catalogist.models.taxonomy import Taxonomy
from catalogist_training.config import TrainConfig
from catalogist_training.datasets import LabelledPhoto, load_grocery_store_iconic, load_split


@dataclass(frozen=True)
class RunPhotos:
    taxonomy: Taxonomy
    train: tuple[LabelledPhoto, ...]
    holdout: tuple[LabelledPhoto, ...]
    val: tuple[LabelledPhoto, ...]
    iconic: tuple[LabelledPhoto, ...]
    dropped_val: int
    extra: tuple[LabelledPhoto, ...] = ()  # trained on beside `train`; never checked against


def spread_leaves(paths, classes: int) -> set | None:
    """`classes` leaves spread over the tree (None when 0: all of them): the first leaf of each
    coarse class, taking the top classes in turn, so even four leaves span several top and
    coarse classes and a wrong path in a smoke run can be told from a right one."""
    if not classes:
        return None
    by_top: dict = {}
    for path in sorted(set(paths)):
        by_top.setdefault(path[0], {}).setdefault(path[:-1], path)  # first leaf of each parent
    columns = [list(parents.values()) for parents in by_top.values()]
    in_turn = [column[i] for i in range(max(map(len, columns))) for column in columns if i < len(column)]
    return set(in_turn[:classes])


def _limit(photos, limit: int) -> list:
    if not limit:
        return list(photos)
    seen: dict = {}
    kept = []
    for photo in photos:
        seen[photo.category_path] = seen.get(photo.category_path, 0) + 1
        if seen[photo.category_path] <= limit:
            kept.append(photo)
    return kept


def prepare_photos(config: TrainConfig) -> RunPhotos:
    from catalogist_training.datasets import split_holdout

    data = Path(config.data)
    photos = load_split(data, config.train_split)
    keep = spread_leaves((p.category_path for p in photos), config.classes)
    if keep:
        photos = [p for p in photos if p.category_path in keep]
    train, holdout = split_holdout(_limit(photos, config.limit), config.holdout_fraction)
    extra = [p for split in config.extra_train for p in load_split(data, split)]
    if keep:
        extra = [p for p in extra if p.category_path in keep]
    # a category known only from the extra photos is still one the model should learn
    taxonomy = Taxonomy.from_paths([p.category_path for p in train + extra])
    leaves = set(taxonomy.leaves)
    try:
        val_all = load_split(data, config.val_split) if config.val_split else []
    except FileNotFoundError:
        val_all = []
    val_all += [p for split in config.extra_val for p in load_split(data, split)]
    val = [p for p in val_all if p.category_path in leaves]
    iconic = []
    if config.iconic_copies and (data / "classes.csv").exists():
        iconic = [p for p in load_grocery_store_iconic(data) if p.category_path in leaves]
    return RunPhotos(
        taxonomy, tuple(train), tuple(holdout), tuple(val), tuple(iconic), len(val_all) - len(val), tuple(extra)
    )


def load_pixels(photos, size: int, desc: str) -> np.ndarray:
    """All photos decoded and preprocessed as the functions do it: (N, size, size, 3) uint8."""
    pixels = np.zeros((len(photos), size, size, 3), np.uint8)
    for i, photo in enumerate(tqdm(photos, desc=desc, unit="photo", leave=False)):
        try:
            pixels[i] = photo_pixels(photo.path.read_bytes(), size)
        except BadPhoto as error:
            raise BadPhoto(f"{photo.path}: {error.reason}") from None
    return pixels


def labels(photos, taxonomy: Taxonomy) -> np.ndarray:
    return np.array([taxonomy.leaf_index(p.category_path) for p in photos], np.int32)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    args = parser.parse_args()
    run = prepare_photos(TrainConfig(data=args.data, out=""))
    print(
        f"{len(run.taxonomy.leaves)} leaves; train {len(run.train)}, holdout {len(run.holdout)}, "
        f"val {len(run.val)} (+{run.dropped_val} of unseen categories dropped), iconic {len(run.iconic)}, "
        f"extra {len(run.extra)}"
    )
