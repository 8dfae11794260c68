"""The vectorized feature hashing gives what the per-row reference gives, on 1,000 real rows."""

import csv

import numpy as np

from catalogist.models.text_features import product_key, product_keys, reference_term_counts, term_counts
from tests.support import BIGBASKET, require_data

ODD = [
    ("Tea – 250 g ß\nNEW", "Tata  Tea", "Drinks/Hot"),
    ("", "", ""),
    ("!!", "x", ""),
    ("a", "", "b"),
    ("Çay 1kg", "Doğuş", "İçecek"),
    ("Ｆｕｌｌｗｉｄｔｈ Milk", "🥛 Dairy", "Milk & Eggs › Milk"),
]


def thousand_rows() -> list[tuple[str, str, str]]:
    with require_data(BIGBASKET, "the BigBasket catalogue").open(newline="", encoding="utf-8") as handle:
        rows = [(r["product"], r["brand"], r["type"]) for r in csv.DictReader(handle)]
    return rows[: 1000 - len(ODD)] + ODD


def test_term_counts_of_a_page_are_the_reference_counts_row_by_row() -> None:
    texts = thousand_rows()

    page, reference = term_counts(texts), reference_term_counts(texts)

    assert page.shape == reference.shape
    assert np.array_equal(page.indptr, reference.indptr)
    assert np.array_equal(page.indices, reference.indices)
    assert np.array_equal(page.data, reference.data)


def test_product_keys_of_a_page_are_each_rows_key() -> None:
    texts = thousand_rows()

    keys = product_keys(texts)

    assert keys.tolist() == [product_key(name, brand) for name, brand, _ in texts]


def test_ranked_by_row_orders_as_the_three_key_lexsort_ties_included() -> None:
    from scipy import sparse

    from catalogist.models.text_features import ranked_by_row

    rng = np.random.default_rng(5)
    dense = rng.choice(np.array([0, 0, 0, 0.25, 0.5, 0.5, 0.9, 1.0], np.float32), size=(40, 300))
    dense[3] = 0  # a query sharing no word with any product
    similarity = sparse.csr_matrix(dense)

    row, product, value, rank = ranked_by_row(similarity, similarity.shape[1])  # every entry

    rows, products = np.nonzero(dense)
    order = np.lexsort((products, -dense[rows, products], rows))
    assert np.array_equal(row, rows[order]) and np.array_equal(product, products[order])
    assert np.array_equal(value, dense[rows, products][order])
    assert np.array_equal(rank, np.arange(len(order)) - np.searchsorted(rows[order], rows[order]))


def test_ranked_by_row_with_first_keeps_exactly_each_rows_first_entries() -> None:
    from scipy import sparse

    from catalogist.models.text_features import ranked_by_row

    rng = np.random.default_rng(6)
    # ties within and across similarity buckets, values above 1, rows shorter than `first`
    dense = rng.choice(np.array([0, 0, 0, 0.1, 0.25, 0.251, 0.5, 0.5, 0.9, 1.0, 1.7], np.float32), size=(60, 400))
    dense[3] = 0
    dense[7, 5:] = 0
    similarity = sparse.csr_matrix(dense)
    row, product, value, rank = ranked_by_row(similarity, similarity.shape[1])  # every entry

    for first in (1, 3, 20, 500):
        kept = rank < first
        found = ranked_by_row(similarity, first)

        for got, wanted in zip(found, (row[kept], product[kept], value[kept], rank[kept]), strict=True):
            assert np.array_equal(got, wanted)
