"""Does a threshold rule keep its precision promise on photos it was not calibrated on?

    python -m catalogist_training.promise --run /work/runs/classifier/current-s7

Reads a finished run's int8 predictions (`eval-val/`, `eval-holdout/`: probabilities.npy and
predictions.jsonl), then many times over splits val at random, calibrates on one part (`--fit-share`
of it, plus the held-out tail of train for the rules that use it) and decides the rest. The
hidden test split showed the failure this guards against: thresholds fitted to 98% on val's point
estimate gave 95.3% there. Val's halves share shopping sessions with each other, so this is a
lenient check of the shift, but an honest one of the calibration noise.
"""

import argparse
import json
from pathlib import Path

import numpy as np

from catalogist.models.taxonomy import Taxonomy
from catalogist_training.calibrate import calibrate, decision_precision

RELEASE_RULE = "95% lower bound on val + holdout"  # what the export does
RULES = {
    # name: (calibrate on the holdout too, lower-bound confidence or None for the point estimate)
    "point estimate on val (the old rule)": (False, None),
    "point estimate on val + holdout": (True, None),
    "95% lower bound on val": (False, 0.95),
    "95% lower bound on val + holdout": (True, 0.95),
}


def load_predictions(folder: Path, taxonomy: Taxonomy) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, true leaf indices) of one evaluated split, in the same photo order."""
    probabilities = np.load(folder / "probabilities.npy")
    truth = [json.loads(line)["truth"] for line in (folder / "predictions.jsonl").open()]
    return probabilities, np.array([taxonomy.leaf_index(tuple(t.split("/"))) for t in truth])


def check_rules(
    taxonomy: Taxonomy,
    val: tuple[np.ndarray, np.ndarray],
    holdout: tuple[np.ndarray, np.ndarray],
    repeats: int = 200,
    fit_share: float = 0.5,
    target: float = 0.98,
    seed: int = 0,
    rules: dict[str, tuple[bool, float | None]] | None = None,
) -> dict:
    """Per rule, pooled over `repeats` random splits of val: the share of the unseen part decided
    without review, the precision of those decisions, and how often a part fell below `target`."""
    rules = rules or RULES
    rng = np.random.default_rng(seed)
    found = {name: {"decided": 0, "right": 0, "photos": 0, "parts_below_target": 0} for name in rules}
    for _ in range(repeats):
        order = rng.permutation(len(val[1]))
        cut = round(len(order) * fit_share)
        fit, check = order[:cut], order[cut:]
        for name, (with_holdout, bound) in rules.items():
            p_fit, t_fit = val[0][fit], val[1][fit]
            if with_holdout:
                p_fit, t_fit = np.concatenate([p_fit, holdout[0]]), np.concatenate([t_fit, holdout[1]])
            calibrated = calibrate(taxonomy, p_fit, t_fit, target, bound)
            automatic = decision_precision(calibrated, val[0][check], val[1][check])["automatic"]
            tally = found[name]
            tally["decided"] += automatic["decided"]
            tally["right"] += round((automatic["precision"] or 0) * automatic["decided"])
            tally["photos"] += len(check)
            tally["parts_below_target"] += automatic["decided"] > 0 and automatic["precision"] < target
    return {
        name: {
            "decided_rate": tally["decided"] / tally["photos"],
            "precision": tally["right"] / tally["decided"] if tally["decided"] else None,
            "share_of_parts_below_target": tally["parts_below_target"] / repeats,
        }
        for name, tally in found.items()
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, type=Path, help="a finished training run (release/, eval-*/)")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--fit-share", type=float, default=0.5, help="share of val calibrated on")
    args = parser.parse_args()
    tree = Taxonomy.load(args.run / "release" / "taxonomy.json")
    result = check_rules(
        tree,
        load_predictions(args.run / "eval-val", tree),
        load_predictions(args.run / "eval-holdout", tree),
        args.repeats,
        args.fit_share,
    )
    print(json.dumps(result, indent=2))
