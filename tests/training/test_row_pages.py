"""Features built a page at a time are the features of one call: paging only bounds memory."""

import numpy as np

from catalogist.models.text_features import term_counts, tfidf, word_part
from catalogist_training.row_pages import counts_of, stack_rows, weighted

TEXTS = [
    ("Green Tea Bags - Lemon 25 pcs", "Tetley", ""),
    ("Basmati Rice 1 kg", "India Gate", "Rice"),
    ("", "", ""),
    ("Toor Dal/Arhar Dal 500 g", "bb Royal", ""),
    ("Ultra Soft Toothbrush", "Colgate", "Oral Care"),
    ("Chocolate Cookies", "", ""),
    ("Sunflower Oil 5 L", "Fortune", ""),
]


def same(left, right) -> bool:
    left, right = left.tocsr(), right.tocsr()
    left.sort_indices()
    right.sort_indices()
    return (
        left.shape == right.shape
        and np.array_equal(left.indptr, right.indptr)
        and np.array_equal(left.indices, right.indices)
        and np.array_equal(left.data, right.data)
    )


def test_counts_hashed_in_pages_are_the_counts_of_one_call() -> None:
    assert same(counts_of(TEXTS, page=2), term_counts(TEXTS))
    assert same(counts_of(TEXTS, page=100), term_counts(TEXTS))


def test_weights_in_pages_are_the_weights_of_one_call_on_the_columns_asked_for() -> None:
    counts = term_counts(TEXTS)
    idf = np.linspace(1.0, 3.0, counts.shape[1]).astype(np.float32)
    columns = np.flatnonzero(np.bincount(counts.indices, minlength=counts.shape[1]))

    assert same(weighted(counts, idf, page=3), tfidf(counts, idf))
    assert same(weighted(counts, idf, columns, page=3), tfidf(counts, idf)[:, columns])
    assert same(weighted(counts, idf, words_only=True, page=3), tfidf(word_part(counts), idf))


def test_no_pages_stack_to_an_empty_matrix_of_the_width_asked_for() -> None:
    assert stack_rows([], 5).shape == (0, 5)
    assert counts_of([]).shape[0] == 0
