"""Nearest training products by their uncommon words: what the text categorizer's vote and the
price model's neighbour features both search.

The training products are word vectors (TF-IDF of name and brand words, L2-normalized), with
the words found in more than `common` products dropped. Similarity is one sparse product per
page, whose cost is each query word times the products holding it: the dropped words (`g`,
`pack`, a big brand, a category word) made most of it, and a dense search over every product
cost 0.5 ms a row. What is left still finds a product in its other pack sizes and its close
siblings.
"""

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from catalogist.models.text_features import ranked_by_row


@dataclass(frozen=True)
class WordNeighbours:
    by_feature: sparse.csr_matrix  # hashed word features × products

    @classmethod
    def build(cls, vectors: sparse.csr_matrix, common: int) -> "WordNeighbours":
        """From products × features vectors, the words of more than `common` products dropped."""
        return cls(drop_common(vectors, common).T.tocsr())

    @property
    def products(self) -> int:
        return self.by_feature.shape[1]

    def ranked(
        self,
        queries: sparse.csr_matrix,
        first: int,
        group: np.ndarray | None = None,
        own_group: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each query's `first` most similar products sharing a word with it, as flat arrays
        (row, product, similarity, place within its row) ordered by row, then similarity
        (highest first), then product. With `group` (per product) and `own_group` (per query),
        a query does not see its own group: training rows do not see their own product, as a
        new product has none to see."""
        similarity = (queries @ self.by_feature).tocsr()
        if group is not None and own_group is not None:  # zeroed entries are dropped as no similarity
            row = np.repeat(np.arange(similarity.shape[0]), np.diff(similarity.indptr))
            similarity.data[group[similarity.indices] == own_group[row]] = 0.0
        return ranked_by_row(similarity, first)

    def nearest(
        self,
        queries: sparse.csr_matrix,
        k: int,
        group: np.ndarray | None = None,
        own_group: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per query row, its up to `k` most similar products, best first (ties: the lower
        position): (positions, similarities), each (queries, k), padded with -1 and 0 where
        fewer products share a word."""
        row, product, value, rank = self.ranked(queries, k, group, own_group)
        positions = np.full((queries.shape[0], k), -1, np.int64)
        similarities = np.zeros((queries.shape[0], k), np.float64)
        positions[row, rank] = product
        similarities[row, rank] = value
        return positions, similarities


def drop_common(vectors: sparse.csr_matrix, common: int) -> sparse.csr_matrix:
    """The products × features vectors without the words of more than `common` products."""
    vectors = vectors.tocsr().copy()
    frequency = np.bincount(vectors.indices, minlength=vectors.shape[1])
    vectors.data[frequency[vectors.indices] > common] = 0.0
    vectors.eliminate_zeros()
    return vectors
