"""The text categorizer at serving time: plain files in, a taxonomy `Decision` per row out.

Three linear models (category, sub-category, leaf) score the product text; a leaf's score is
its own plus its parents', so the three agree. A softmax with a temperature fitted on
validation data turns scores into leaf probabilities, and `Taxonomy.decide` applies the
per-level thresholds calibrated for 98% precision. Files, written by `catalogist train textcat`:

    textcat.npz     idf, per-level sparse weights (features × nodes) and biases
    taxonomy.json   levels, leaves, thresholds (catalogist.taxonomy)
    textcat.json    feature version, temperature, metrics of the release
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from catalogist.errors import ModelError
from catalogist.taxonomy import Decision, Taxonomy
from catalogist.vendorfiles.text_features import N_FEATURES, term_counts, tfidf

FEATURE_VERSION = 1


@dataclass(frozen=True)
class LevelWeights:
    weights: sparse.csr_matrix  # features × nodes of this level
    bias: np.ndarray  # nodes


@dataclass(frozen=True)
class TextCategorizer:
    taxonomy: Taxonomy
    idf: np.ndarray
    levels: tuple[LevelWeights, ...]  # root level first, leaves last
    temperature: float

    @classmethod
    def load(cls, directory: Path) -> "TextCategorizer":
        try:
            config = json.loads((directory / "textcat.json").read_text())
            taxonomy = Taxonomy.load(directory / "taxonomy.json")
            arrays = np.load(directory / "textcat.npz")
        except (OSError, ValueError, KeyError) as error:
            raise ModelError(f"text categorizer in {directory} is incomplete: {error}") from None
        if config.get("feature_version") != FEATURE_VERSION or config.get("n_features") != N_FEATURES:
            raise ModelError(f"text categorizer in {directory} was built for other features "
                             f"({config.get('feature_version')}, {config.get('n_features')})")
        levels = tuple(
            LevelWeights(
                sparse.csr_matrix((arrays[f"w{i}_data"], arrays[f"w{i}_indices"],
                                   arrays[f"w{i}_indptr"]), shape=tuple(arrays[f"w{i}_shape"])),
                arrays[f"b{i}"],
            )
            for i in range(len(taxonomy.levels))
        )
        return cls(taxonomy, arrays["idf"], levels, float(config["temperature"]))

    def leaf_scores(self, texts: list[tuple[str, str, str]]) -> np.ndarray:
        """(rows, leaves) raw scores for (name, brand, vendor_category) rows."""
        features = tfidf(term_counts(texts), self.idf)
        total = np.zeros((len(texts), len(self.taxonomy.leaves)), np.float32)
        for level, weights in zip(self.taxonomy.levels, self.levels, strict=True):
            node_scores = np.asarray((features @ weights.weights).todense()) + weights.bias
            total += node_scores[:, self.taxonomy.leaf_to_node(level)]
        return total

    def leaf_probabilities(self, texts: list[tuple[str, str, str]]) -> np.ndarray:
        return softmax(self.leaf_scores(texts) * self.temperature)

    def decide(self, name: str, brand: str = "", vendor_category: str = "") -> Decision:
        return self.taxonomy.decide(self.leaf_probabilities([(name, brand, vendor_category)])[0])

    def decide_many(self, texts: list[tuple[str, str, str]]) -> list[Decision]:
        """Batch form: one matrix product for a whole page of file rows."""
        return [self.taxonomy.decide(p) for p in self.leaf_probabilities(texts)]


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def save_level_weights(levels: list[LevelWeights]) -> dict[str, np.ndarray]:
    """The npz arrays for `levels` (training writes them next to idf)."""
    arrays: dict[str, np.ndarray] = {}
    for i, level in enumerate(levels):
        csr = level.weights.tocsr()
        arrays |= {f"w{i}_data": csr.data.astype(np.float32), f"w{i}_indices": csr.indices,
                   f"w{i}_indptr": csr.indptr, f"w{i}_shape": np.array(csr.shape),
                   f"b{i}": level.bias.astype(np.float32)}
    return arrays
