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
    # per level: the leaf order that groups each node's leaves together, and where each node's
    # group starts in it (for `level_probabilities`)
    _grouped: tuple[tuple[np.ndarray, np.ndarray], ...] = field(init=False, repr=False, compare=False)
    # per level, each node's parent's position one level up (level 0: unused)
    _parent: tuple[np.ndarray, ...] = field(init=False, repr=False, compare=False)

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
        grouped = []
        for leaf_to_node in leaf_node:
            order = np.argsort(leaf_to_node, kind="stable")  # the identity when leaves are sorted
            grouped.append((order, np.searchsorted(leaf_to_node[order], np.arange(leaf_to_node.max() + 1))))
        object.__setattr__(self, "_grouped", tuple(grouped))
        parents = [np.zeros(len(nodes[0]), np.int64)]
        for depth in range(1, len(self.levels)):
            up = {prefix: i for i, prefix in enumerate(nodes[depth - 1])}
            parents.append(np.array([up[node[:depth]] for node in nodes[depth]]))
        object.__setattr__(self, "_parent", tuple(parents))

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
        """(..., leaves) -> (..., nodes at level): each node's probability is its leaves' sum,
        added in leaf order, so a row's sums do not depend on the rows batched with it (a
        matrix product's do, in the last bit, which can flip a decision sitting on a threshold)."""
        order, starts = self._grouped[self.levels.index(level)]
        leaf_probabilities = np.asarray(leaf_probabilities, dtype=np.float64)
        return np.add.reduceat(leaf_probabilities[..., order], starts, axis=-1)

    def leaf_index(self, category_path: tuple[str, ...]) -> int:
        return self.leaves.index(tuple(category_path))

    # -- decisions ---------------------------------------------------------------------------

    def decide(self, leaf_probabilities: np.ndarray, alternatives: int = 5) -> Decision:
        """The deepest confident category for one prediction (probabilities over the leaves)."""
        return self.decide_many(np.asarray(leaf_probabilities)[np.newaxis], alternatives)[0]

    def decide_many(self, leaf_probabilities: np.ndarray, alternatives: int = 5) -> list[Decision]:
        """`decide` for each row of a (rows, leaves) array, the same decisions as one at a time:
        the level sums are taken for the whole batch, so a page of 400 file rows costs about
        what a few single decisions did."""
        probabilities = np.asarray(leaf_probabilities, dtype=np.float64)
        probabilities = probabilities / np.maximum(probabilities.sum(axis=1, keepdims=True), 1e-12)
        rows = np.arange(len(probabilities))
        by_level = [self.level_probabilities(probabilities, level) for level in self.levels]
        best = [node_probs.argmax(axis=1) for node_probs in by_level]
        best_p = [node_probs[rows, b] for node_probs, b in zip(by_level, best, strict=True)]
        top_leaves = np.argsort(-probabilities, axis=1)[:, :alternatives]
        last = len(self.levels) - 1
        accept = self.levels.index(self.accept_level)
        decisions = []
        for i in rows:
            decided = next((d for d in range(last, -1, -1) if best_p[d][i] >= self.thresholds[d]), 0)
            node = int(best[decided][i])
            path = self._nodes[decided][node]
            along = [node]  # the path's node at each level, from the decided one up
            for depth in range(decided, 0, -1):
                along.append(int(self._parent[depth][along[-1]]))
            along.reverse()
            confidence = {self.levels[d]: float(by_level[d][i, n]) for d, n in enumerate(along)}
            options = tuple(Alternative(self.leaves[j], float(probabilities[i, j])) for j in top_leaves[i])
            needs_review = decided < accept or (decided == 0 and best_p[0][i] < self.thresholds[0])
            reason = None
            if needs_review:
                deeper = min(decided + 1, last)
                guess, sure = self._nodes[deeper][best[deeper][i]], best_p[deeper][i]
                needed = self.thresholds[deeper]
                # above 1: calibration found no threshold that keeps the promise at this level
                wanted = "this level is always reviewed" if needed > 1 else f"{needed:.0%} needed"
                reason = (
                    f"not sure enough of the {self.levels[deeper]} category: best guess "
                    f"{SEPARATOR.join(guess)} at {sure:.0%}, {wanted}"
                )
            decisions.append(Decision(path, self.levels[decided], confidence, options, needs_review, reason))
        return decisions

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
