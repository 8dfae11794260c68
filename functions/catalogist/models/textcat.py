"""The text categorizer at serving time: plain files in, a taxonomy `Decision` per row out.

Three linear models (category, sub-category, leaf) score the product text. Each level's scores
become probabilities among siblings only (a softmax within each parent, with a temperature
fitted on validation data), and a leaf's probability is the product down its path:
P(category) · P(sub-category | category) · P(type | sub-category). So the category marginal is
the category model's own answer, the leaves always sum to one, and `Taxonomy.decide` applies the
per-level thresholds calibrated for 98% precision. Files, written by `catalogist train textcat`:

    textcat.npz     sparse idf, per-level sparse weights (features × nodes) and biases
    taxonomy.json   levels, leaves, thresholds (catalogist.models.taxonomy)
    textcat.json    feature version, temperature, metrics of the release
"""

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse

from catalogist.errors import ModelError
from catalogist.models.releases import Release
from catalogist.models.taxonomy import Decision, Taxonomy
from catalogist.models.text_features import N_FEATURES, term_counts, tfidf, unpack_idf

FEATURE_VERSION = 3
KIND = "textcat"
FILES = ("taxonomy.json", "textcat.npz", "textcat.json")


@dataclass(frozen=True)
class LevelWeights:
    weights: sparse.csr_matrix  # features × nodes of this level
    bias: np.ndarray  # nodes


@dataclass(frozen=True)
class TextCategorizer:
    taxonomy: Taxonomy
    idf: np.ndarray
    levels: tuple[LevelWeights, ...]  # root level first, leaves last
    temperatures: tuple[float, ...]  # one per level, root first
    release: Release | None = None  # None while training builds it

    @classmethod
    def open(cls, folder: Path) -> "TextCategorizer":
        return cls.load(Release.open(folder, KIND, FILES))

    @property
    def version(self) -> str:
        return self.release.version if self.release else "unreleased"

    @classmethod
    def load(cls, release: Release) -> "TextCategorizer":
        directory = release.folder
        try:
            config = json.loads((directory / "textcat.json").read_text())
            taxonomy = Taxonomy.load(directory / "taxonomy.json")
            arrays = np.load(directory / "textcat.npz")
        except (OSError, ValueError, KeyError) as error:
            raise ModelError(f"text categorizer in {directory} is incomplete: {error}") from None
        if config.get("feature_version") != FEATURE_VERSION or config.get("n_features") != N_FEATURES:
            raise ModelError(
                f"text categorizer in {directory} was built for other features "
                f"({config.get('feature_version')}, {config.get('n_features')})"
            )
        levels = tuple(
            LevelWeights(
                sparse.csr_matrix(
                    (arrays[f"w{i}_data"].astype(np.float32), arrays[f"w{i}_indices"], arrays[f"w{i}_indptr"]),
                    shape=tuple(arrays[f"w{i}_shape"]),
                ),
                arrays[f"b{i}"],
            )
            for i in range(len(taxonomy.levels))
        )
        return cls(taxonomy, unpack_idf(arrays), levels, tuple(float(t) for t in config["temperatures"]), release)

    def level_scores(self, texts: list[tuple[str, str, str]]) -> list[np.ndarray]:
        """Per level, (rows, nodes) raw scores for (name, brand, vendor_category) rows."""
        features = tfidf(term_counts(texts), self.idf)
        return [np.asarray((features @ weights.weights).todense()) + weights.bias for weights in self.levels]

    def leaf_probabilities(self, texts: list[tuple[str, str, str]]) -> np.ndarray:
        return chain_probabilities(self.taxonomy, self.level_scores(texts), self.temperatures)

    def decide(self, name: str, brand: str = "", vendor_category: str = "") -> Decision:
        return self.taxonomy.decide(self.leaf_probabilities([(name, brand, vendor_category)])[0])

    def decide_many(self, texts: list[tuple[str, str, str]]) -> list[Decision]:
        """Batch form: one matrix product for a whole page of file rows."""
        return self.taxonomy.decide_many(self.leaf_probabilities(texts))


def chain_probabilities(taxonomy: Taxonomy, scores: list[np.ndarray], temperatures: tuple[float, ...]) -> np.ndarray:
    """(rows, leaves): the product down each leaf's path of softmaxes taken among siblings."""
    leaves = np.ones((scores[0].shape[0], len(taxonomy.leaves)))
    for depth, level in enumerate(taxonomy.levels):
        conditional = np.empty_like(scores[depth], dtype=np.float64)
        for siblings in _sibling_groups(taxonomy)[depth]:
            conditional[:, siblings] = softmax(scores[depth][:, siblings] * temperatures[depth])
        leaves *= conditional[:, taxonomy.leaf_to_node(level)]
    return leaves


@lru_cache(maxsize=4)
def _sibling_groups(taxonomy: Taxonomy) -> tuple[tuple[np.ndarray, ...], ...]:
    """Per level, the node positions that share a parent."""
    result = []
    for depth, level in enumerate(taxonomy.levels):
        parents: dict[tuple[str, ...], list[int]] = {}
        for position, node in enumerate(taxonomy.nodes(level)):
            parents.setdefault(node[:depth], []).append(position)
        result.append(tuple(np.array(group) for group in parents.values()))
    return tuple(result)


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def save_level_weights(levels: list[LevelWeights]) -> dict[str, np.ndarray]:
    """The npz arrays for `levels` (training writes them next to idf)."""
    arrays: dict[str, np.ndarray] = {}
    for i, level in enumerate(levels):
        csr = level.weights.tocsr()
        arrays |= {
            # float16 halves the file; validation accuracy is unchanged to three decimals
            f"w{i}_data": csr.data.astype(np.float16),
            f"w{i}_indices": csr.indices,
            f"w{i}_indptr": csr.indptr,
            f"w{i}_shape": np.array(csr.shape),
            f"b{i}": level.bias.astype(np.float32),
        }
    return arrays
