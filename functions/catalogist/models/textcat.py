"""The text categorizer at serving time: plain files in, a taxonomy `Decision` per row out.

Three experts read the hashed TF-IDF of a product (catalogist.models.text_features):

- a multinomial logistic regression per level (BigBasket's category, sub-category and type; a
  store's tree has as many levels as its deepest leaf), each softmax over all the nodes of its
  level (a leaf shallower than a level is its own node there). A weight exists only where a feature met the node in
  training, which keeps the file small and costs nothing in accuracy (docs/experiments.md);
- a name-neighbour vote: the training products sharing the most uncommon words with the row
  (`NameNeighbours`) vote for their types, weighted by similarity.

Per level, a weighted geometric mean of the experts' probabilities (the level's own regression,
the type regression summed up to the level, the vote summed likewise) is that level's answer;
a leaf's probability is then a weighted geometric mean of its nodes' answers at every level,
normalized over the leaves. Every weight was fitted on out-of-fold
predictions, and `Taxonomy.decide` applies per-level thresholds calibrated the same way for 98%
precision. A product that training saw under the same name and brand (`twins`; products an
admin reviewed above all) has its training label mixed in at the weight training measured.

Files, written by `catalogist train textcat`:

    textcat.npz     idf, weights and biases per level, the neighbours' word vectors and types,
                    the twins' keys, types and weights
    taxonomy.json   levels, leaves, thresholds (catalogist.models.taxonomy)
    textcat.json    feature version, the experts' weights, metrics of the release
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from catalogist.errors import ModelError
from catalogist.models.kinds import TEXTCAT
from catalogist.models.neighbours import WordNeighbours
from catalogist.models.releases import Release
from catalogist.models.taxonomy import Decision, Taxonomy
from catalogist.models.text_features import (
    N_FEATURES,
    counts_and_keys,
    pack_sparse,
    term_counts,
    tfidf,
    unpack_idf,
    unpack_sparse,
    word_part,
)

FEATURE_VERSION = 4
NEIGHBOURS = 20
VOTE_POWER = 2  # a neighbour's vote is its similarity to this power (what training fits with)
FORMER_VOTE_POWER = 4  # what releases that do not name their vote power were fitted with
VOTE_FLOOR = 1e-4  # added to every type's votes, so no type is ruled out by the vote alone
LOG_FLOOR = 1e-9  # probabilities are floored here before their logarithms are weighted
DENSE_ABOVE = 64  # a feature with more weights than this, over all levels, is held dense (`LevelScores`)


@dataclass(frozen=True)
class LevelWeights:
    weights: sparse.csr_matrix  # features × nodes of this level
    bias: np.ndarray  # nodes


@dataclass(frozen=True)
class LevelScores:
    """Every level's regression as one product per page, the weights split by feature: a
    feature with more than DENSE_ABOVE weights over all levels (frequent character n-grams,
    which carry weights for hundreds of types) is a row of a small dense block, every other
    one stays sparse. A sparse-by-sparse product costs a pass to size its result and a scatter
    per weight; the dense rows take 94% of a page's multiply-adds at vector speed instead,
    3× faster on BigBasket's pages (docs/experiments.md). Each row's scores are its own sums,
    whatever rows share its page."""

    slot: np.ndarray  # per hashed feature: its row of `dense`, or -1
    dense: np.ndarray  # (dense features, all levels' nodes), float32
    sparse_rest: sparse.csr_matrix  # features × all levels' nodes: the other features' weights
    bias: np.ndarray  # all levels' nodes
    ends: tuple[int, ...]  # where each level's nodes end, root first

    @classmethod
    def of(cls, levels: tuple[LevelWeights, ...]) -> "LevelScores":
        weights = sparse.hstack([level.weights for level in levels], format="csr", dtype=np.float32)
        per_feature = np.diff(weights.indptr)
        dense_rows = np.flatnonzero(per_feature > DENSE_ABOVE)
        slot = np.full(weights.shape[0], -1, np.int32)
        slot[dense_rows] = np.arange(len(dense_rows))
        rest = weights.copy()
        rest.data[np.repeat(per_feature > DENSE_ABOVE, per_feature)] = 0.0
        rest.eliminate_zeros()
        ends = tuple(int(end) for end in np.cumsum([level.weights.shape[1] for level in levels]))
        bias = np.concatenate([level.bias for level in levels]).astype(np.float32)
        return cls(slot, weights[dense_rows].toarray(), rest, bias, ends)

    def scores(self, features: sparse.csr_matrix) -> list[np.ndarray]:
        """Per level, root first, (rows, nodes): the features' scores plus the bias, in float32
        (`SERVED`, where the softmaxes after them are fast)."""
        features = sparse.csr_matrix(features, dtype=np.float32)
        slot = self.slot[features.indices]
        dense = slot >= 0
        row = np.repeat(np.arange(features.shape[0]), np.diff(features.indptr))[dense]
        on_dense = sparse.csr_matrix(
            (features.data[dense], slot[dense], np.searchsorted(row, np.arange(features.shape[0] + 1))),
            shape=(features.shape[0], len(self.dense)),
        )
        summed = on_dense @ self.dense
        summed += (features @ self.sparse_rest).toarray()
        summed += self.bias
        return np.split(summed, self.ends[:-1], axis=1)


@dataclass(frozen=True)
class NameNeighbours:
    """The training products' word vectors (`WordNeighbours`) and their types: the closest
    products vote for their types."""

    words: WordNeighbours
    leaf: np.ndarray  # products: leaf index of each
    power: int = VOTE_POWER  # a vote is the similarity to this power: the higher, the more the closest decide

    @classmethod
    def build(cls, vectors: sparse.csr_matrix, leaf: np.ndarray, common: int) -> "NameNeighbours":
        return cls(WordNeighbours.build(vectors, common), np.asarray(leaf))

    @property
    def products(self) -> int:
        return self.words.products

    def votes(self, queries: sparse.csr_matrix, leaves: int) -> np.ndarray:
        """(rows, leaves): each type's share of the `NEIGHBOURS` closest products'
        similarity-weighted votes."""
        row, product, similarity, _ = self.words.ranked(queries, NEIGHBOURS)
        votes = np.bincount(
            row * leaves + self.leaf[product],
            weights=similarity.astype(np.float64) ** self.power,
            minlength=queries.shape[0] * leaves,
        ).reshape(queries.shape[0], leaves)
        floored = votes + VOTE_FLOOR
        return floored / floored.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Twins:
    """Products training saw, by `product_keys`: their type, and how much that label is
    trusted (the agreement of catalogue twins measured in training; 1 for reviewed products)."""

    keys: np.ndarray  # uint64, sorted
    leaf: np.ndarray
    weight: np.ndarray

    def find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows that have a twin, position of each one's twin)."""
        if not len(self.keys):
            return np.empty(0, np.int64), np.empty(0, np.int64)
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        rows = np.nonzero(self.keys[at] == keys)[0]
        return rows, at[rows]


@dataclass(frozen=True)
class Combination:
    """How the experts' answers are weighed (fitted out of fold in training).

    `levels`, root first: each level above the leaves weighs its own regression, the type
    regression summed up to it and the vote summed likewise; the deepest level weighs the type
    regression and the vote. `leaf`: each level's answer's weight in the leaves' probabilities.
    A tree of any depth has one entry per level; BigBasket's three are category, sub_category
    and type."""

    levels: tuple[tuple[float, ...], ...]
    leaf: tuple[float, ...]

    @classmethod
    def initial(cls, depth: int) -> "Combination":
        """Where the fit starts: the leaf level's answer weighed most."""
        above = ((0.3, 0.3, 0.3),) * (depth - 1)
        return cls((*above, (0.7, 0.3)), (0.3,) * (depth - 1) + (1.0,))

    def to_json(self, level_names: tuple[str, ...]) -> dict[str, list[float]]:
        """Each level's weights under its name, then the leaves' (`leaf`), in that order."""
        if LEAF_WEIGHTS in level_names:
            raise ValueError(f"a level may not be named {LEAF_WEIGHTS!r}: it names the leaves' weights")
        document = {name: list(weights) for name, weights in zip(level_names, self.levels, strict=True)}
        return document | {LEAF_WEIGHTS: list(self.leaf)}

    @classmethod
    def from_json(cls, document: dict[str, list[float]]) -> "Combination":
        levels = tuple(tuple(float(w) for w in weights) for name, weights in document.items() if name != LEAF_WEIGHTS)
        return cls(levels, tuple(float(w) for w in document[LEAF_WEIGHTS]))


LEAF_WEIGHTS = "leaf"


@dataclass(frozen=True)
class ExpertAnswers:
    """What each expert says of a page of rows, before the combination."""

    regressions: list[np.ndarray]  # per level (rows, nodes), root first
    votes: np.ndarray  # (rows, leaves)


@dataclass(frozen=True)
class TextCategorizer:
    taxonomy: Taxonomy
    idf: np.ndarray
    levels: tuple[LevelWeights, ...]  # root level first, leaves last
    neighbours: NameNeighbours
    combination: Combination
    twins: Twins = field(default_factory=lambda: Twins(np.empty(0, np.uint64), np.empty(0, np.int64), np.empty(0)))
    release: Release | None = None  # None while training builds it
    level_scores: LevelScores = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # built once per model, before any request reads it: no lock needed when threads share it
        object.__setattr__(self, "level_scores", LevelScores.of(self.levels))

    @classmethod
    def open(cls, folder: Path) -> "TextCategorizer":
        return cls.load(Release.open(folder, TEXTCAT.manifest_kind, TEXTCAT.files))

    @property
    def version(self) -> str:
        return self.release.version if self.release else "unreleased"

    @classmethod
    def load(cls, release: Release) -> "TextCategorizer":
        directory = release.folder
        try:
            config = json.loads((directory / "textcat.json").read_text())
            taxonomy = Taxonomy.load(directory / "taxonomy.json")
            with np.load(directory / "textcat.npz") as stored:
                arrays = dict(stored)
            if config.get("feature_version") != FEATURE_VERSION or config.get("n_features") != N_FEATURES:
                raise ModelError(
                    f"text categorizer in {directory} was built for other features "
                    f"({config.get('feature_version')}, {config.get('n_features')})"
                )
            levels = tuple(
                LevelWeights(unpack_sparse(arrays, f"level{i}"), arrays[f"bias{i}"].astype(np.float64))
                for i in range(len(taxonomy.levels))
            )
            words = WordNeighbours(unpack_sparse(arrays, "neighbours").T.tocsr())
            neighbours = NameNeighbours(
                words, arrays["neighbour_leaf"], int(config.get("vote_power", FORMER_VOTE_POWER))
            )
            twins = Twins(arrays["twin_keys"], arrays["twin_leaf"], arrays["twin_weight"].astype(np.float64))
            combination = Combination.from_json(config["combination"])
        except (OSError, ValueError, KeyError) as error:
            raise ModelError(f"text categorizer in {directory} is incomplete: {error}") from None
        return cls(taxonomy, unpack_idf(arrays), levels, neighbours, combination, twins, release)

    def save_arrays(self) -> dict[str, np.ndarray]:
        """The npz arrays of this model but its idf (training adds `pack_idf`)."""
        arrays: dict[str, np.ndarray] = {}
        for i, level in enumerate(self.levels):
            arrays |= pack_sparse(f"level{i}", level.weights)
            arrays[f"bias{i}"] = level.bias.astype(np.float32)
        # stored by product (each product's words are near each other): it compresses better
        arrays |= pack_sparse("neighbours", self.neighbours.words.by_feature.T)
        arrays["neighbour_leaf"] = self.neighbours.leaf.astype(np.int16)
        arrays["twin_keys"] = self.twins.keys.astype(np.uint64)
        arrays["twin_leaf"] = self.twins.leaf.astype(np.int16)
        arrays["twin_weight"] = self.twins.weight.astype(np.float32)
        return arrays

    # -- answers ---------------------------------------------------------------------------------

    def answers(self, texts: list[tuple[str, str, str]]) -> ExpertAnswers:
        """Each expert's probabilities for (name, brand, vendor_category) rows."""
        return self.answers_to(term_counts(texts))

    def answers_to(self, counts: sparse.csr_matrix) -> ExpertAnswers:
        """`answers` of rows already hashed (`term_counts`)."""
        features = tfidf(counts, self.idf)
        regressions = [softmax(scores) for scores in self.level_scores.scores(features)]
        words = tfidf(word_part(counts), self.idf)
        return ExpertAnswers(regressions, self.neighbours.votes(words, len(self.taxonomy.leaves)))

    def leaf_probabilities(self, texts: list[tuple[str, str, str]]) -> np.ndarray:
        counts, keys = counts_and_keys(texts)
        probabilities = combine(self.taxonomy, self.answers_to(counts), self.combination)
        rows, twins = self.twins.find(keys)
        if len(rows):
            weight = self.twins.weight[twins][:, np.newaxis]
            probabilities[rows] *= 1.0 - weight
            probabilities[rows, self.twins.leaf[twins]] += weight[:, 0]
        return probabilities

    def decide(self, name: str, brand: str = "", vendor_category: str = "") -> Decision:
        return self.decide_many([(name, brand, vendor_category)])[0]

    def decide_many(self, texts: list[tuple[str, str, str]]) -> list[Decision]:
        """Batch form: a page of file rows in a few matrix products."""
        if not texts:
            return []
        return self.taxonomy.decide_many(self.leaf_probabilities(texts))


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def log_softmax(scores: np.ndarray) -> np.ndarray:
    """`log(softmax(scores))` without its exponentials' logarithms: one `exp` and a row's `log`."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


# The combination's arithmetic. Served in float32: on this CPU (AVX2) numpy has vector kernels
# for float32 `exp` and `log` and none for float64's, so a page's combination takes 12 ms instead
# of 27 (docs/experiments.md). Training fits the weights in float64 (`fit_combination`): its
# gradients are finite differences, steps that float32 would round away. The thresholds are
# calibrated on float32 answers, as the function computes them.
SERVED: type[np.floating] = np.float32
FITTED: type[np.floating] = np.float64


def _log(probabilities: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(probabilities, LOG_FLOOR))


def level_answers(
    taxonomy: Taxonomy, answers: ExpertAnswers, combination: Combination, dtype: type[np.floating] = SERVED
) -> list[np.ndarray]:
    """Per level, (rows, nodes): the logarithm of the weighted geometric mean of the experts,
    normalized."""
    # level_probabilities keeps float32, as it does float64; served regressions are float32 already
    regression_leaf, votes = answers.regressions[-1].astype(dtype, copy=False), answers.votes.astype(dtype)
    by_level = []
    for depth, (level, weights) in enumerate(zip(taxonomy.levels[:-1], combination.levels, strict=False)):
        summed = (taxonomy.level_probabilities(regression_leaf, level), taxonomy.level_probabilities(votes, level))
        mixed = dtype(weights[0]) * _log(answers.regressions[depth].astype(dtype, copy=False))
        mixed += dtype(weights[1]) * _log(summed[0]) + dtype(weights[2]) * _log(summed[1])
        by_level.append(log_softmax(mixed))
    weights = combination.levels[-1]
    mixed = dtype(weights[0]) * _log(regression_leaf) + dtype(weights[1]) * _log(votes)
    by_level.append(log_softmax(mixed))
    return by_level


def combine(
    taxonomy: Taxonomy, answers: ExpertAnswers, combination: Combination, dtype: type[np.floating] = SERVED
) -> np.ndarray:
    """(rows, leaves): the leaves' probabilities from every level's answer."""
    mixed = np.zeros(answers.votes.shape, dtype)
    floor = dtype(np.log(LOG_FLOOR))
    for weight, level, answer in zip(
        combination.leaf, taxonomy.levels, level_answers(taxonomy, answers, combination, dtype), strict=True
    ):
        mixed += dtype(weight) * np.maximum(answer, floor)[:, taxonomy.leaf_to_node(level)]
    return softmax(mixed)


def expert_summary(model: TextCategorizer) -> dict[str, Any]:
    """Sizes worth recording in a manifest."""
    return {
        "weights": [int(level.weights.nnz) for level in model.levels],
        "neighbour_products": model.neighbours.products,
        "neighbour_words": int(model.neighbours.words.by_feature.nnz),
        "twins": len(model.twins.keys),
    }
