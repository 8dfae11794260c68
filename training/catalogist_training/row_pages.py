"""The row models' hashed features for many rows, a page at a time: memory stays flat as the
catalogue grows.

`term_counts` hashes a page in NumPy arrays of a few 8-byte numbers per byte of text: ~14 MB
for every 1,000 rows, so one call on a million rows wanted ~14 GB, and `tfidf` keeps five
float64 or int64 arrays per stored value (~5 GB at a million rows). Page by page, the peak is
one page's intermediates plus the result (~1 GB of float32 values and int32 buckets for a
million rows). Each row's features depend on that row alone, so the pages stacked are exactly
the one-call matrix (tests/training/test_row_pages.py).
"""

from collections.abc import Callable, Sequence

import numpy as np
from scipy import sparse
from tqdm import tqdm

from catalogist.models.text_features import N_FEATURES, term_counts, tfidf, word_part

PAGE_ROWS = 20_000

Text = tuple[str, str, str]


def counts_of(texts: Sequence[Text], page: int = PAGE_ROWS) -> sparse.csr_matrix:
    """`term_counts(texts)`, hashed `page` rows at a time."""
    starts = tqdm(range(0, len(texts), page), desc="hashing rows", leave=False, disable=len(texts) <= page)
    return stack_rows([term_counts(texts[start : start + page]) for start in starts], N_FEATURES)


def weighted(
    counts: sparse.csr_matrix,
    idf: np.ndarray,
    columns: np.ndarray | None = None,
    words_only: bool = False,
    page: int = PAGE_ROWS,
) -> sparse.csr_matrix:
    """`tfidf(counts, idf)` (of `word_part(counts)` with `words_only`), `page` rows at a time;
    with `columns` (sorted buckets holding every bucket `counts` uses), those columns only,
    numbered from 0 as `[:, columns]` numbers them."""
    renumber: Callable[[np.ndarray], np.ndarray] = lambda buckets: buckets  # noqa: E731
    if columns is not None:
        position = np.full(counts.shape[1], -1, np.int32)
        position[columns] = np.arange(len(columns), dtype=np.int32)
        renumber = lambda buckets: position[buckets]  # noqa: E731
    width = counts.shape[1] if columns is None else len(columns)
    parts = []
    for start in range(0, counts.shape[0], page):
        chunk = counts[start : start + page]
        found = tfidf(word_part(chunk) if words_only else chunk, idf)
        parts.append(
            sparse.csr_matrix((found.data, renumber(found.indices), found.indptr), shape=(found.shape[0], width))
        )
    return stack_rows(parts, width)


def stack_rows(parts: list[sparse.csr_matrix], width: int) -> sparse.csr_matrix:
    """CSR pages one under the other: `sparse.vstack`, without its format conversions."""
    if not parts:
        return sparse.csr_matrix((0, width), dtype=np.float32)
    offsets = np.cumsum([0] + [part.nnz for part in parts])
    indptr = np.concatenate([[0]] + [part.indptr[1:] + offset for part, offset in zip(parts, offsets, strict=False)])
    data = np.concatenate([part.data for part in parts])
    indices = np.concatenate([part.indices for part in parts])
    return sparse.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, width))
