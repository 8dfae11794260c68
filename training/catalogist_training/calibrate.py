"""Per-level thresholds for a target precision, from predictions on validation photos.

    python -m catalogist_training.calibrate --model artifacts/classifier/release \
        --data ../shared/datasets/grocerystore --split val --target-precision 0.98

A step of the export (on the int8 model's own validation predictions, so the thresholds fit the
model that is served); run alone, it recalibrates a release in place and updates its manifest.

Levels are calibrated from the deepest up, each on the photos the deeper levels left undecided:
those are the hard ones, and a threshold set on all photos would let their decisions fall below
the target. The threshold of a level is the lowest confidence at which its decisions are right
at the target rate; a level that never gets there gets a threshold above 1.
"""

import argparse
import json
from pathlib import Path

import numpy as np

from catalogist.models.taxonomy import Taxonomy

NEVER = 1.01


def level_threshold(confidence: np.ndarray, correct: np.ndarray, target: float) -> float:
    if len(confidence) == 0:
        return NEVER
    order = np.argsort(-confidence, kind="stable")
    sorted_confidence = confidence[order]
    precision = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    # A threshold accepts a whole group of equal confidences (int8 outputs tie often), so only
    # the ends of such groups are candidate cut points.
    group_end = np.append(sorted_confidence[:-1] > sorted_confidence[1:], True)
    ok = np.nonzero((precision >= target) & group_end)[0]
    if len(ok) == 0:
        return NEVER
    return float(sorted_confidence[ok[-1]])


def calibrate(taxonomy: Taxonomy, probabilities: np.ndarray, true_leaves: np.ndarray, target: float) -> Taxonomy:
    """The taxonomy with one threshold per level, from (N, leaves) probabilities."""
    undecided = np.ones(len(true_leaves), bool)
    thresholds: dict[str, float] = {}
    for level in reversed(taxonomy.levels):
        level_p = taxonomy.level_probabilities(probabilities, level)
        confidence = level_p.max(axis=1)
        correct = level_p.argmax(axis=1) == taxonomy.leaf_to_node(level)[true_leaves]
        threshold = level_threshold(confidence[undecided], correct[undecided], target)
        thresholds[level] = threshold
        undecided &= confidence < threshold
    return taxonomy.with_thresholds(tuple(thresholds[level] for level in taxonomy.levels))


def recalibrate_release(release: Path, data: Path, split: str, target: float) -> Taxonomy:
    from catalogist.models.classifier import TAXONOMY_FILE, PhotoClassifier
    from catalogist.photos.imaging import photo_pixels
    from catalogist_training.datasets import load_split
    from catalogist_training.prepare import labels
    from catalogist_training.release_manifest import rewrite_manifest

    classifier = PhotoClassifier.open(release, num_threads=2)
    known = set(classifier.taxonomy.leaves)
    photos = [p for p in load_split(data, split) if p.category_path in known]
    size = classifier.image_size
    probabilities = np.stack([classifier.probabilities(photo_pixels(p.path.read_bytes(), size)) for p in photos])
    taxonomy = calibrate(classifier.taxonomy, probabilities, labels(photos, classifier.taxonomy), target)
    taxonomy.save(release / TAXONOMY_FILE)
    rewrite_manifest(release, thresholds=taxonomy.to_json()["thresholds"], calibrated_on=split, target_precision=target)
    return taxonomy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, type=Path, help="release folder")
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--split", default="val")
    parser.add_argument("--target-precision", type=float, default=0.98)
    args = parser.parse_args()
    recalibrated = recalibrate_release(args.model, args.data, args.split, args.target_precision)
    print(json.dumps(recalibrated.to_json()["thresholds"]))
