"""The category tree, its per-level thresholds, and the decision a prediction leads to.

A model scores the leaves of the tree (e.g. Fruit/Apple/Granny-Smith). A node's probability is
the sum of its leaves, so "Apple" can be sure while the variety is not. The decision is the
deepest level whose best node clears that level's threshold; when only the top level is left,
the product goes to an admin (`needs_review`). The same class serves the photo classifier and
the text categorizer of vendor file rows: it only knows paths of names.

Leaves may sit at different depths (`Drinks/Juice` beside `Fresh/Fruit/Apple/Granny-Smith`): a
leaf shallower than a level is its own node there, under its own name, never padded with
repeated ones, so a decision at any level names it as it is.

Saved as `taxonomy.json` beside the model it belongs to.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

DEFAULT_LEVEL_NAMES = {1: ("fine",), 2: ("coarse", "fine"), 3: ("top", "coarse", "fine")}
SEPARATOR = "/"
ALTERNATIVES = 5  # best leaves a decision lists: what a reviewer picks from with 1–5


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
    # the path cleared its level's threshold: filed with the release's promise, even when a
    # deeper level is left to a reviewer ("Fruit/Apple", the variety to review)
    sure: bool = True


@dataclass(frozen=True)
class Taxonomy:
    """Leaves in model-output order, level names from the root down, one threshold per level.

    `accept_level` is the shallowest level a decision may stop at and still skip review: with
    the default (the level below the top), "Fruit/Apple" files the photo, "Fruit" alone does not.
    A photo release accepts only its deepest level: "Fruit/Apple" is then filed as sure and the
    variety goes to a reviewer. A decision that reaches a leaf is never reviewed, whatever its
    depth (`Drinks/Juice` in a tree whose deepest leaves sit lower).
    """

    levels: tuple[str, ...]
    leaves: tuple[tuple[str, ...], ...]
    thresholds: tuple[float, ...]
    accept_level: str
    _nodes: tuple[tuple[tuple[str, ...], ...], ...] = field(init=False, repr=False, compare=False)
    _leaf_node: tuple[np.ndarray, ...] = field(init=False, repr=False, compare=False)
    # per level: the leaf order that groups each node's leaves together, and where each node's
    # group starts in it (for `level_probabilities`)
    _grouped: tuple[tuple[np.ndarray | None, np.ndarray], ...] = field(init=False, repr=False, compare=False)
    # per level, each node's parent's position one level up (level 0: unused)
    _parent: tuple[np.ndarray, ...] = field(init=False, repr=False, compare=False)
    _leaf_set: frozenset[tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.thresholds) != len(self.levels):
            raise ValueError(f"{len(self.levels)} levels but {len(self.thresholds)} thresholds")
        if self.accept_level not in self.levels:
            raise ValueError(f"accept_level {self.accept_level!r} is not one of {self.levels}")
        for leaf in self.leaves:
            if not 1 <= len(leaf) <= len(self.levels):
                raise ValueError(f"{SEPARATOR.join(leaf)} has {len(leaf)} levels; the tree has {len(self.levels)}")
        if self.leaves and max(len(leaf) for leaf in self.leaves) != len(self.levels):
            raise ValueError(f"no leaf reaches the last of the {len(self.levels)} levels: name fewer levels")
        shallow = set(self.leaves)
        for leaf in self.leaves:
            for depth in range(1, len(leaf)):
                if leaf[:depth] in shallow:
                    raise ValueError(
                        f"{SEPARATOR.join(leaf[:depth])} is both a category of its own and the parent of "
                        f"{SEPARATOR.join(leaf)}: give its own products a child category"
                    )
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
            order = np.argsort(leaf_to_node, kind="stable")
            starts = np.searchsorted(leaf_to_node[order], np.arange(leaf_to_node.max() + 1))
            # None: the leaves are in their nodes' order already (always, when sorted)
            grouped.append((None if np.array_equal(order, np.arange(len(order))) else order, starts))
        object.__setattr__(self, "_grouped", tuple(grouped))
        parents = [np.zeros(len(nodes[0]), np.int64)]
        for depth in range(1, len(self.levels)):
            up = {prefix: i for i, prefix in enumerate(nodes[depth - 1])}
            parents.append(np.array([up[node[:depth]] for node in nodes[depth]]))
        object.__setattr__(self, "_parent", tuple(parents))
        object.__setattr__(self, "_leaf_set", frozenset(self.leaves))

    @classmethod
    def from_paths(cls, paths: Sequence[tuple[str, ...]], levels: tuple[str, ...] | None = None) -> "Taxonomy":
        """The tree of the given category paths (of any depths); leaves sorted so the order is
        reproducible; levels named by depth unless `levels` names them."""
        leaves = tuple(sorted(set(paths)))
        depth = max(len(leaf) for leaf in leaves)
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
        matrix product's do, in the last bit, which can flip a decision sitting on a threshold).
        Where every node is one leaf, the leaves' array itself: read it, do not write to it."""
        order, starts = self._grouped[self.levels.index(level)]
        values = np.asarray(leaf_probabilities)
        if values.dtype != np.float32:  # float32 stays (the text combination's), else float64
            values = values.astype(np.float64, copy=False)
        if order is not None:
            values = values[..., order]
        if len(starts) == values.shape[-1]:
            return values
        return np.add.reduceat(values, starts, axis=-1)

    def has_node(self, category_path: Sequence[str]) -> bool:
        """A category of the tree at any level: a leaf or a node above leaves."""
        depth = len(category_path)
        return 0 < depth <= len(self.levels) and tuple(category_path) in self._nodes[depth - 1]

    def is_leaf(self, category_path: Sequence[str]) -> bool:
        """A whole category of the tree (at any depth), not a node above one."""
        return tuple(category_path) in self._leaf_set

    def leaf_index(self, category_path: tuple[str, ...]) -> int:
        return self.leaves.index(tuple(category_path))

    # -- decisions ---------------------------------------------------------------------------

    def decide(self, leaf_probabilities: np.ndarray, alternatives: int = ALTERNATIVES) -> Decision:
        """The deepest confident category for one prediction (probabilities over the leaves)."""
        return self.decide_many(np.asarray(leaf_probabilities)[np.newaxis], alternatives)[0]

    def decide_many(self, leaf_probabilities: np.ndarray, alternatives: int = ALTERNATIVES) -> list[Decision]:
        """The decision rule, for each row of a (rows, leaves) array: the deepest level whose best
        node clears that level's threshold (else the top level), the path to it with each level's
        confidence, the best leaves, and whether a human must decide (stopped above
        `accept_level`, or unsure even of the top level). Photos, file rows, calibration and the
        panel all decide with this. Everything but building the objects is done for the whole
        page at once (a per-row loop cost twice what the text model did), and a row's decision
        never depends on the rows batched with it (`level_probabilities`)."""
        probabilities = np.asarray(leaf_probabilities, dtype=np.float64)
        probabilities = probabilities / np.maximum(probabilities.sum(axis=1, keepdims=True), 1e-12)
        n = len(probabilities)
        rows = np.arange(n)
        levels = self.levels
        last = len(levels) - 1
        by_level = [self.level_probabilities(probabilities, level) for level in levels]
        best = [node_probs.argmax(axis=1) for node_probs in by_level]
        best_p = [node_probs[rows, b] for node_probs, b in zip(by_level, best, strict=True)]
        decided = np.zeros(n, np.int64)  # deepest level that clears its threshold, else the top one
        for depth in range(last, -1, -1):
            decided = np.where((decided == 0) & (best_p[depth] >= self.thresholds[depth]), depth, decided)
        along = np.zeros((n, len(levels)), np.int64)  # the decided node and its ancestors
        node = np.select([decided == d for d in range(len(levels))], best, default=best[0])
        for depth in range(last, -1, -1):
            here = decided == depth
            along[here, depth] = node[here]
            if depth < last:
                below = decided > depth
                along[below, depth] = self._parent[depth + 1][along[below, depth + 1]]
        confidence = np.stack([by_level[d][rows, along[:, d]] for d in range(len(levels))], axis=1)
        top = best_columns(probabilities, min(alternatives, probabilities.shape[1]))
        top_p = np.take_along_axis(probabilities, top, axis=1)
        accept = levels.index(self.accept_level)
        sure = ~((decided == 0) & (best_p[0] < self.thresholds[0]))
        # the objects are built from Python lists: indexing numpy arrays one element at a time
        # cost as much as everything above
        leaves, nodes = self.leaves, self._nodes
        depths, along_rows = decided.tolist(), along.tolist()
        paths = [nodes[depth][along_rows[i][depth]] for i, depth in enumerate(depths)]
        complete = np.array([path in self._leaf_set for path in paths], dtype=bool)  # a leaf, at any depth
        needs_review = ~sure | ((decided < accept) & ~complete)
        confidences, tops, top_ps = confidence.tolist(), top.tolist(), top_p.tolist()
        best_nodes, best_ps = [b.tolist() for b in best], [b.tolist() for b in best_p]
        flags = zip(depths, needs_review.tolist(), sure.tolist(), strict=True)
        leaf_of = leaves.__getitem__
        result = []
        for i, (depth, review, is_sure) in enumerate(flags):
            reason = None
            if review:
                deeper = min(depth + 1, last)
                reason = self._review_reason(deeper, nodes[deeper][best_nodes[deeper][i]], best_ps[deeper][i])
                if is_sure:
                    reason = f"sure of {SEPARATOR.join(paths[i])} ({confidences[i][depth]:.0%}); {reason}"
            result.append(
                Decision(
                    paths[i],
                    levels[depth],
                    dict(zip(levels[: depth + 1], confidences[i][: depth + 1], strict=True)),
                    tuple(map(Alternative, map(leaf_of, tops[i]), top_ps[i])),
                    review,
                    reason,
                    is_sure,
                )
            )
        return result

    def _review_reason(self, level: int, guess: tuple[str, ...], sure: float) -> str:
        needed = self.thresholds[level]
        # above 1: calibration found no threshold that keeps the promise at this level
        wanted = "this level is always reviewed" if needed > 1 else f"{needed:.0%} needed"
        return (
            f"not sure enough of the {self.levels[level]} category: best guess "
            f"{SEPARATOR.join(guess)} at {sure:.0%}, {wanted}"
        )

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


def best_columns(values: np.ndarray, count: int) -> np.ndarray:
    """(rows, count): each row's `count` largest columns, largest first, equal ones in column
    order: the first columns of a stable argsort of −values, without sorting whole rows (a
    page's 400 rows × 536 leaves took 17 ms to sort, this 7). Each row's `count`-th largest
    value bounds its candidates; only those, ties at the bound included, are sorted."""
    if count == 0:
        return np.empty((len(values), 0), np.int64)
    bound = -np.partition(-values, count - 1, axis=1)[:, count - 1 : count]
    row, column = np.nonzero(values >= bound)
    order = np.lexsort((column, -values[row, column], row))
    row, column = row[order], column[order]
    starts = np.searchsorted(row, np.arange(len(values)))
    kept = np.arange(len(row)) - starts[row] < count
    return column[kept].reshape(len(values), count)
