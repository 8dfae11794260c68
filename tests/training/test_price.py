"""Price model: train on a few hundred rows, reload the plain files, suggest, evaluate."""

import json
from pathlib import Path

from catalogist.models.price_features import PriceInput
from catalogist.models.price_model import PriceModel
from catalogist_training import vendor_cli
from catalogist_training.textcat import product_digest
from catalogist_training.vendor_data import load_products
from tests.support import new_products_of, small_csv


def test_train_reload_suggest_and_evaluate(tmp_path: Path) -> None:
    data = small_csv(tmp_path, rows=800)
    model_dir, report = tmp_path / "model", tmp_path / "report"

    assert vendor_cli.main(["train", "price", "--data", str(data), "--out", str(model_dir)]) == 0
    assert (
        vendor_cli.main(["evaluate", "price", "--model", str(model_dir), "--data", str(data), "--out", str(report)])
        == 0
    )

    model = PriceModel.open(model_dir)
    row = PriceInput("Green Tea Bags 25 pcs", "Tetley", ("Beverages", "Tea", "Green Tea"))
    text, listed = model.suggest([row, PriceInput(**{**row.__dict__, "list_price": 150.0})])
    assert text.low <= text.price <= text.high and text.mode == "text"
    assert listed.mode == "list_price" and 50 < listed.price < 300
    metrics = json.loads((report / "metrics.json").read_text())
    for mode in ("text", "list_price"):
        assert {"rmsle", "mdape", "within_20pct", "interval_coverage"} <= set(metrics[mode])
    assert "median_of_brand_type" in metrics["baselines"]
    assert {"category", "category_vendor", "category_text"} <= set(metrics["photo"])
    assert "NaN" not in (report / "metrics.json").read_text()
    # served: refitted on train + validation; evaluated: only the products neither touched
    trained = set(json.loads((model_dir / "release" / "trained_on.json").read_text()))
    config = json.loads((model_dir / "release" / "price.json").read_text())
    assert len(model.neighbours.log_price) == config["final_products"] <= config["final_rows"]
    priced = [p for p in load_products(data) if p.sale_price]
    assert metrics["rows"] == sum(product_digest(p) not in trained for p in priced) > 0


def test_a_product_listed_many_times_weighs_as_one_product(tmp_path: Path, monkeypatch) -> None:
    """A generated catalogue lists each real product, then dozens of perturbed copies (`group`
    names the source). The boosters weigh a product's rows 1 / its listings, so each product
    weighs 1 in all; the neighbours, the group medians and the validation figures are each
    product's first listing; the real one."""
    import numpy as np

    from catalogist_training import price, scale_rows
    from catalogist_training.catalogue import GUESSED
    from catalogist_training.vendor_data import product_key, split_key, training_rows

    real = small_csv(tmp_path, rows=300)
    generated = tmp_path / "generated.csv"
    scale_rows.write(real, 1_500, generated, 0)
    weights, medians_of = [], []
    boost, tables = price._boost, price._tables

    def recorded_boost(features, target, weight, *args, **kwargs):
        weights.append(weight)
        return boost(features, target, weight, *args, **kwargs)

    def recorded_tables(rows, *args):
        medians_of.append(rows)
        return tables(rows, *args)

    monkeypatch.setattr(price, "_boost", recorded_boost)
    monkeypatch.setattr(price, "_tables", recorded_tables)

    config = price.train(generated, tmp_path / "model")

    found = training_rows(generated, [], GUESSED)
    train_rows = [p for p in found.train if p.sale_price]
    validation = [p for p in found.validation if p.sale_price]
    products = {split_key(p) for p in train_rows}
    final_products = products | {split_key(p) for p in validation}
    assert len(train_rows) > 3 * len(products)  # copies outnumber the products they are made from
    # the first fit: its boosters weigh the train rows, one product 1 in all
    assert len(weights[0]) == len(train_rows) and np.isclose(weights[0].sum(), len(products))
    assert np.isclose(weights[-1].sum(), len(final_products))
    for rows in medians_of:
        assert all(p.group == product_key(p) for p in rows)  # real rows only
        assert len({split_key(p) for p in rows}) == len(rows)  # each product once
    assert len(PriceModel.open(tmp_path / "model").neighbours.log_price) == config["final_products"]
    assert config["final_products"] == len(final_products)
    assert config["validation"]["text"]["rows"] == len({split_key(p) for p in validation})


def test_evaluate_on_a_file_without_the_training_rows_omits_the_baselines_with_the_reason(tmp_path: Path) -> None:
    data = small_csv(tmp_path, rows=400)
    model_dir, report = tmp_path / "model", tmp_path / "report"
    assert vendor_cli.main(["train", "price", "--data", str(data), "--out", str(model_dir)]) == 0
    data.rename(tmp_path / "moved.csv")  # the training file is no longer where the release says
    (tmp_path / "other").mkdir()
    other = small_csv(tmp_path / "other", rows=500)

    assert (
        vendor_cli.main(["evaluate", "price", "--model", str(model_dir), "--data", str(other), "--out", str(report)])
        == 0
    )

    text = (report / "metrics.json").read_text()
    assert "NaN" not in text
    assert "is not on this machine" in json.loads(text)["baselines_omitted"]


def test_the_function_loads_row_models_with_one_blas_thread(tmp_path: Path) -> None:
    from threadpoolctl import ThreadpoolController

    from catalogist import wiring
    from catalogist.models.kinds import PRICE, ReleaseKind
    from catalogist.settings import Settings

    model_dir = tmp_path / "model"
    assert vendor_cli.main(["train", "price", "--data", str(small_csv(tmp_path, 400)), "--out", str(model_dir)]) == 0
    with ThreadpoolController().limit(limits=2, user_api="blas"):  # as on a 2-core instance; undone after
        wiring.opener(PRICE, Settings(project="p", currency="INR"))(ReleaseKind.release_in(model_dir))
        pools = ThreadpoolController().select(user_api="blas").info()
        assert pools and all(pool["num_threads"] == 1 for pool in pools)


def test_neighbour_index_leaves_a_training_row_out_of_its_own_product() -> None:
    import numpy as np

    from catalogist.models.neighbours import WordNeighbours
    from catalogist.models.price_features import (
        KNN_FEATURES,
        NEIGHBOURS,
        NeighbourIndex,
        neighbour_features,
    )
    from catalogist.models.text_features import fit_idf, term_counts, tfidf

    texts = [
        ("Green Tea 100 g", "Tetley", ""),
        ("Green Tea 250 g", "Tetley", ""),
        ("Basmati Rice 1 kg", "India Gate", ""),
    ]
    counts = term_counts(texts)
    matrix = tfidf(counts, fit_idf(counts))
    index = NeighbourIndex(
        WordNeighbours(matrix.T.tocsr()),
        np.log([100.0, 220.0, 150.0]),
        np.log([100.0, 250.0, 1000.0]),
        np.array(["g", "g", "g"]),
        np.array(["tetley", "tetley", "india gate"]),
        np.array(["t", "t", "r"]),
    )

    products = np.arange(3)
    positions, similarity = index.nearest(matrix, products, products)
    row = PriceInput("Green Tea 100 g", "Tetley", ("B", "T", "G"), 100.0, "g")
    features = neighbour_features([row], positions[:1], similarity[:1], index)[0]

    assert positions.shape == (3, NEIGHBOURS)  # padded with -1 where fewer products share a word
    assert positions[0, 0] == 1 and 0 not in positions[0]
    assert len(features) == len(KNN_FEATURES)
    assert np.isclose(features[2], np.log(220.0 * 100 / 250))  # pack-adjusted neighbour price


def test_nearest_neighbours_are_the_most_similar_products_on_the_uncommon_words() -> None:
    import numpy as np

    from catalogist.models.neighbours import WordNeighbours, drop_common
    from catalogist.models.price_features import NEIGHBOURS, NeighbourIndex
    from catalogist.models.text_features import fit_idf, term_counts, tfidf

    words = ["tea", "green", "rice", "basmati", "oil", "sunflower", "milk", "toned", "salt", "sugar"]
    rng = np.random.default_rng(3)
    texts = [(" ".join(rng.choice(words, 3)) + f" {rng.integers(1, 9)} kg", "", "") for _ in range(60)]
    counts = term_counts(texts)
    matrix = tfidf(counts, fit_idf(counts))
    kept = drop_common(matrix, common=20)
    labels = np.array([""] * 60)
    index = NeighbourIndex(WordNeighbours(kept.T.tocsr()), np.zeros(60), np.zeros(60), labels, labels, labels)

    positions, similarity = index.nearest(matrix[:20])

    cosine = (matrix[:20] @ kept.T).toarray()
    for row in range(20):
        expected = sorted(cosine[row][cosine[row] > 0], reverse=True)[:NEIGHBOURS]
        found = similarity[row][positions[row] >= 0]
        assert np.allclose(found, expected, atol=1e-6)
        assert np.allclose(cosine[row, positions[row][positions[row] >= 0]], found, atol=1e-6)


def test_a_release_built_with_the_test_split_learns_every_priced_product_and_is_scored_only_on_others(
    tmp_path: Path, capsys
) -> None:
    data = small_csv(tmp_path, rows=800)
    model_dir, report = tmp_path / "model", tmp_path / "report"
    arguments = ["train", "price", "--data", str(data), "--out", str(model_dir), "--include-test-split"]

    assert vendor_cli.main(arguments) == 0

    trained = set(json.loads((model_dir / "release" / "trained_on.json").read_text()))
    assert trained == {product_digest(p) for p in load_products(data) if p.sale_price}
    evaluated = ["evaluate", "price", "--model", str(model_dir), "--data", str(data), "--out", str(report)]
    assert vendor_cli.main(evaluated) == 2
    assert "learnt from (it was trained with --include-test-split)" in capsys.readouterr().err
    assert not (report / "metrics.json").exists()
    # new products are scored, the baselines fitted on the release's own rows beside them
    unseen = new_products_of(data, tmp_path / "unseen.csv")
    evaluated[evaluated.index(str(data))] = str(unseen)
    assert vendor_cli.main(evaluated) == 0
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["rows"] == sum(bool(p.sale_price) for p in load_products(unseen)) > 0
    assert "median_of_brand_type" in metrics["baselines"]
    # new products without a sale price: nothing to score either, and the error says why
    unpriced = new_products_of(data, tmp_path / "unpriced.csv", sale_price="")
    evaluated[evaluated.index(str(unseen))] = str(unpriced)
    assert vendor_cli.main(evaluated) == 2
    assert "has a sale price" in capsys.readouterr().err
