"""Which photos play which role in a run: train, held-out tail of train, validation, and the
extra labelled photos a refit trains on (validation itself, once a recipe is chosen).

    python -m catalogist_training.prepare --data ../shared/datasets/grocerystore   # prints counts
    catalogist prepare photos --data DIR --out DIR|gs://...   # packs the roles into TFRecord shards

The taxonomy comes from the training photos; validation photos of a category the model never
saw are dropped (and counted), since no answer of the model could be right for them. A pack is
one such selection, made once: a run on it reads its roles as they were chosen then.
"""

import argparse
from dataclasses import dataclass, field

from catalogist.models.taxonomy import Taxonomy
from catalogist_training import files
from catalogist_training.config import TrainConfig
from catalogist_training.datasets import LabelledPhoto, load_grocery_store_iconic, load_split
from catalogist_training.photo_sets import ROLES, ListedPhotos, PhotoSet, is_pack, read_pack, write_pack

# What chooses a run's photos; a pack records them, and a run on it must not ask for others
SELECTION = ("train_split", "val_split", "extra_train", "extra_val", "holdout_fraction", "classes", "limit")


@dataclass(frozen=True)
class RunPhotos:
    taxonomy: Taxonomy
    train: PhotoSet
    holdout: PhotoSet
    val: PhotoSet
    iconic: PhotoSet
    dropped_val: int
    extra: PhotoSet = field(default_factory=ListedPhotos)  # trained on beside `train`; never checked against

    def roles(self) -> dict[str, PhotoSet]:
        return {role: getattr(self, role) for role in ROLES}


def spread_leaves(paths, classes: int) -> set | None:
    """`classes` leaves spread over the tree (None when 0: all of them): the first leaf of each
    coarse class, taking the top classes in turn, so even four leaves span several top and
    coarse classes and a wrong path in a smoke run can be told from a right one; then the second
    leaf of each, and so on, so a tree narrower than `classes` (a store's reviewed photos of one
    coarse class) still gives `classes` leaves."""
    if not classes:
        return None
    by_top: dict = {}
    for path in sorted(set(paths)):
        by_top.setdefault(path[0], {}).setdefault(path[:-1], []).append(path)
    ranked = [
        ((rank, parent, top), leaf)
        for top, parents in enumerate(by_top.values())
        for parent, leaves in enumerate(parents.values())
        for rank, leaf in enumerate(leaves)
    ]
    return {leaf for _, leaf in sorted(ranked)[:classes]}


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


def selection(config: TrainConfig) -> dict:
    chosen = {name: getattr(config, name) for name in SELECTION}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in chosen.items()}


def prepare_photos(config: TrainConfig) -> RunPhotos:
    """The run's photos: listed from the dataset, or the roles of a pack."""
    if is_pack(config.data):
        return packed_photos(config)
    return listed_photos(config)


def packed_photos(config: TrainConfig) -> RunPhotos:
    chosen, roles = read_pack(config.data)
    asked = selection(config)
    differing = {k: (asked[k], chosen.get(k)) for k in asked if asked[k] != chosen.get(k)}
    if differing:
        raise ValueError(
            f"{config.data} was packed with another choice of photos: "
            + ", ".join(f"{k} is {theirs!r} there, {ours!r} here" for k, (ours, theirs) in differing.items())
            + "; pack again with these settings, or train with the pack's"
        )
    learned = roles["train"].categories() + roles["extra"].categories()
    taxonomy = Taxonomy.from_paths([tuple(key.split("/")) for key in learned])
    return RunPhotos(
        taxonomy,
        roles["train"],
        roles["holdout"],
        roles["val"],
        roles["iconic"],
        chosen.get("dropped_val", 0),
        roles["extra"],
    )


def listed_photos(config: TrainConfig) -> RunPhotos:
    from catalogist_training.datasets import split_holdout

    data = config.data
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
    if config.iconic_copies and files.exists(files.join(data, "classes.csv")):
        iconic = [p for p in load_grocery_store_iconic(data) if p.category_path in leaves]
    return RunPhotos(
        taxonomy,
        ListedPhotos(tuple(train)),
        ListedPhotos(tuple(holdout)),
        ListedPhotos(tuple(val)),
        ListedPhotos(tuple(iconic)),
        len(val_all) - len(val),
        ListedPhotos(tuple(extra)),
    )


def pack_photos(config: TrainConfig, out: str) -> dict:
    """Choose the run's photos as `train classifier` would, and pack every role into `out`."""
    run = listed_photos(config)
    chosen = {**selection(config), "dropped_val": run.dropped_val, "source": config.data}
    roles: dict[str, list[LabelledPhoto]] = {
        role: list(photos.photos) for role, photos in run.roles().items() if isinstance(photos, ListedPhotos)
    }
    return write_pack(roles, out, chosen, config.seed)


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
