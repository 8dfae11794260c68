"""Which threshold rule keeps its precision promise on photos it was not calibrated on, and what
promise the evidence supports.

    python -m catalogist_training.promise --run /work/runs/classifier/current-s7

A rule turns labelled predictions into per-level thresholds (`calibrate.py`): the point estimate
of precision, or its one-sided lower bound at some confidence. Which rule to trust is measured,
not assumed: many times over, the calibration photos are split at random, each rule calibrates
on one part and decides the other, and the decisions on the unseen parts are pooled.

The release takes the rule that decides the most photos while its pooled precision on unseen
parts stays at the target, and states the promise as measured there: the range the unseen
parts' precision fell in (10th to 90th percentile over the splits) with the photo count behind
it. With a few hundred calibration photos no lower bound can prove 98% (it takes ~150 photos at
one level all right for a 95% bound), so the stricter rules decide nothing; the crossfit says how
often a looser rule still keeps the promise. The calibration photos should be of sessions
training never saw (val, exported reviews): the held-out tail of train shares sessions with
training and is right at confidences where unseen photos are not (issue #29).
"""

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from catalogist.models.taxonomy import SEPARATOR, Taxonomy
from catalogist_training.calibrate import calibrate, calibration_record, decision_precision
from catalogist_training.release_manifest import unpadded

# name -> (target the thresholds are fitted to, lower-bound confidence or None for the point
# estimate); a point estimate fitted to a stricter target is a margin against calibration noise
CANDIDATES: dict[str, tuple[float, float | None]] = {
    "point estimate": (0.0, None),
    "point estimate at +0.5 points": (0.005, None),
    "point estimate at +1 point": (0.01, None),
    "50% lower bound": (0.0, 0.5),
    "80% lower bound": (0.0, 0.8),
    "95% lower bound": (0.0, 0.95),
}
REPEATS = 200
FIT_SHARE = 0.5


def load_predictions(folder: Path, taxonomy: Taxonomy) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, true leaf indices) of one evaluated split, in the same photo order. An
    evaluation written before its release's tree was unpadded (`release_manifest.unpad_tree`,
    which keeps the output order) names padded truths: they are read as their leaves."""
    probabilities = np.load(folder / "probabilities.npy")
    lines = (folder / "predictions.jsonl").read_text().splitlines()
    truth = [tuple(json.loads(line)["truth"].split(SEPARATOR)) for line in lines]
    leaves = [path if taxonomy.is_leaf(path) else unpadded(path) for path in truth]
    return probabilities, np.array([taxonomy.leaf_index(path) for path in leaves])


def crossfit(
    taxonomy: Taxonomy,
    probabilities: np.ndarray,
    truth: np.ndarray,
    bound: float | None,
    target: float,
    repeats: int = REPEATS,
    fit_share: float = FIT_SHARE,
    seed: int = 0,
    margin: float = 0.0,
) -> dict:
    """One rule over `repeats` random splits: calibrated on `fit_share` of the photos (to
    `target` + `margin`), deciding the rest. The promise covers every sure decision (a path filed
    without a human, whole or with its variety left to a reviewer): pooled share decided and
    precision, per level, each split's precision, and the share decided whole."""
    rng = np.random.default_rng(seed)
    decided = right = photos = whole = 0
    levels = {level: [0, 0] for level in taxonomy.levels}  # level -> [decided, right]
    split_precisions = []
    for _ in range(repeats):
        order = rng.permutation(len(truth))
        cut = round(len(order) * fit_share)
        fit, check = order[:cut], order[cut:]
        calibrated = calibrate(taxonomy, probabilities[fit], truth[fit], min(target + margin, 1.0), bound)
        found = decision_precision(calibrated, probabilities[check], truth[check])
        sure = found["sure"]
        n_right = round((sure["precision"] or 0) * sure["decided"])
        decided, right, photos = decided + sure["decided"], right + n_right, photos + len(check)
        whole += found["automatic"]["decided"]
        if sure["decided"]:
            split_precisions.append(n_right / sure["decided"])
        for level, figures in found["levels"].items():
            levels[level][0] += figures["decided"]
            levels[level][1] += round((figures["precision"] or 0) * figures["decided"])
    low, high = np.percentile(split_precisions, [10, 90]) if split_precisions else (None, None)
    return {
        "bound_confidence": bound,
        "margin": margin,
        "decided_rate": decided / photos if photos else 0.0,
        "automatic_rate": whole / photos if photos else 0.0,  # no human at all
        "precision": right / decided if decided else None,
        "precision_p10": float(low) if low is not None else None,
        "precision_p90": float(high) if high is not None else None,
        "splits_deciding_nothing": repeats - len(split_precisions),
        "levels": {
            level: {"decided_rate": n / photos if photos else 0.0, "precision": r / n if n else None}
            for level, (n, r) in levels.items()
        },
    }


def choose_rule(
    taxonomy: Taxonomy,
    probabilities: np.ndarray,
    truth: np.ndarray,
    target: float,
    repeats: int = REPEATS,
    fit_share: float = FIT_SHARE,
    seed: int = 0,
    candidates: dict[str, tuple[float, float | None]] | None = None,
) -> dict:
    """The rule a release calibrates with: of those whose pooled precision on unseen parts is at
    least `target`, the one deciding the most photos whole (no human at all), then the most
    filed; if none is, the one with the highest unseen precision (the release then states what
    it achieves, below the target). Whole decisions come first: a sure "Fruit" is worth less to
    a store than a sure "Fruit/Apple/Granny-Smith"."""
    candidates = candidates or CANDIDATES
    measured = {
        name: crossfit(taxonomy, probabilities, truth, bound, target, repeats, fit_share, seed, margin)
        for name, (margin, bound) in candidates.items()
    }
    holding = [name for name, m in measured.items() if m["precision"] is not None and m["precision"] >= target]
    if holding:
        chosen = max(holding, key=lambda name: (measured[name]["automatic_rate"], measured[name]["decided_rate"]))
    else:
        chosen = max(measured, key=lambda name: measured[name]["precision"] or 0.0)
    return {
        "rule": chosen,
        "fitted_target": min(target + candidates[chosen][0], 1.0),
        "bound_confidence": candidates[chosen][1],
        "held_at_target": bool(holding),
        "photos": len(truth),
        "repeats": repeats,
        "fit_share": fit_share,
        "candidates": measured,
    }


def statement(choice: dict, target: float) -> str:
    """The promise in words, as the evidence supports it."""
    found = choice["candidates"][choice["rule"]]
    if found["precision"] is None:
        return f"no decision is automatic: no rule decided any unseen photo at {target:.0%} ({choice['photos']} photos)"
    # The spread is of the splits' own precisions (a tenth of them fell below the first figure,
    # a tenth above the second), not a confidence interval of the pooled figure; and "the rest"
    # can stop at any level above the leaf, the top one included.
    return (
        f"{found['precision']:.1%} of the categories filed without a human were right on photos the thresholds "
        f"were not set on ({choice['repeats']} splits of {choice['photos']} calibration photos, thresholds set on "
        f"{choice['fit_share']:.0%} and checked on the rest; one split in ten below {found['precision_p10']:.1%}, "
        f"one in ten above {found['precision_p90']:.1%}); {found['decided_rate']:.0%} of photos filed, "
        f"{found['automatic_rate']:.0%} whole and the rest with a lower level left to a reviewer"
    )


def recalibrate_release(
    release: Path,
    photos: list,
    calibrated_on: list[str],
    target: float,
    rule: str = "crossfit",
    bound_confidence: float | None = 0.95,
) -> dict:
    """Thresholds of `release` set again on labelled `photos` (of sessions its training never
    saw: val, or the store's reviewed and audited photos), with the rule that keeps `target` on
    unseen splits of them (`rule` crossfit) or the lower bound at `bound_confidence` (fixed).
    Rewrites taxonomy.json and the manifest (thresholds, calibration, promise); returns the
    manifest's promise and calibration."""
    from catalogist.imaging import photo_pixels
    from catalogist.models.classifier import TAXONOMY_FILE, PhotoClassifier
    from catalogist_training.release_manifest import rewrite_manifest, this_command

    classifier = PhotoClassifier.open(release, num_threads=2)  # with the views the release serves
    known = set(classifier.taxonomy.leaves)
    photos = [p for p in photos if p.category_path in known]
    if not photos:
        raise ValueError("none of the photos is of a category the release knows")
    size = classifier.image_size
    probabilities = np.stack([classifier.probabilities(photo_pixels(p.read(), size)) for p in photos])
    truth = np.array([classifier.taxonomy.leaf_index(p.category_path) for p in photos], np.int32)
    promise = None
    fitted = target
    if rule == "crossfit":
        choice = choose_rule(classifier.taxonomy, probabilities, truth, target)
        bound_confidence, fitted = choice["bound_confidence"], choice["fitted_target"]
        promise = {"statement": statement(choice, target), "calibrated_on": calibrated_on, **choice}
    taxonomy = calibrate(classifier.taxonomy, probabilities, truth, fitted, bound_confidence)
    taxonomy.save(release / TAXONOMY_FILE)
    record = calibration_record(taxonomy, probabilities, truth, calibrated_on, fitted, bound_confidence)
    rewrite_manifest(
        release,
        # the release is still the one its training command built, with these thresholds on top
        this_command(),
        thresholds=taxonomy.to_json()["thresholds"],
        calibrated_on="+".join(calibrated_on),
        target_precision=target,
        calibration=record,
        promise=promise,
    )
    return {"promise": promise, "calibration": record}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, type=Path, help="a finished training run (release/, eval-val/)")
    parser.add_argument("--evaluation", default="eval-val", help="the run's evaluation folder to calibrate on")
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--fit-share", type=float, default=FIT_SHARE, help="share of the photos calibrated on")
    parser.add_argument("--target", type=float, default=0.98)
    args = parser.parse_args()
    # as the export decides photos now: whole only at the leaf (older releases accepted a level up)
    tree = Taxonomy.load(args.run / "release" / "taxonomy.json")
    tree = replace(tree, accept_level=tree.levels[-1])
    p, t = load_predictions(args.run / args.evaluation, tree)
    choice = choose_rule(tree, p, t, args.target, args.repeats, args.fit_share)
    print(json.dumps(choice, indent=2))
    print(statement(choice, args.target))
