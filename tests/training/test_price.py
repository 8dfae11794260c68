"""Price model: train on a few hundred rows, reload the plain files, suggest, evaluate."""

import json
from pathlib import Path

import pytest

from catalogist.models.price_features import PriceInput
from catalogist.models.price_model import PriceModel
from catalogist_training import vendor_cli
from tests.training.test_textcat import small_csv


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
    # served: refitted on train + validation; evaluated: only rows that neither touched
    trained = set(json.loads((model_dir / "trained_on.json").read_text()))
    calibrated = set(json.loads((model_dir / "calibrated_on.json").read_text()))
    assert calibrated and calibrated <= trained
    assert len(model.neighbours.log_price) == len(trained)
    assert metrics["rows"] == 800 - len(trained)


def test_the_function_loads_row_models_with_one_blas_thread(tmp_path: Path) -> None:
    from threadpoolctl import ThreadpoolController

    from catalogist import wiring

    model_dir = tmp_path / "model"
    assert vendor_cli.main(["train", "price", "--data", str(small_csv(tmp_path, 400)), "--out", str(model_dir)]) == 0
    with ThreadpoolController().limit(limits=2, user_api="blas"):  # as on a 2-core instance; undone after
        wiring.open_price(model_dir, "INR")
        pools = ThreadpoolController().select(user_api="blas").info()
        assert pools and all(pool["num_threads"] == 1 for pool in pools)


@pytest.mark.slow
@pytest.mark.timeout(1200)  # minutes on a shared 2-core machine
def test_full_data_beats_the_baselines(tmp_path: Path, bigbasket: Path) -> None:
    vendor_cli.main(["train", "price", "--data", str(bigbasket), "--out", str(tmp_path / "m")])
    vendor_cli.main(
        ["evaluate", "price", "--model", str(tmp_path / "m"), "--data", str(bigbasket), "--out", str(tmp_path / "r")]
    )
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    baselines = metrics["baselines"]
    assert metrics["text"]["rmsle"] < baselines["median_of_brand_type"]["rmsle"]
    assert metrics["list_price"]["rmsle"] < baselines["list_price_brand_discount"]["rmsle"]
    assert 0.75 <= metrics["text"]["interval_coverage"] <= 0.85
    # floor under today's held-out figure (rmsle 0.553), not the target of 0.50
    assert metrics["text"]["rmsle"] <= 0.575


def test_neighbour_index_leaves_a_training_row_out_of_its_own_neighbours() -> None:
    import numpy as np

    from catalogist.models.price_features import (
        KNN_FEATURES,
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
        matrix,
        np.log([100.0, 220.0, 150.0]),
        np.log([100.0, 250.0, 1000.0]),
        np.array(["g", "g", "g"]),
        np.array(["tetley", "tetley", "india gate"]),
        np.array(["t", "t", "r"]),
    )

    positions, similarity = index.nearest(matrix, exclude=np.arange(3))
    row = PriceInput("Green Tea 100 g", "Tetley", ("B", "T", "G"), 100.0, "g")
    features = neighbour_features([row], positions[:1], similarity[:1], index)[0]

    assert positions.shape == (3, 2)  # each row's neighbours: everyone but itself
    assert positions[0, 0] == 1 and 0 not in positions[0]
    assert len(features) == len(KNN_FEATURES)
    assert np.isclose(features[2], np.log(220.0 * 100 / 250))  # pack-adjusted neighbour price


def test_neighbour_similarity_is_the_cosine_whichever_features_are_dense(monkeypatch) -> None:
    import numpy as np

    from catalogist.models import price_features
    from catalogist.models.text_features import fit_idf, term_counts, tfidf

    words = ["tea", "green", "rice", "basmati", "oil", "sunflower", "milk", "toned", "salt", "sugar"]
    rng = np.random.default_rng(3)
    texts = [(" ".join(rng.choice(words, 3)) + f" {rng.integers(1, 9)} kg", "", "") for _ in range(60)]
    counts = term_counts(texts)
    matrix = tfidf(counts, fit_idf(counts))
    cosine = (matrix[:20] @ matrix.T).toarray()
    labels = np.array([""] * 60)
    for common in (0, 8, 10**6):  # all sparse, split, all dense
        monkeypatch.setattr(price_features, "COMMON_FEATURES", common)
        index = price_features.NeighbourIndex(matrix, np.zeros(60), np.zeros(60), labels, labels, labels)
        assert np.allclose(index.similarity(matrix[:20]), cosine, atol=1e-6)
