"""Thresholds keep the precision promise on the lower bound, not on the point estimate."""

import numpy as np
import pytest

from catalogist.models.bounds import lower_bound
from catalogist.models.taxonomy import Taxonomy
from catalogist_training.calibrate import (
    NEVER,
    calibrate,
    decision_precision,
    level_threshold,
)

TARGET, CONFIDENCE = 0.98, 0.95


def ramp(photos: int) -> tuple[np.ndarray, np.ndarray]:
    """Confidences from 1 down to 0.3, and a model that is wrong more often the less sure it is
    (mistakes spread evenly at a rate of 0.3 * (1 - confidence)²)."""
    confidence = np.linspace(1.0, 0.3, photos)
    expected_mistakes = np.cumsum(0.3 * (1 - confidence) ** 2)
    correct = np.diff(np.floor(expected_mistakes), prepend=0) == 0
    return confidence, correct


def test_the_lower_bound_is_below_the_point_estimate_and_tightens_with_more_photos():
    few = lower_bound(99, 100, CONFIDENCE)
    many = lower_bound(990, 1000, CONFIDENCE)

    assert few < many < 0.99
    assert lower_bound(0, 10, CONFIDENCE) == 0.0
    assert lower_bound(0, 0, CONFIDENCE) == 0.0


def test_a_bound_that_cannot_reach_the_target_decides_nothing():
    # 100 photos, all right: the point estimate is 100%, but 100 photos cannot show 98% at 95%
    confidence = np.linspace(0.99, 0.5, 100)
    correct = np.ones(100, bool)

    assert level_threshold(confidence, correct, TARGET) == pytest.approx(0.5)
    assert level_threshold(confidence, correct, TARGET, CONFIDENCE) == NEVER


def test_more_calibration_photos_allow_a_lower_threshold():
    confidence, correct = ramp(600)

    few = level_threshold(confidence, correct, TARGET, CONFIDENCE)
    many = level_threshold(np.tile(confidence, 4), np.tile(correct, 4), TARGET, CONFIDENCE)

    assert many < few < NEVER


def test_the_bound_asks_for_a_higher_threshold_than_the_point_estimate():
    confidence, correct = ramp(2000)

    point = level_threshold(confidence, correct, TARGET)
    bounded = level_threshold(confidence, correct, TARGET, CONFIDENCE)

    decided = confidence >= bounded
    assert point < bounded < NEVER
    assert lower_bound(correct[decided].sum(), decided.sum(), CONFIDENCE) >= TARGET


def test_the_scan_stops_at_the_first_threshold_that_fails():
    # Two mistakes among the 200 surest photos, then 2,000 right ones: the bound over all of them
    # would pass, but only by skipping a threshold that failed on the way down.
    confidence = np.linspace(0.999, 0.5, 2200)
    correct = np.ones(2200, bool)
    correct[[10, 20]] = False

    assert lower_bound(2198, 2200, CONFIDENCE) >= TARGET
    assert level_threshold(confidence, correct, TARGET, CONFIDENCE) == NEVER


def test_a_threshold_never_splits_photos_of_equal_confidence():
    confidence = np.repeat([0.99, 0.9, 0.8], 200)
    correct = np.ones(600, bool)
    correct[400:410] = False  # 10 mistakes among the 0.8 group: 590/600 fails, 400/400 passes

    assert level_threshold(confidence, correct, TARGET, CONFIDENCE) == pytest.approx(0.9)


def tree() -> Taxonomy:
    return Taxonomy.from_paths(
        [
            ("Fruit", "Apple", "Granny-Smith"),
            ("Fruit", "Apple", "Pink-Lady"),
            ("Fruit", "Pear", "Conference"),
            ("Vegetables", "Onion", "Yellow-Onion"),
        ]
    )


def synthetic_predictions(photos: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Leaf probabilities where the two apples are often confused and the rest is easy."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 4, photos)
    logits = rng.normal(0, 1, (photos, 4)) + 8.0 * np.eye(4)[truth]
    apple = np.nonzero(truth < 2)[0]
    # the other apple about as likely: the fine level is a coin toss there, the coarse one is sure
    logits[apple, 1 - truth[apple]] = logits[apple, truth[apple]] + rng.normal(0, 0.5, len(apple))
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True), truth


def test_every_automatic_level_keeps_the_bound_on_the_calibration_photos():
    p, truth = synthetic_predictions(3000)

    taxonomy = calibrate(tree(), p, truth, TARGET, CONFIDENCE)
    found = decision_precision(taxonomy, p, truth, CONFIDENCE)

    for level in ("coarse", "fine"):
        assert found["levels"][level]["decided"] > 0
        assert found["levels"][level]["precision_lower_bound"] >= TARGET
    assert found["levels"]["top"]["decided"] == 0  # a top-level answer always goes to review
    automatic = found["automatic"]
    assert automatic["decided"] == found["levels"]["coarse"]["decided"] + found["levels"]["fine"]["decided"]
    assert automatic["precision"] >= automatic["precision_lower_bound"] >= TARGET
    assert automatic["decided_rate"] == pytest.approx(automatic["decided"] / 3000)


def test_the_coarse_level_takes_what_the_fine_level_left_undecided():
    # Apples are confused with each other but never with pears: the coarse level can accept
    # the apples the fine level could not.
    p, truth = synthetic_predictions(3000)

    taxonomy = calibrate(tree(), p, truth, TARGET, CONFIDENCE)
    decisions = taxonomy.decide_many(p)

    coarse_apples = [d for d, t in zip(decisions, truth, strict=True) if t < 2 and d.decided_level == "coarse"]
    assert coarse_apples and all(d.category_path == ("Fruit", "Apple") for d in coarse_apples)
    assert all(not d.needs_review for d in coarse_apples)


def test_the_photos_on_a_threshold_are_decided_as_the_calibration_counted_them():
    # int8 outputs: probabilities on a 1/256 grid, in float32, summing to 1 only up to rounding
    # (here a little over 1, so serving's rescaling lowers every confidence by a few 1e-7)
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 4, 400)
    logits = rng.normal(0, 1.5, (400, 4)) + 3.0 * np.eye(4)[truth]
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    p = (np.round(p * 256) / 256 * (1 + 1e-6)).astype(np.float32)

    calibrated = calibrate(tree(), p, truth, TARGET)  # the point estimate: a threshold inside the data
    decisions = calibrated.decide_many(p)

    threshold = calibrated.thresholds[-1]
    on_threshold = [d for d in decisions if d.confidence.get("fine") == threshold]
    assert threshold < NEVER and on_threshold
    assert all(d.decided_level == "fine" for d in on_threshold)
