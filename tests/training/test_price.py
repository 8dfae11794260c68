"""Price model: train on a few hundred rows, reload the plain files, suggest, evaluate."""

import json
from pathlib import Path

import pytest

from catalogist.vendorfiles.price_features import PriceInput
from catalogist.vendorfiles.price_model import PriceModel
from catalogist_training import vendor_cli
from tests.training.test_textcat import PRODUCTS, small_csv


def test_train_reload_suggest_and_evaluate(tmp_path: Path) -> None:
    data = small_csv(tmp_path, rows=800)
    model_dir, report = tmp_path / "model", tmp_path / "report"

    assert vendor_cli.main(["train", "price", "--data", str(data), "--out", str(model_dir)]) == 0
    assert vendor_cli.main(["evaluate", "price", "--model", str(model_dir), "--data", str(data),
                            "--out", str(report)]) == 0

    model = PriceModel.load(model_dir)
    row = PriceInput("Green Tea Bags 25 pcs", "Tetley", ("Beverages", "Tea", "Green Tea"))
    text, listed = model.suggest([row, PriceInput(**{**row.__dict__, "list_price": 150.0})])
    assert text.low <= text.price <= text.high and text.mode == "text"
    assert listed.mode == "list_price" and 50 < listed.price < 300
    metrics = json.loads((report / "metrics.json").read_text())
    for mode in ("text", "list_price"):
        assert {"rmsle", "mdape", "within_20pct", "interval_coverage"} <= set(metrics[mode])
    assert "median_of_brand_type" in metrics["baselines"]


@pytest.mark.slow
def test_full_data_beats_the_baselines(tmp_path: Path) -> None:
    if not PRODUCTS.exists():
        pytest.skip("BigBasket products.csv not available")
    vendor_cli.main(["train", "price", "--data", str(PRODUCTS), "--out", str(tmp_path / "m")])
    vendor_cli.main(["evaluate", "price", "--model", str(tmp_path / "m"), "--data",
                     str(PRODUCTS), "--out", str(tmp_path / "r")])
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    baselines = metrics["baselines"]
    assert metrics["text"]["rmsle"] < baselines["median_of_brand_type"]["rmsle"]
    assert metrics["list_price"]["rmsle"] < baselines["list_price_brand_discount"]["rmsle"]
    assert 0.75 <= metrics["text"]["interval_coverage"] <= 0.85
