"""Text categorizer: train on a few hundred rows, reload the plain files, decide, evaluate."""

import csv
import json
from pathlib import Path

from catalogist.models.releases import sha256_of
from catalogist.models.textcat import FORMER_VOTE_POWER, VOTE_POWER, TextCategorizer
from catalogist_training import vendor_cli
from catalogist_training.vendor_data import LEVELS
from tests.support import new_products_of, small_csv


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
    # the vote's power is the release's own: its combination and thresholds were fitted with it
    assert json.loads((model_dir / "release" / "textcat.json").read_text())["vote_power"] == VOTE_POWER
    assert model.neighbours.power == VOTE_POWER
    metrics = json.loads((report / "metrics.json").read_text())
    assert set(metrics["accuracy_by_level"]) == {"category", "sub_category", "type"}
    assert set(metrics["macro_f1_by_level"]) == {"category", "sub_category", "type"}
    assert metrics["accuracy_by_level"]["category"] > 0.8
    # the plain baseline, fitted in the same run on the model's own training rows, beside it
    assert set(metrics["baseline"]["accuracy_by_level"]) == set(metrics["model_minus_baseline"]) == set(LEVELS)
    # ... run to convergence, and saying so: a baseline stopped early would flatter the model
    for level, solver in metrics["baseline"]["solver"].items():
        assert solver["converged"] and solver["iterations"] < solver["max_iter"], level
    assert "NaN" not in (report / "metrics.json").read_text()
    assert "data:image/png;base64," in (report / "report.html").read_text()


def test_combined_leaf_probabilities_sum_to_one_and_follow_the_type_regression_alone() -> None:
    import numpy as np

    from catalogist.models.taxonomy import Taxonomy
    from catalogist.models.textcat import Combination, ExpertAnswers, combine

    taxonomy = Taxonomy.from_paths(
        [("A", "a1", "x"), ("A", "a1", "y"), ("A", "a2", "z"), ("B", "b1", "w")], ("category", "sub_category", "type")
    )
    type_regression = np.array([[0.1, 0.2, 0.3, 0.4]])
    answers = ExpertAnswers(
        [np.array([[0.9, 0.1]]), np.array([[0.2, 0.3, 0.5]]), type_regression], np.full((1, 4), 0.25)
    )
    mixed = Combination(((1.0, 0.5, 0.5), (1.0, 0.5, 0.5), (1.0, 0.5)), (0.3, 0.3, 1.0))
    type_alone = Combination(((1.0, 0.0, 0.0), (1.0, 0.0, 0.0), (1.0, 0.0)), (0.0, 0.0, 1.0))

    assert np.isclose(combine(taxonomy, answers, mixed).sum(), 1.0)
    assert np.allclose(combine(taxonomy, answers, type_alone), type_regression)


def test_split_keeps_every_listing_of_a_product_on_one_side() -> None:
    from catalogist_training.vendor_data import Product, product_key, split

    listings = [
        Product(str(i), name, brand, ("Beverages", "Tea", "Green Tea"), 10.0, 12.0)
        for i, (name, brand) in enumerate(
            [(f"Green Tea {n} g", "Tetley") for n in range(300)] * 2
            + [(f"green  tea {n} G", "TETLEY ") for n in range(300)]
        )
    ]

    parts = split(listings)

    side: dict[str, str] = {}
    for part, products in parts.items():
        for product in products:
            assert side.setdefault(product_key(product), part) == part
    assert all(parts[part] for part in ("train", "validation", "test"))


def test_a_reviewed_row_decides_its_twin_after_retraining(tmp_path: Path) -> None:
    data = small_csv(tmp_path)
    with data.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    coffee = next(r for r in rows if r["sub_category"] != "Tea" and r["category"] == "Beverages")
    tea = next(r for r in rows if r["sub_category"] == "Tea" and r["product"] != coffee["product"])
    # an admin corrected the tea to the coffee's type (a wrong label on purpose: the review must win)
    reviewed = {**tea, "category": coffee["category"], "sub_category": coffee["sub_category"], "type": coffee["type"]}
    reviews = tmp_path / "reviews.csv"
    with reviews.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerow(reviewed)
    model_dir = tmp_path / "model"

    arguments = ["train", "textcat", "--data", str(data), "--out", str(model_dir), "--extra", str(reviews)]
    assert vendor_cli.main(arguments) == 0

    twin = TextCategorizer.open(model_dir).decide(tea["product"].upper() + "  ", " " + tea["brand"].lower())
    assert twin.category_path == (coffee["category"], coffee["sub_category"], coffee["type"])


def test_the_reference_releases_combination_reads_and_writes_back_as_committed() -> None:
    from catalogist.models.taxonomy import Taxonomy
    from catalogist.models.textcat import Combination

    release = Path(__file__).resolve().parents[2] / "models" / "textcat"
    written = json.loads((release / "textcat.json").read_text())["combination"]
    levels = Taxonomy.load(release / "taxonomy.json").levels

    assert Combination.from_json(written).to_json(levels) == written
    assert list(Combination.from_json(written).to_json(levels)) == [*LEVELS, "leaf"]  # its keys' order too


def test_a_tree_two_to_six_levels_deep_trains_and_decides_each_leaf_at_its_own_depth(tmp_path: Path) -> None:
    leaves = {
        "orange juice": ("Drinks", "Juice"),
        "cheddar cheese": ("Food", "Dairy", "Cheese"),
        "steel induction pan": ("Home", "Kitchen", "Cookware", "Pans", "Induction", "Steel"),
    }
    data = tmp_path / "tree.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        table = csv.writer(handle)
        table.writerow(["sku", "name", "brand", *(f"level {depth}" for depth in range(1, 7))])
        for i in range(240):
            name, path = list(leaves.items())[i % 3]
            table.writerow([f"S-{i}", f"{name} {i} pack", f"Brand {i % 7}", *path, *[""] * (6 - len(path))])

    trained = ["train", "textcat", "--data", str(data), "--out", str(tmp_path / "model"), "--folds", "2"]
    assert vendor_cli.main(trained) == 0

    model = TextCategorizer.open(tmp_path / "model")
    assert model.taxonomy.levels == tuple(f"level {depth}" for depth in range(1, 7))  # the store's column names
    for name, path in leaves.items():
        assert model.decide(f"{name} 1000 pack", "Brand 3").category_path == path


def test_the_baseline_takes_lbfgs_only_where_its_memory_fits() -> None:
    from catalogist_training.textcat import LBFGS_BYTES_PER_WEIGHT, baseline_solver

    types_by_ngrams = 536 * 110_894  # BigBasket's type level: ~16 GB of L-BFGS state
    assert baseline_solver(types_by_ngrams, available=23 * 10**9) == "lbfgs"
    assert baseline_solver(types_by_ngrams, available=16 * 10**9) == "saga"
    assert baseline_solver(1_000, available=int(1_000 * LBFGS_BYTES_PER_WEIGHT / 0.8)) == "lbfgs"


def test_a_product_listed_many_times_votes_calibrates_and_is_learnt_once(tmp_path: Path, monkeypatch) -> None:
    """A generated catalogue lists each real product, then its perturbed copies (`group` names
    the source). The vote indexes one listing per product, the regressions see EPOCHS passes
    over the products (not over the rows), and the out-of-fold experts that calibrate the
    release learn from each product's first listing only: a copy borrows words and brands of
    other products, so experts fitted on copies would have seen the calibration fold's words."""
    from catalogist_training import scale_rows, textcat
    from catalogist_training.catalogue import GUESSED
    from catalogist_training.vendor_data import product_key, split_key, training_rows

    real = small_csv(tmp_path, rows=300)
    generated = tmp_path / "generated.csv"
    scale_rows.write(real, 1_500, generated, 0)
    learnt, visits = [], []
    out_of_fold, fit_softmax = textcat.out_of_fold, textcat.fit_softmax

    def recorded_out_of_fold(taxonomy, rows, *args):
        learnt.append(rows)
        return out_of_fold(taxonomy, rows, *args)

    def recorded_fit_softmax(*args, **kwargs):
        visits.append(kwargs["visits"])
        return fit_softmax(*args, **kwargs)

    monkeypatch.setattr(textcat, "out_of_fold", recorded_out_of_fold)
    monkeypatch.setattr(textcat, "fit_softmax", recorded_fit_softmax)

    config = textcat.train(generated, tmp_path / "model", folds=2)

    listed = training_rows(generated, [], GUESSED).all
    products = {split_key(p) for p in listed}
    assert len(listed) > 3 * len(products)  # copies outnumber the products they are made from
    (calibrated,) = learnt
    assert all(p.group == product_key(p) for p in calibrated)  # real rows only, each product once
    assert len(calibrated) == len(products) == config["calibration_rows"]
    assert config["experts"]["neighbour_products"] == len(products)
    assert config["train_rows"] == len(listed)
    assert visits[-1] == textcat.EPOCHS * len(products) == config["row_visits"]


def test_the_regression_visits_the_rows_asked_for_in_random_passes() -> None:
    """`visits` rows in all: ten passes by default, a part of one pass when fewer are asked
    (a catalogue of many copies per product), and the same weights for the same seed."""
    import numpy as np
    from scipy import sparse

    from catalogist_training import textcat

    features = sparse.random(600, 50, density=0.1, format="csr", random_state=0, dtype=np.float32)
    labels = np.arange(600) % 3
    default = textcat.fit_softmax(features, labels, 3, seed=1)
    ten_passes = textcat.fit_softmax(features, labels, 3, visits=textcat.EPOCHS * 600, seed=1)
    part = textcat.fit_softmax(features, labels, 3, visits=300, seed=1)

    assert (default[0] != ten_passes[0]).nnz == 0 and np.array_equal(default[1], ten_passes[1])
    assert (default[0] != part[0]).nnz > 0


def test_a_release_from_before_the_vote_power_was_recorded_votes_as_it_was_fitted(tmp_path: Path) -> None:
    data = small_csv(tmp_path)
    assert vendor_cli.main(["train", "textcat", "--data", str(data), "--out", str(tmp_path / "model")]) == 0
    release = tmp_path / "model" / "release"
    config = json.loads((release / "textcat.json").read_text())
    del config["vote_power"]
    (release / "textcat.json").write_text(json.dumps(config))
    manifest = json.loads((release / "manifest.json").read_text())
    manifest["files"]["textcat.json"] = sha256_of(release / "textcat.json")
    (release / "manifest.json").write_text(json.dumps(manifest))

    assert TextCategorizer.open(release).neighbours.power == FORMER_VOTE_POWER != VOTE_POWER


def test_a_release_built_with_the_test_split_learns_every_product_and_is_scored_only_on_others(
    tmp_path: Path, capsys
) -> None:
    from catalogist_training.catalogue import GUESSED
    from catalogist_training.textcat import product_digest, trained_on
    from catalogist_training.vendor_data import training_rows

    data = small_csv(tmp_path)
    model_dir = tmp_path / "model"
    arguments = ["train", "textcat", "--data", str(data), "--out", str(model_dir), "--include-test-split"]

    assert vendor_cli.main(arguments) == 0

    every = training_rows(data, [], GUESSED, include_test=True).all
    assert len(every) > len(training_rows(data, [], GUESSED).all)  # the test split is in it
    assert trained_on(model_dir / "release") == {product_digest(p) for p in every}
    # the file it learnt from holds nothing to score: said plainly, no empty report
    report = tmp_path / "report"
    assert (
        vendor_cli.main(["evaluate", "textcat", "--model", str(model_dir), "--data", str(data), "--out", str(report)])
        == 2
    )
    assert "learnt from (it was trained with --include-test-split)" in capsys.readouterr().err
    assert not (report / "metrics.json").exists()
    # products it never saw are scored, beside the baseline fitted on the same rows as the release
    unseen = new_products_of(data, tmp_path / "unseen.csv")
    arguments = ["evaluate", "textcat", "--model", str(model_dir), "--data", str(unseen), "--out", str(report)]
    assert vendor_cli.main(arguments) == 0
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["rows"] == 120
    assert set(metrics["baseline"]["accuracy_by_level"]) == set(LEVELS)
