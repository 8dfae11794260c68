"""Where a photo's category sits in the store's tree: the map a classifier release carries.

A store lists its products in one tree, its catalogue's (the text categorizer's). The photo
model learns another one, the tree its photos were labelled in. `store-map.json`, an optional
file of a classifier release, names for nodes of the photo tree the node of the store's tree
they are:

    {"nodes": {"Fruit/Apple": "Fruits & Vegetables/Fresh Fruits/Apples & Pomegranate",
               "Packages/Juice": "Beverages/Fruit Juices & Drinks"}}

`catalogist release map RELEASE MAP_FILE --store-tree TEXTCAT_RELEASE` checks it against both
trees and writes it into the release with what it needs of the store's tree (its level names,
which mapped nodes are leaves), so the function places a photo without the catalogue model.

A photo decision lands on the node mapped from the deepest node of its decided path that the
map names (`Fruit/Apple/Pink-Lady` → the node of `Fruit/Apple`); a decision the map says nothing
of stays in the photo tree alone. The map is checked against both trees when it is attached to a
release (`problems`): a node the photo model cannot decide or a store node the catalogue does
not have is refused. Publishing checks its photo side again (`photo_problems`); its store side
holds for the store tree it was attached against, which the manifest names (`store_tree`): a
text release with another tree needs the map attached again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from catalogist.models.taxonomy import SEPARATOR, Taxonomy

MAP_FILE = "store-map.json"


@dataclass(frozen=True)
class StoreMap:
    nodes: Mapping[tuple[str, ...], tuple[str, ...]]  # photo-tree node -> store-tree node
    store_levels: tuple[str, ...] = ()  # the store tree's level names, root first
    store_leaves: frozenset[tuple[str, ...]] = frozenset()  # the mapped store nodes that are leaves

    def attached(self, store: Taxonomy) -> StoreMap:
        """The map with what it needs of the store's tree (check `problems` first)."""
        leaves = frozenset(target for target in self.nodes.values() if store.is_leaf(target))
        return StoreMap(self.nodes, tuple(store.levels), leaves)

    def is_leaf(self, store_path: Sequence[str]) -> bool:
        return tuple(store_path) in self.store_leaves

    def place(self, path: Sequence[str]) -> tuple[str, ...] | None:
        """The store node of the deepest node of `path` the map names, or None."""
        for depth in range(len(path), 0, -1):
            found = self.nodes.get(tuple(path[:depth]))
            if found is not None:
                return found
        return None

    def level_of(self, store_path: Sequence[str]) -> str:
        return self.store_levels[len(store_path) - 1]

    def problems(self, photos: Taxonomy, store: Taxonomy) -> list[str]:
        """What is wrong with the map for these two trees, in words (empty: nothing)."""
        return sorted(self.photo_problems(photos) + self.store_problems(store))

    def photo_problems(self, photos: Taxonomy) -> list[str]:
        return [
            f"{SEPARATOR.join(node)} is no category of the photo model"
            for node in self.nodes
            if not photos.has_node(node)
        ]

    def store_problems(self, store: Taxonomy) -> list[str]:
        found = [
            f"{SEPARATOR.join(source)} → {SEPARATOR.join(target)}: no such category in the store's tree"
            for source, target in self.nodes.items()
            if not store.has_node(target)
        ]
        if self.store_levels and tuple(store.levels) != self.store_levels:
            found.append(
                f"the map names the store's levels {list(self.store_levels)}, the tree has {list(store.levels)}"
            )
        return found

    @classmethod
    def load(cls, path: Path) -> StoreMap:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(
            {tuple(k.split(SEPARATOR)): tuple(v.split(SEPARATOR)) for k, v in document["nodes"].items()},
            tuple(document.get("store_levels") or ()),
            frozenset(tuple(leaf.split(SEPARATOR)) for leaf in document.get("store_leaves") or ()),
        )

    def save(self, path: Path) -> None:
        document = {
            "store_levels": list(self.store_levels),
            "store_leaves": sorted(SEPARATOR.join(leaf) for leaf in self.store_leaves),
            "nodes": {SEPARATOR.join(k): SEPARATOR.join(v) for k, v in sorted(self.nodes.items())},
        }
        Path(path).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
