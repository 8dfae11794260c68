"""The text regressions' split product (a dense block for features with many weights, sparse for
the rest) scores every row as each level's plain sparse product does, whatever its page."""

import numpy as np
from scipy import sparse

from catalogist.models.textcat import DENSE_ABOVE, LevelScores, LevelWeights


def levels(rng: np.random.Generator, features: int = 2_000) -> tuple[LevelWeights, ...]:
    """Three levels (5, 40, 300 nodes) where a feature's weights run from none to every node:
    some features fall on each side of DENSE_ABOVE."""
    found = []
    for nodes in (5, 40, 300):
        per_feature = np.minimum(rng.choice([0, 1, 3, 20, nodes], features), nodes)
        rows = np.repeat(np.arange(features), per_feature)
        columns = np.concatenate([rng.choice(nodes, n, replace=False) for n in per_feature])
        weights = sparse.csr_matrix(
            (rng.normal(size=len(rows)).astype(np.float32), (rows, columns)), shape=(features, nodes)
        )
        found.append(LevelWeights(weights, rng.normal(size=nodes)))
    return tuple(found)


def test_split_scores_are_each_levels_plain_product_row_by_row() -> None:
    rng = np.random.default_rng(3)
    weights = levels(rng)
    per_feature = sum(np.diff(level.weights.indptr) for level in weights)
    assert (per_feature > DENSE_ABOVE).any() and ((per_feature > 0) & (per_feature <= DENSE_ABOVE)).any()
    page = sparse.random(64, 2_000, density=0.03, format="lil", dtype=np.float32, random_state=4)
    page[5] = 0  # a row with no known feature scores its bias
    page = page.tocsr()

    split = LevelScores.of(weights).scores(page)

    for level, scores in zip(weights, split, strict=True):
        plain = (page @ level.weights).toarray().astype(np.float64) + level.bias
        np.testing.assert_allclose(scores, plain, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(split[2][5], weights[2].bias.astype(np.float32))  # scores are served in float32
    for row in (0, 5, 63):  # alone, a row gets exactly the scores it got in its page
        for alone, paged in zip(LevelScores.of(weights).scores(page[row]), split, strict=True):
            np.testing.assert_array_equal(alone[0], paged[row])


def test_a_model_with_no_dense_feature_scores_from_its_sparse_weights_alone() -> None:
    rng = np.random.default_rng(5)
    weights = (LevelWeights(sparse.csr_matrix(np.eye(10, 4, dtype=np.float32)), np.zeros(4)),)
    page = sparse.csr_matrix(rng.random((3, 10)).astype(np.float32))

    (scores,) = LevelScores.of(weights).scores(page)

    np.testing.assert_allclose(scores, page.toarray()[:, :4], rtol=1e-6)


def test_one_text_model_shared_by_threads_decides_each_page_as_alone() -> None:
    """One function instance serves many files at once with one model: pages decided by eight
    threads together get exactly the decisions each got alone."""
    import csv
    from concurrent.futures import ThreadPoolExecutor

    from catalogist.models.textcat import TextCategorizer
    from tests.support import BIGBASKET, REPO, require_data

    model = TextCategorizer.open(REPO / "models" / "textcat")
    with require_data(BIGBASKET, "the BigBasket catalogue").open(newline="", encoding="utf-8") as handle:
        texts = [(r["product"], r["brand"], "") for _, r in zip(range(4_000), csv.DictReader(handle), strict=False)]
    pages = [texts[start : start + 400] for start in range(0, len(texts), 400)]
    alone = [model.decide_many(page) for page in pages]

    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(model.decide_many, pages * 3))

    assert together == alone * 3
