"""Text categorizer: train on a few hundred rows, reload the plain files, decide, evaluate."""

import csv
import json
from pathlib import Path

import pytest

from catalogist.models.textcat import TextCategorizer
from catalogist_training import vendor_cli
from tests.conftest import BIGBASKET, require_data


def small_csv(tmp_path: Path, rows: int = 600) -> Path:
    products = require_data(BIGBASKET, "the BigBasket catalogue")
    with products.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        kept = [r for r in reader if r["category"] in ("Beverages", "Snacks & Branded Foods")]
    path = tmp_path / "small.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(kept[0]))
        writer.writeheader()
        writer.writerows(kept[:rows])
    return path


def test_train_reload_decide_and_evaluate(tmp_path: Path) -> None:
    data = small_csv(tmp_path)
    model_dir, report = tmp_path / "model", tmp_path / "report"

    assert vendor_cli.main(["train", "textcat", "--data", str(data), "--out", str(model_dir)]) == 0
    assert (
        vendor_cli.main(["evaluate", "textcat", "--model", str(model_dir), "--data", str(data), "--out", str(report)])
        == 0
    )

    model = TextCategorizer.open(model_dir)
    decision = model.decide("Green Tea Bags - Lemon", "Tetley")
    assert decision.category_path[:2] == ("Beverages", "Tea")
    metrics = json.loads((report / "metrics.json").read_text())
    assert set(metrics["accuracy_by_level"]) == {"category", "sub_category", "type"}
    assert set(metrics["macro_f1_by_level"]) == {"category", "sub_category", "type"}
    assert metrics["accuracy_by_level"]["category"] > 0.8
    assert "data:image/png;base64," in (report / "report.html").read_text()


@pytest.mark.slow
@pytest.mark.timeout(1200)  # minutes on a shared 2-core machine
def test_full_data_meets_the_floor(tmp_path: Path, bigbasket: Path) -> None:
    vendor_cli.main(["train", "textcat", "--data", str(bigbasket), "--out", str(tmp_path / "m")])
    vendor_cli.main(
        ["evaluate", "textcat", "--model", str(tmp_path / "m"), "--data", str(bigbasket), "--out", str(tmp_path / "r")]
    )
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    # floors under today's held-out figures (0.936 / 0.840 / 0.773), not the targets
    assert metrics["accuracy_by_level"]["category"] >= 0.92
    assert metrics["accuracy_by_level"]["sub_category"] >= 0.825
    assert metrics["accuracy_by_level"]["type"] >= 0.755
    # thresholds calibrated out of fold hold their precision on rows never seen
    assert metrics["auto_accept_precision"] >= 0.97


def test_chained_leaf_probabilities_sum_to_one_and_keep_the_category_model() -> None:
    import numpy as np

    from catalogist.models.taxonomy import Taxonomy
    from catalogist.models.textcat import chain_probabilities, softmax

    taxonomy = Taxonomy.from_paths(
        [("A", "a1", "x"), ("A", "a1", "y"), ("A", "a2", "z"), ("B", "b1", "w")], ("category", "sub_category", "type")
    )
    scores = [np.array([[2.0, 0.5]]), np.array([[1.0, -1.0, 0.3]]), np.array([[0.2, 0.1, 0.4, 0.0]])]

    leaves = chain_probabilities(taxonomy, scores, (1.0, 1.0, 1.0))

    assert np.isclose(leaves.sum(), 1.0)
    category = taxonomy.level_probabilities(leaves, "category")
    assert np.allclose(category, softmax(scores[0]))
    assert np.isclose(leaves[0, 3], category[0, 1])  # B has one sub-category and one type


def test_exact_copies_compare_a_held_out_row_with_the_label_its_training_twin_got() -> None:
    import numpy as np

    from catalogist.models.taxonomy import Taxonomy
    from catalogist_training.textcat import _exact_copies
    from catalogist_training.vendor_data import Product

    def product(index: str, name: str, path: tuple[str, str, str]) -> Product:
        return Product(index, name, "Brand", path, 10.0, 12.0)

    tea, coffee = ("Beverages", "Tea", "Green Tea"), ("Beverages", "Coffee", "Instant Coffee")
    training = [product("1", "Green Tea 100 g", tea), product("2", "Green Tea 100 g", tea)]
    held_out = [product("3", "green tea 100 g", coffee), product("4", "Filter Coffee", coffee)]
    taxonomy = Taxonomy.from_paths([tea, coffee], ("category", "sub_category", "type"))
    probabilities = np.array([[0.0, 1.0], [1.0, 0.0]])  # leaves sorted: coffee, tea

    copies = _exact_copies(taxonomy, held_out, training + held_out, {"1", "2"}, probabilities)

    assert (copies["rows"], copies["share"]) == (1, 0.5)
    assert copies["label_of_the_training_copy"] == {"category": 1.0, "sub_category": 0.0, "type": 0.0}
    assert copies["model"] == {"category": 1.0, "sub_category": 0.0, "type": 0.0}
