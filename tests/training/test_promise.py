"""The promise check calibrates on one half of val and measures on the other."""

import numpy as np

from catalogist.models.taxonomy import Taxonomy
from catalogist_training.promise import check_rules


def predictions(photos: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 4, photos)
    logits = rng.normal(0, 1.5, (photos, 4)) + 4.0 * np.eye(4)[truth]
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True), truth


def test_the_bound_decides_fewer_unseen_photos_than_the_point_estimate_on_the_same_photos():
    taxonomy = Taxonomy.from_paths(
        [("Fruit", "Apple", "A"), ("Fruit", "Apple", "B"), ("Fruit", "Pear", "C"), ("Milk", "Milk", "D")]
    )

    found = check_rules(taxonomy, predictions(600, 1), predictions(400, 2), repeats=10)

    point, bound = found["point estimate on val + holdout"], found["95% lower bound on val + holdout"]
    assert 0 < bound["decided_rate"] <= point["decided_rate"] <= 1
    assert bound["precision"] >= point["precision"]
    assert all(0 <= rule["share_of_parts_below_target"] <= 1 for rule in found.values())
