"""A second catalogue in another store's schema (tests/fixtures/make_store_catalogue.py: other
column names, a `>`-separated path 2–4 levels deep, levels of its own names, euros), trained
and evaluated end to end with the same commands as products.csv."""

import json
import math
from itertools import pairwise
from pathlib import Path

import pytest

from catalogist.models.price_features import PriceInput
from catalogist.models.price_model import PriceModel
from catalogist.models.textcat import TextCategorizer
from catalogist_training import vendor_cli
from tests.fixtures.make_store_catalogue import LEVEL_NAMES
from tests.support import store_catalogue

pytestmark = pytest.mark.slow  # two models trained and evaluated: about 30 s of CPU


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("store")
    data, columns = store_catalogue(folder)
    for kind in ("textcat", "price"):
        trained = ["train", kind, "--data", str(data), "--columns", str(columns), "--out", str(folder / kind)]
        assert vendor_cli.main(trained) == 0
        # evaluation reads the file with the columns the release recorded: no flags again
        evaluated = ["evaluate", kind, "--model", str(folder / kind), "--data", str(data)]
        assert vendor_cli.main([*evaluated, "--out", str(folder / f"{kind}-report")]) == 0
    return folder


def repeats_a_name(path: tuple[str, ...]) -> bool:
    return any(upper == lower for upper, lower in pairwise(path))


def test_the_text_model_decides_in_the_stores_tree_at_every_depth_without_padding(store: Path) -> None:
    model = TextCategorizer.open(store / "textcat")

    juice = model.decide("Real Fruit Power Orange Juice 1 L", "Real")
    decisions = model.decide_many([("Green Tea Bags - Lemon", "Tetley", ""), ("Orange Juice", "Tropicana", "")])

    assert model.taxonomy.levels == LEVEL_NAMES
    assert {len(leaf) for leaf in model.taxonomy.leaves} == {2, 3, 4}
    assert juice.category_path == ("Beverages", "Fruit Juices & Drinks")  # a leaf at depth 2
    for decision in [juice, *decisions]:
        assert not repeats_a_name(decision.category_path)
        assert all(not repeats_a_name(alternative.category_path) for alternative in decision.alternatives)
        assert set(decision.confidence) <= set(LEVEL_NAMES)


def test_evaluation_scores_the_held_out_products_per_store_level_beside_the_baseline(store: Path) -> None:
    metrics = json.loads((store / "textcat-report" / "metrics.json").read_text())

    assert metrics["rows"] > 50
    assert set(metrics["accuracy_by_level"]) == set(LEVEL_NAMES)
    assert set(metrics["baseline"]["accuracy_by_level"]) == set(metrics["model_minus_baseline"]) == set(LEVEL_NAMES)
    assert metrics["accuracy_by_level"]["department"] > 0.8
    assert "NaN" not in (store / "textcat-report" / "metrics.json").read_text()


def test_rows_without_a_usable_category_are_reported_beside_the_release(store: Path) -> None:
    report = json.loads((store / "textcat" / "catalogue.json").read_text())[0]

    assert report["rows_read"] == 602 and report["rows_kept"] == 600
    assert report["rejected"] == {
        "category: column 'category_path' is empty": 1,
        "category: the path has an empty level between its '>'": 1,
    }
    assert report["examples"]["category: column 'category_path' is empty"][0]["values"]["title"] == "Mystery Box"


def test_the_price_model_learns_the_stores_prices_in_its_currency(store: Path) -> None:
    model = PriceModel.open(store / "price")
    metrics = json.loads((store / "price-report" / "metrics.json").read_text())

    tea = model.suggest([PriceInput("Green Tea Bags 25 pcs", "Tetley", ("Beverages", "Tea", "Green Tea"))])[0]
    juice = model.suggest_for_category(("Beverages", "Fruit Juices & Drinks"))

    assert model.currency == "EUR" and metrics["currency"] == "EUR"
    assert 0.3 < tea.price < 20  # euros: in rupees it would be ~90 times more
    assert juice is not None and juice.mode == "category"  # the depth-2 leaf's own prices
    assert metrics["text"]["rows"] > 30 and math.isfinite(metrics["text"]["rmsle"])
    assert "median_of_type" in metrics["baselines"]
