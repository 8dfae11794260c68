"""The three kinds of model release, each declared once: what its manifest calls it, the files it
holds, the setting that names the release in service, the category tree it carries, and the
class that opens it. The function's wiring, the panel, the CLIs (publish, dev up, demo, rebuild)
and the trainers all go through this table.

A trainer's `--out` folder holds the release in `release/` (what is published) and anything
else the run wrote (work files, evaluations) beside it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ReleaseKind:
    name: str  # classifier | textcat | price: the CLIs' word, and the bucket's folder
    manifest_kind: str  # what a release's manifest.json says it is
    files: tuple[str, ...]  # every file a release of this kind lists in its manifest
    setting: str  # the `Settings` field naming the release in service
    model: str  # "module:Class" whose `open(folder)` loads it (imported only when it is opened)
    tree: str = ""  # the category tree its taxonomy.json is: "image", "text", or none
    optional: tuple[str, ...] = ()  # files a release may add, listed in its manifest when it has them

    def files_in(self, folder: Path) -> tuple[str, ...]:
        """The files a release in `folder` lists: every required one and the optional ones it has."""
        return (*self.files, *(name for name in self.optional if (Path(folder) / name).is_file()))

    def open(self, folder: Path, **options: Any) -> Any:
        module, _, name = self.model.partition(":")
        return getattr(importlib.import_module(module), name).open(Path(folder), **options)

    @staticmethod
    def release_in(folder: Path) -> Path:
        """The release a path names: the folder itself when it holds a manifest, else the
        `release/` a trainer wrote inside it."""
        folder = Path(folder)
        return folder if (folder / MANIFEST).is_file() else folder / "release"


CLASSIFIER = ReleaseKind(
    "classifier",
    "image-classifier",
    ("model.tflite", "taxonomy.json"),
    "classifier_release",
    "catalogist.models.classifier:PhotoClassifier",
    tree="image",
    optional=("store-map.json",),  # catalogist.models.store_map.MAP_FILE
)
TEXTCAT = ReleaseKind(
    "textcat",
    "textcat",
    ("taxonomy.json", "textcat.npz", "textcat.json", "trained_on.json"),
    "textcat_release",
    "catalogist.models.textcat:TextCategorizer",
    tree="text",
)
PRICE = ReleaseKind(
    "price",
    "price",
    (
        "neighbours.npz",
        "ridge.npz",
        "price_tables.json",
        "price.json",
        "trained_on.json",
        *(f"{mode}_{quantile}.txt.xz" for mode in ("text", "list") for quantile in ("p50", "p10", "p90")),
    ),
    "price_release",
    "catalogist.models.price_model:PriceModel",
)
KINDS: tuple[ReleaseKind, ...] = (CLASSIFIER, TEXTCAT, PRICE)


def by_name(name: str) -> ReleaseKind:
    for kind in KINDS:
        if kind.name == name:
            return kind
    raise KeyError(f"no release kind {name!r}: one of {', '.join(k.name for k in KINDS)}")
