"""The category tree and its decisions: deepest confident level, else an admin reviews."""

from dataclasses import replace

import numpy as np
import pytest

from catalogist.models.taxonomy import Taxonomy
from catalogist_training.calibrate import NEVER, calibrate, level_threshold

LEAVES = [
    ("Fruit", "Apple", "Granny-Smith"),
    ("Fruit", "Apple", "Pink-Lady"),
    ("Fruit", "Banana", "Banana"),
    ("Packages", "Milk", "Arla-Standard-Milk"),
]


def tree(thresholds=(0.9, 0.8, 0.7)) -> Taxonomy:
    return Taxonomy.from_paths(LEAVES).with_thresholds(thresholds)


def probabilities(**by_leaf: float) -> np.ndarray:
    names = [leaf[-1] for leaf in tree().leaves]
    return np.array([by_leaf.get(name.replace("-", "_"), 0.0) for name in names])


def test_levels_are_named_and_a_node_sums_its_leaves():
    taxonomy = tree()
    p = probabilities(Granny_Smith=0.4, Pink_Lady=0.3, Banana=0.2, Arla_Standard_Milk=0.1)

    coarse = dict(zip(taxonomy.nodes("coarse"), taxonomy.level_probabilities(p, "coarse"), strict=True))

    assert taxonomy.levels == ("top", "coarse", "fine")
    assert coarse[("Fruit", "Apple")] == pytest.approx(0.7)
    assert taxonomy.level_probabilities(p, "top").sum() == pytest.approx(1.0)


def test_confident_leaf_is_decided_at_the_fine_level():
    decision = tree().decide(probabilities(Granny_Smith=0.95, Pink_Lady=0.05))

    assert decision.category_path == ("Fruit", "Apple", "Granny-Smith")
    assert decision.decided_level == "fine"
    assert decision.confidence["coarse"] == pytest.approx(1.0)
    assert not decision.needs_review
    assert decision.alternatives[0].category_path == ("Fruit", "Apple", "Granny-Smith")


def test_unsure_variety_stops_at_the_sure_coarse_category():
    decision = tree().decide(probabilities(Granny_Smith=0.5, Pink_Lady=0.45, Banana=0.05))

    assert decision.category_path == ("Fruit", "Apple")
    assert decision.decided_level == "coarse"
    assert not decision.needs_review
    assert set(decision.confidence) == {"top", "coarse"}


def test_unsure_of_everything_below_the_top_needs_review_with_a_reason():
    decision = tree().decide(probabilities(Granny_Smith=0.35, Banana=0.6, Arla_Standard_Milk=0.05))

    assert decision.category_path == ("Fruit",)
    assert decision.decided_level == "top"
    assert decision.needs_review
    assert "Fruit/Banana" in decision.review_reason


def test_a_level_calibration_never_trusts_is_said_to_be_always_reviewed():
    decision = tree(thresholds=(NEVER, NEVER, 0.7)).decide(probabilities(Granny_Smith=0.6, Pink_Lady=0.4))

    assert decision.needs_review
    assert decision.review_reason.endswith("this level is always reviewed")
    assert "101%" not in decision.review_reason


def test_decision_is_always_a_path_of_the_tree():
    taxonomy = tree()
    rng = np.random.default_rng(0)
    for _ in range(200):
        decision = taxonomy.decide(rng.dirichlet(np.ones(len(LEAVES)) * 0.3))
        depth = len(decision.category_path)
        assert decision.category_path in {leaf[:depth] for leaf in LEAVES}


def test_a_batch_decides_each_row_exactly_as_it_alone_would():
    # hundreds of leaves, as in real releases: long sums are where float order shows
    paths = [(f"top{t}", f"coarse{c}", f"fine{f}") for t in range(3) for c in range(8) for f in range(20)]
    taxonomy = Taxonomy.from_paths(paths).with_thresholds((0.36, 0.07, 0.03))
    rng = np.random.default_rng(1)
    # int8-style outputs on a 1/256 grid, so sums land on the thresholds, plus smooth ones
    grid = rng.integers(0, 200, (300, len(taxonomy.leaves))) / 256
    rows = np.vstack([grid, rng.dirichlet(np.ones(len(taxonomy.leaves)) * 0.3, 300)])

    batch = taxonomy.decide_many(rows)

    assert batch == [taxonomy.decide(row) for row in rows]
    assert {d.decided_level for d in batch} == {"top", "coarse", "fine"}
    for level in taxonomy.levels:
        together = taxonomy.level_probabilities(rows, level)
        assert all(np.array_equal(together[i], taxonomy.level_probabilities(rows[i], level)) for i in range(len(rows)))


def test_json_round_trip_keeps_everything(tmp_path):
    taxonomy = tree((0.5, 0.6, 0.97))

    taxonomy.save(tmp_path / "taxonomy.json")
    loaded = Taxonomy.load(tmp_path / "taxonomy.json")

    assert loaded == taxonomy
    assert loaded.decide(probabilities(Banana=1.0)).category_path == ("Fruit", "Banana", "Banana")


def test_two_level_text_categories_work_the_same_way():
    rows = [("Beverages", "Tea"), ("Beverages", "Coffee"), ("Snacks", "Biscuits")]
    taxonomy = Taxonomy.from_paths(rows).with_thresholds((0.9, 0.9))

    # leaves sorted: Beverages/Coffee, Beverages/Tea, Snacks/Biscuits
    sure = taxonomy.decide(np.array([0.02, 0.95, 0.03]))
    unsure = taxonomy.decide(np.array([0.45, 0.5, 0.05]))

    assert taxonomy.levels == ("coarse", "fine")
    assert sure.category_path == ("Beverages", "Tea") and not sure.needs_review
    assert unsure.category_path == ("Beverages",) and unsure.needs_review


def test_calibrated_threshold_reaches_the_target_precision():
    confidence = np.array([0.99, 0.95, 0.9, 0.8, 0.7, 0.6])
    correct = np.array([True, True, True, True, False, True])

    assert level_threshold(confidence, correct, 0.98) == pytest.approx(0.8)
    assert level_threshold(confidence, ~correct, 0.98) == NEVER


def test_calibrate_sets_one_threshold_per_level():
    taxonomy = tree((0.0, 0.0, 0.0))
    p = np.array([[0.9, 0.1, 0, 0], [0.2, 0.7, 0.1, 0], [0, 0, 0.1, 0.9]])
    truth = np.array([0, 0, 3])

    calibrated = calibrate(taxonomy, p, truth, target=0.98)

    assert len(calibrated.thresholds) == 3
    assert calibrated.thresholds[2] > 0.7  # the 0.7 guess for Pink-Lady was wrong


def reference_decision(taxonomy: Taxonomy, leaf_probabilities: np.ndarray, alternatives: int = 5):
    """The decision rule written plainly, one row and one level at a time: the specification
    `Taxonomy.decide_many`'s vectorized form must match exactly."""
    p = np.asarray(leaf_probabilities, dtype=np.float64)
    p = p / max(p.sum(), 1e-12)
    levels = taxonomy.levels
    best = []
    for level in levels:
        nodes = taxonomy.level_probabilities(p, level)
        best.append((taxonomy.nodes(level)[int(nodes.argmax())], float(nodes.max())))
    decided = next((d for d in range(len(levels) - 1, -1, -1) if best[d][1] >= taxonomy.thresholds[d]), 0)
    path = best[decided][0]
    confidence = {}
    for d in range(decided + 1):
        level_nodes = taxonomy.nodes(levels[d])
        confidence[levels[d]] = float(taxonomy.level_probabilities(p, levels[d])[level_nodes.index(path[: d + 1])])
    order = sorted(range(len(p)), key=lambda j: (-p[j], j))[:alternatives]
    accept = levels.index(taxonomy.accept_level)
    needs_review = decided < accept or (decided == 0 and best[0][1] < taxonomy.thresholds[0])
    return path, levels[decided], confidence, [(taxonomy.leaves[j], float(p[j])) for j in order], needs_review


def test_the_vectorized_rule_decides_as_the_plain_one_on_every_row():
    paths = [(f"top{t}", f"coarse{c}", f"fine{f}") for t in range(3) for c in range(5) for f in range(6)]
    rng = np.random.default_rng(7)
    for thresholds in [(0.5, 0.7, 0.9), (1.01, 1.01, 0.8), (0.36, 1.01, 0.5), (0.0, 0.0, 0.0)]:
        taxonomy = Taxonomy.from_paths(paths).with_thresholds(thresholds)
        grid = rng.integers(0, 120, (200, len(taxonomy.leaves))) / 256  # ties and threshold-exact sums
        rows = np.vstack([grid, rng.dirichlet(np.ones(len(taxonomy.leaves)) * 0.2, 200)])

        for row, decision in zip(rows, taxonomy.decide_many(rows), strict=True):
            path, level, confidence, alternatives, needs_review = reference_decision(taxonomy, row)
            assert (decision.category_path, decision.decided_level, decision.needs_review) == (
                path,
                level,
                needs_review,
            )
            assert decision.confidence == pytest.approx(confidence, abs=1e-12)
            assert [(a.category_path, a.confidence) for a in decision.alternatives] == alternatives
            assert (decision.review_reason is not None) == needs_review


def test_a_level_no_threshold_can_keep_its_promise_says_so():
    never = tree(thresholds=(NEVER, NEVER, 0.7))

    decision = never.decide(probabilities(Granny_Smith=0.6, Pink_Lady=0.4))

    assert decision.review_reason.endswith("this level is always reviewed")


MIXED = Taxonomy.from_paths(
    [
        ("Drinks", "Juice"),
        ("Fresh", "Fruit", "Apple", "Granny-Smith"),
        ("Fresh", "Fruit", "Apple", "Pink-Lady"),
        ("Fresh", "Vegetables", "Onion"),
    ],
    levels=("department", "aisle", "kind", "variety"),
)


def test_a_short_leaf_is_decided_under_its_own_name_at_every_level():
    juice = MIXED.leaf_index(("Drinks", "Juice"))
    sure = np.full(4, 0.01)
    sure[juice] = 0.97

    decision = MIXED.with_thresholds((0.5, 0.5, 0.5, 0.9)).decide(sure)

    assert decision.category_path == ("Drinks", "Juice"), "never Drinks/Juice/Juice/Juice"
    assert decision.decided_level == "variety" and not decision.needs_review
    assert decision.alternatives[0].category_path == ("Drinks", "Juice")
    for level in MIXED.levels:
        assert MIXED.level_probabilities(sure, level).sum() == pytest.approx(1.0)
        assert all(len(set(node)) == len(node) for node in MIXED.nodes(level))


def test_a_deep_leaf_unsure_of_its_variety_stops_at_its_kind():
    apples = np.array([0.02, 0.5, 0.46, 0.02])  # leaves sorted: Drinks/Juice, Granny-Smith, Pink-Lady, Onion

    decision = MIXED.with_thresholds((0.5, 0.5, 0.9, 0.9)).decide(apples)

    assert decision.category_path == ("Fresh", "Fruit", "Apple") and decision.decided_level == "kind"


def test_a_category_that_is_both_a_leaf_and_a_parent_is_refused_with_its_name():
    with pytest.raises(
        ValueError, match="Drinks/Juice is both a category of its own and the parent of Drinks/Juice/Apple"
    ):
        Taxonomy.from_paths([("Drinks", "Juice"), ("Drinks", "Juice", "Apple")])


def test_a_mixed_tree_round_trips_through_its_file(tmp_path):
    MIXED.with_thresholds((0.9, 0.8, 0.7, 0.6)).save(tmp_path / "taxonomy.json")

    assert Taxonomy.load(tmp_path / "taxonomy.json") == MIXED.with_thresholds((0.9, 0.8, 0.7, 0.6))


def test_a_photo_tree_files_a_sure_coarse_category_and_leaves_the_variety_to_a_reviewer():
    photos = replace(tree(thresholds=(0.5, 0.8, 0.9)), accept_level="fine")

    decision = photos.decide(probabilities(Granny_Smith=0.5, Pink_Lady=0.45, Banana=0.05))

    assert decision.category_path == ("Fruit", "Apple") and decision.sure and decision.needs_review
    assert decision.review_reason.startswith("sure of Fruit/Apple (95%); not sure enough of the fine category")


def test_a_leaf_reached_above_the_deepest_level_is_not_reviewed():
    shallow = replace(MIXED.with_thresholds((0.5, 0.5, 0.99, 0.99)), accept_level="variety")
    juice = np.full(4, 0.02)
    juice[MIXED.leaf_index(("Drinks", "Juice"))] = 0.94

    decision = shallow.decide(juice)

    assert decision.category_path == ("Drinks", "Juice") and decision.decided_level == "aisle"
    assert not decision.needs_review, "Drinks/Juice is a leaf: nothing deeper to review"


def test_a_top_category_below_its_threshold_is_not_sure():
    decision = tree(thresholds=(0.99, 0.99, 0.99)).decide(probabilities(Granny_Smith=0.5, Arla_Standard_Milk=0.5))

    assert not decision.sure and decision.needs_review
