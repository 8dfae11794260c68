"""The category tree, its per-level thresholds, and the decision a prediction leads to.

A model scores the leaves of the tree (e.g. Fruit/Apple/Granny-Smith). A node's probability is
the sum of its leaves, so "Apple" can be sure while the variety is not. The decision is the
deepest level whose best node clears that level's threshold; when only the top level is left,
the product goes to an admin (`needs_review`). The same class serves the photo classifier and
the text categorizer of vendor file rows: it only knows paths of names.

Saved as `taxonomy.json` beside the model it belongs to.
"""

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

DEFAULT_LEVEL_NAMES = {1: ("fine",), 2: ("coarse", "fine"), 3: ("top", "coarse", "fine")}
SEPARATOR = "/"


@dataclass(frozen=True)
class Alternative:
    category_path: tuple[str, ...]
    confidence: float


@dataclass(frozen=True)
class Decision:
    """What one prediction means for the shop: the category to file it under, and how sure."""

    category_path: tuple[str, ...]
    decided_level: str
    confidence: dict[str, float]  # level name -> probability of the path's node at that level
    alternatives: tuple[Alternative, ...]  # the best leaves, most likely first
    needs_review: bool
    review_reason: str | None = None


@dataclass(frozen=True)
class Taxonomy:
    """Leaves in model-output order, level names from the root down, one threshold per level.

    `accept_level` is the shallowest level a decision may stop at and still skip review: with
    the default (the level below the top), "Fruit/Apple" files the photo, "Fruit" alone does not.
    """

    levels: tuple[str, ...]
    leaves: tuple[tuple[str, ...], ...]
    thresholds: tuple[float, ...]
    accept_level: str
    _nodes: tuple[tuple[tuple[str, ...], ...], ...] = field(init=False, repr=False, compare=False)
    _leaf_node: tuple[np.ndarray, ...] = field(init=False, repr=False, compare=False)
    # leaves × nodes 0/1 matrices, one per level: built once, not on every decision
    _members: tuple[np.ndarray, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.thresholds) != len(self.levels):
            raise ValueError(f"{len(self.levels)} levels but {len(self.thresholds)} thresholds")
        if self.accept_level not in self.levels:
            raise ValueError(f"accept_level {self.accept_level!r} is not one of {self.levels}")
        for leaf in self.leaves:
            if len(leaf) != len(self.levels):
                raise ValueError(f"{SEPARATOR.join(leaf)} has {len(leaf)} levels, not {len(self.levels)}")
        nodes, leaf_node = [], []
        for depth in range(1, len(self.levels) + 1):
            prefixes = sorted({leaf[:depth] for leaf in self.leaves})
            index = {prefix: i for i, prefix in enumerate(prefixes)}
            nodes.append(tuple(prefixes))
            leaf_node.append(np.array([index[leaf[:depth]] for leaf in self.leaves]))
        object.__setattr__(self, "_nodes", tuple(nodes))
        object.__setattr__(self, "_leaf_node", tuple(leaf_node))
        members = []
        for level_nodes, leaf_to_node in zip(nodes, leaf_node, strict=True):
            matrix = np.zeros((len(self.leaves), len(level_nodes)))
            matrix[np.arange(len(self.leaves)), leaf_to_node] = 1.0
            members.append(matrix)
        object.__setattr__(self, "_members", tuple(members))

    @classmethod
    def from_paths(cls, paths: list[tuple[str, ...]], levels: tuple[str, ...] | None = None) -> "Taxonomy":
        """The tree of the given category paths; leaves sorted so the order is reproducible."""
        leaves = tuple(sorted(set(paths)))
        depth = len(leaves[0])
        levels = levels or DEFAULT_LEVEL_NAMES.get(depth) or tuple(f"level{i + 1}" for i in range(depth))
        accept = levels[1] if len(levels) > 1 else levels[0]
        return cls(levels, leaves, (0.0,) * len(levels), accept)

    # -- levels ------------------------------------------------------------------------------

    def nodes(self, level: str) -> tuple[tuple[str, ...], ...]:
        """The distinct paths at a level, in the order of `level_probabilities` columns."""
        return self._nodes[self.levels.index(level)]

    def leaf_to_node(self, level: str) -> np.ndarray:
        """For each leaf index, the index of its node at `level`."""
        return self._leaf_node[self.levels.index(level)]

    def level_probabilities(self, leaf_probabilities: np.ndarray, level: str) -> np.ndarray:
        """(..., leaves) -> (..., nodes at level): each node's probability is its leaves' sum."""
        leaf_probabilities = np.asarray(leaf_probabilities, dtype=np.float64)
        return leaf_probabilities @ self._members[self.levels.index(level)]

    def leaf_index(self, category_path: tuple[str, ...]) -> int:
        return self.leaves.index(tuple(category_path))

    # -- decisions ---------------------------------------------------------------------------

    def decide(self, leaf_probabilities: np.ndarray, alternatives: int = 3) -> Decision:
        """The deepest confident category for one prediction (probabilities over the leaves)."""
        probabilities = np.asarray(leaf_probabilities, dtype=np.float64)
        probabilities = probabilities / max(probabilities.sum(), 1e-12)
        best_per_level = []
        by_level = {level: self.level_probabilities(probabilities, level) for level in self.levels}
        for level, node_probs in by_level.items():
            best = int(np.argmax(node_probs))
            best_per_level.append((self.nodes(level)[best], float(node_probs[best])))
        decided = 0
        for depth in range(len(self.levels) - 1, -1, -1):
            if best_per_level[depth][1] >= self.thresholds[depth]:
                decided = depth
                break
        path = best_per_level[decided][0]
        confidence = {}
        for depth, level in enumerate(self.levels[: decided + 1]):
            node = self.nodes(level).index(path[: depth + 1])
            confidence[level] = float(by_level[level][node])
        top_leaves = np.argsort(-probabilities)[:alternatives]
        options = tuple(Alternative(self.leaves[i], float(probabilities[i])) for i in top_leaves)
        needs_review = decided < self.levels.index(self.accept_level) or (
            decided == 0 and best_per_level[0][1] < self.thresholds[0]
        )
        reason = None
        if needs_review:
            deeper = min(decided + 1, len(self.levels) - 1)
            guess, sure = best_per_level[deeper]
            reason = (
                f"not sure enough of the {self.levels[deeper]} category: best guess "
                f"{SEPARATOR.join(guess)} at {sure:.0%}, {self.thresholds[deeper]:.0%} needed"
            )
        return Decision(path, self.levels[decided], confidence, options, needs_review, reason)

    # -- files -------------------------------------------------------------------------------

    def with_thresholds(self, thresholds: tuple[float, ...]) -> "Taxonomy":
        return replace(self, thresholds=tuple(float(t) for t in thresholds))

    def to_json(self) -> dict:
        return {
            "levels": list(self.levels),
            "leaves": [SEPARATOR.join(leaf) for leaf in self.leaves],
            "thresholds": dict(zip(self.levels, self.thresholds, strict=True)),
            "accept_level": self.accept_level,
        }

    @classmethod
    def from_json(cls, document: dict) -> "Taxonomy":
        levels = tuple(document["levels"])
        leaves = tuple(tuple(leaf.split(SEPARATOR)) for leaf in document["leaves"])
        thresholds = tuple(float(document["thresholds"][level]) for level in levels)
        return cls(levels, leaves, thresholds, document.get("accept_level", levels[-1]))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: Path) -> "Taxonomy":
        return cls.from_json(json.loads(path.read_text()))
