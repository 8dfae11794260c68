"""The release's threshold rule is chosen on photos it was not calibrated on, and its promise
states what those photos showed."""

import numpy as np

from catalogist.models.taxonomy import Taxonomy
from catalogist_training.promise import choose_rule, crossfit, statement

TREE = Taxonomy.from_paths(
    [("Fruit", "Apple", "A"), ("Fruit", "Apple", "B"), ("Fruit", "Pear", "C"), ("Milk", "Milk", "D")]
)


def predictions(photos: int, seed: int, sharpness: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 4, photos)
    logits = rng.normal(0, 1.5, (photos, 4)) + sharpness * np.eye(4)[truth]
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True), truth


def test_a_stricter_rule_decides_fewer_unseen_photos_more_precisely():
    p, t = predictions(600, 1)

    point = crossfit(TREE, p, t, None, 0.98, repeats=10)
    bound = crossfit(TREE, p, t, 0.95, 0.98, repeats=10)

    assert 0 < bound["decided_rate"] <= point["decided_rate"] <= 1
    assert bound["precision"] >= point["precision"]
    assert point["precision_p10"] <= point["precision"] <= point["precision_p90"]


def test_the_rule_that_keeps_the_target_on_unseen_parts_and_decides_most_is_chosen():
    p, t = predictions(800, 2)

    choice = choose_rule(TREE, p, t, 0.98, repeats=20)

    chosen = choice["candidates"][choice["rule"]]
    assert choice["held_at_target"] and chosen["precision"] >= 0.98
    keeping = [c for c in choice["candidates"].values() if c["precision"] and c["precision"] >= 0.98]
    assert chosen["automatic_rate"] == max(c["automatic_rate"] for c in keeping)
    assert f"{chosen['precision']:.1%} of the categories filed without a human were right" in statement(choice, 0.98)


def test_when_no_rule_keeps_the_target_the_promise_says_what_was_measured_not_the_target():
    p, t = predictions(300, 3, sharpness=1.0)  # a weak model: nothing is 98% right

    choice = choose_rule(TREE, p, t, 0.98, repeats=10)

    assert not choice["held_at_target"]
    said = statement(choice, 0.98)
    assert "98.0%" not in said and ("right" in said or "no decision is automatic" in said)
