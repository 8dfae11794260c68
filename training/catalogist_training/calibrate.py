"""Per-level thresholds that keep a precision promise, from predictions on photos the model never
trained on.

    catalogist calibrate classifier --release artifacts/classifier/release \
        --data ../shared/datasets/grocerystore --split val [--reviews EXPORT_DIR]

A step of the export (on the int8 model's own predictions, so the thresholds fit the model that is
served); run alone, it recalibrates a release in place and updates its manifest: once a store's
reviewed and audited photos outnumber its validation photos, they are the better evidence.

Levels are calibrated from the deepest up, each on the photos the deeper levels left undecided:
those are the hard ones, and a threshold set on all photos would let their decisions fall below
the target.

A threshold is set on a few hundred photos, and the point estimate of its precision is itself
noisy: thresholds fitted to hit 98% on the 296 validation photos gave 95.3% on unseen photos.
With `confidence` given, a threshold must instead keep the one-sided Clopper–Pearson lower bound
of its decisions' precision at or above the target. Candidate thresholds are tested in a fixed
order, from the most confident down, and the scan stops at the first one whose bound falls short
(fixed-sequence testing): taking the lowest passing threshold anywhere on the curve would pick
the luckiest of many tests, and the bound would no longer hold at the stated confidence. The
order only skips the thresholds that decide too few photos for the bound to pass even with no
mistake; that depends on how many photos they decide, not on which are right, so the test stays
valid. A level that never passes gets a threshold above 1: it decides nothing.
"""

import numpy as np

from catalogist.models.bounds import lower_bound
from catalogist.models.taxonomy import Taxonomy

NEVER = 1.01


def level_threshold(
    confidence: np.ndarray, correct: np.ndarray, target: float, bound_confidence: float | None = None
) -> float:
    """The lowest confidence at which decisions keep `target` precision: the point estimate when
    `bound_confidence` is None, its Clopper–Pearson lower bound at that confidence otherwise."""
    if len(confidence) == 0:
        return NEVER
    order = np.argsort(-confidence, kind="stable")
    sorted_confidence = confidence[order]
    right = np.cumsum(correct[order])
    decided = np.arange(1, len(order) + 1)
    # A threshold accepts a whole group of equal confidences (int8 outputs tie often), so only
    # the ends of such groups are candidate cut points.
    group_end = np.append(sorted_confidence[:-1] > sorted_confidence[1:], True)
    if bound_confidence is None:
        ok = np.nonzero((right / decided >= target) & group_end)[0]
        return float(sorted_confidence[ok[-1]]) if len(ok) else NEVER
    candidates = np.nonzero(group_end)[0]
    reachable = lower_bound(decided[candidates], decided[candidates], bound_confidence) >= target
    tested = candidates[reachable]
    passed = lower_bound(right[tested], decided[tested], bound_confidence) >= target
    if not len(passed) or not passed[0]:
        return NEVER
    last_pass = len(passed) - 1 if passed.all() else int(np.argmin(passed)) - 1
    return float(sorted_confidence[tested[last_pass]])


def calibrate(
    taxonomy: Taxonomy,
    probabilities: np.ndarray,
    true_leaves: np.ndarray,
    target: float,
    bound_confidence: float | None = None,
) -> Taxonomy:
    """The taxonomy with one threshold per level, from (N, leaves) probabilities."""
    # Confidences exactly as `Taxonomy.decide_many` computes them (rows rescaled to sum to 1 in
    # float64): a threshold is the confidence of a calibration photo, and int8 outputs put whole
    # groups of photos on it; computed from the raw float32 rows, it sat a few 1e-9 above what
    # serving computes for those same photos, which then went to review.
    probabilities = np.asarray(probabilities, dtype=np.float64)
    probabilities = probabilities / np.maximum(probabilities.sum(axis=1, keepdims=True), 1e-12)
    undecided = np.ones(len(true_leaves), bool)
    thresholds: dict[str, float] = {}
    for level in reversed(taxonomy.levels):
        level_p = taxonomy.level_probabilities(probabilities, level)
        confidence = level_p.max(axis=1)
        correct = level_p.argmax(axis=1) == taxonomy.leaf_to_node(level)[true_leaves]
        threshold = level_threshold(confidence[undecided], correct[undecided], target, bound_confidence)
        thresholds[level] = threshold
        undecided &= confidence < threshold
    return taxonomy.with_thresholds(tuple(thresholds[level] for level in taxonomy.levels))


def _precision(right: int, decided: int, bound_confidence: float) -> dict:
    return {
        "decided": decided,
        "precision": right / decided if decided else None,
        "precision_lower_bound": float(lower_bound(right, decided, bound_confidence)),
    }


def decision_precision(
    taxonomy: Taxonomy, probabilities: np.ndarray, true_leaves: np.ndarray, bound_confidence: float = 0.95
) -> dict:
    """What the thresholds do on labelled photos, decided exactly as serving decides: per level,
    for the sure decisions (every path filed without a human, whole or with a deeper level left
    to a reviewer) and for the automatic ones (no human at all): how many, the share of photos,
    the precision and its lower bound. A decision is right when its path is the start of the true
    leaf's path."""
    decisions = taxonomy.decide_many(probabilities)
    photos = len(decisions)
    right = np.array(
        [
            tuple(d.category_path) == taxonomy.leaves[t][: len(d.category_path)]
            for d, t in zip(decisions, true_leaves, strict=True)
        ],
        dtype=bool,
    )
    sure = np.array([d.sure for d in decisions], dtype=bool)
    automatic = np.array([not d.needs_review for d in decisions], dtype=bool)
    levels = {}
    for level, threshold in zip(taxonomy.levels, taxonomy.thresholds, strict=True):
        at_level = np.array([d.decided_level == level for d in decisions], dtype=bool) & sure
        levels[level] = {
            "threshold": threshold,
            **_precision(int(right[at_level].sum()), int(at_level.sum()), bound_confidence),
            "decided_rate": float(at_level.mean()) if photos else 0.0,
        }
    return {
        "photos": photos,
        "bound_confidence": bound_confidence,
        "levels": levels,
        "sure": {
            **_precision(int(right[sure].sum()), int(sure.sum()), bound_confidence),
            "decided_rate": float(sure.mean()) if photos else 0.0,
        },
        "automatic": {
            **_precision(int(right[automatic].sum()), int(automatic.sum()), bound_confidence),
            "decided_rate": float(automatic.mean()) if photos else 0.0,
        },
    }


def calibration_record(
    taxonomy: Taxonomy,
    probabilities: np.ndarray,
    true_leaves: np.ndarray,
    calibrated_on: list[str],
    target: float,
    bound_confidence: float | None,
) -> dict:
    """The manifest's account of a calibration: the rule, the photos, and what it decides on them."""
    return {
        "calibrated_on": calibrated_on,
        "target_precision": target,
        "rule": "point estimate" if bound_confidence is None else "Clopper-Pearson lower bound, fixed sequence",
        **decision_precision(taxonomy, probabilities, true_leaves, bound_confidence or 0.95),
    }


def photos_needed(target: float, confidence: float, mistakes: int = 0) -> int:
    """How many photos a level must decide, with `mistakes` wrong, before the lower bound of its
    precision at `confidence` reaches `target` (0 mistakes at 98%: 35 at 50%, 80 at 80%, 149 at 95%)."""
    n = mistakes + 1
    while lower_bound(n - mistakes, n, confidence) < target:
        n += 1
    return n
