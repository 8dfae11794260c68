"""Evaluate a classifier release with LiteRT: `metrics.json` and `report.html` in `--out`.

    python -m catalogist_training.cli evaluate classifier --model artifacts/classifier/release \
        --data ../shared/datasets/grocerystore --split val --out artifacts/classifier/eval-val

Runs exactly what the functions run (`PhotoClassifier`: same decoding, preprocessing, int8 model,
thresholds) on every photo of the split, then on corrupted copies (`corruptions.py`). Rates and
accuracies are fractions in 0..1.
"""

import io
import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from catalogist.imaging import decode_photo, preprocess
from catalogist.models.classifier import MODEL_FILE, PhotoClassifier
from catalogist_training.calibrate import decision_precision
from catalogist_training.corruptions import CORRUPTIONS
from catalogist_training.datasets import LabelledPhoto

TIMING_PHOTOS = 100
RELIABILITY_BINS = 10
BOUND_CONFIDENCE = 0.95


def _accuracy(probabilities, truth, taxonomy, level) -> float:
    predicted = taxonomy.level_probabilities(probabilities, level).argmax(axis=1)
    return float((predicted == taxonomy.leaf_to_node(level)[truth]).mean())


def expected_calibration_error(confidence, correct, bins=RELIABILITY_BINS) -> float:
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            error += members.mean() * abs(confidence[members].mean() - correct[members].mean())
    return float(error)


def decision_metrics(classifier, probabilities, truth) -> dict:
    """The decisions serving would make: how many skip review, how precise they are, and the
    one-sided 95% lower bound of that precision (the promise is made on the bound, calibrate.py)."""
    taxonomy = classifier.taxonomy
    found = decision_precision(taxonomy, probabilities, truth, BOUND_CONFIDENCE)
    decided_at = [d.decided_level for d in taxonomy.decide_many(probabilities)]
    automatic, leaf = found["automatic"], found["levels"][taxonomy.levels[-1]]
    return {
        "auto_accept_rate": automatic["decided_rate"],
        "auto_accept_precision": automatic["precision"],
        "auto_accept_precision_lower_bound": automatic["precision_lower_bound"],
        "auto_accept_count": automatic["decided"],
        "leaf_accept_rate": leaf["decided_rate"],
        "leaf_accept_precision": leaf["precision"],
        "decided_levels": {level: decided_at.count(level) for level in taxonomy.levels},  # reviewed or not
        "decisions_by_level": found["levels"],
    }


def time_classifier(release: Path, photos: list[LabelledPhoto]) -> dict:
    """Bytes to decision on one thread, as a function instance runs it (no TTA)."""
    single = PhotoClassifier.open(release, num_threads=1)
    blobs = [p.path.read_bytes() for p in photos[:TIMING_PHOTOS]]
    # A 1-megapixel phone JPEG, the serving budget's reference photo.
    buffer = io.BytesIO()
    decode_photo(blobs[0]).resize((1000, 1000)).save(buffer, "JPEG", quality=90)
    megapixel = buffer.getvalue()

    def p50(blob_list) -> float:
        times = []
        for blob in blob_list:
            started = time.perf_counter()
            single.classify(blob)
            times.append(1000 * (time.perf_counter() - started))
        return statistics.median(times)

    p50(blobs[:5])  # warm-up: first invokes allocate and pack weights
    return {"ms_per_image": round(p50(blobs), 2), "ms_per_1mp_jpeg_p50": round(p50([megapixel] * 50), 2)}


def write_predictions(path: Path, photos: list[LabelledPhoto], probabilities: np.ndarray, taxonomy) -> None:
    """One line per photo: the decision the function would write, to compare serving with."""
    with path.open("w") as stream:
        for photo, row in zip(photos, probabilities, strict=True):
            decision = taxonomy.decide(row)
            stream.write(
                json.dumps(
                    {
                        "image": str(photo.path),
                        "truth": "/".join(photo.category_path),
                        "category_path": "/".join(decision.category_path),
                        "decided_level": decision.decided_level,
                        "confidence": decision.confidence,
                        "needs_review": decision.needs_review,
                        "best_leaf": "/".join(decision.alternatives[0].category_path),
                    }
                )
                + "\n"
            )


def evaluate_release(
    release: Path,
    photos: Sequence[LabelledPhoto],
    out: Path,
    split: str,
    tta: str = "none",
    threads: int = 1,
    robustness: bool = True,
) -> dict:
    from catalogist_training.report import write_report

    out.mkdir(parents=True, exist_ok=True)
    classifier = PhotoClassifier.open(release, num_threads=threads, tta=tta)
    taxonomy, size = classifier.taxonomy, classifier.image_size
    known = set(taxonomy.leaves)
    dropped = sum(p.category_path not in known for p in photos)
    photos = [p for p in photos if p.category_path in known]
    truth = np.array([taxonomy.leaf_index(p.category_path) for p in photos])
    images = [
        decode_photo(p.path.read_bytes(), target_size=size)
        for p in tqdm(photos, desc=f"decoding {split}", unit="photo", leave=False)
    ]

    def predict(corrupt=None, desc="clean") -> np.ndarray:
        rows = []
        for i, image in enumerate(tqdm(images, desc=desc, unit="photo", leave=False)):
            shown = corrupt(image, i, images) if corrupt else image
            rows.append(classifier.probabilities(preprocess(shown, size)))
        return np.stack(rows)

    probabilities = predict()
    write_predictions(out / "predictions.jsonl", photos, probabilities, taxonomy)
    fine, top = taxonomy.levels[-1], taxonomy.levels[0]
    coarse = taxonomy.levels[-2] if len(taxonomy.levels) > 1 else fine
    top5 = np.argsort(-probabilities, axis=1)[:, :5]
    clean = _accuracy(probabilities, truth, taxonomy, fine)
    confidence = probabilities.max(axis=1)
    metrics = {
        "split": split,
        "photos": len(photos),
        "photos_of_unknown_categories_dropped": dropped,
        "tta": tta,
        "fine_accuracy": clean,
        "coarse_accuracy": _accuracy(probabilities, truth, taxonomy, coarse),
        "top_accuracy": _accuracy(probabilities, truth, taxonomy, top),
        "fine_top5_accuracy": float((top5 == truth[:, None]).any(axis=1).mean()),
        "fine_expected_calibration_error": expected_calibration_error(confidence, probabilities.argmax(1) == truth),
        **decision_metrics(classifier, probabilities, truth),
        "thresholds": dict(zip(taxonomy.levels, taxonomy.thresholds, strict=True)),
        "model_bytes": (release / MODEL_FILE).stat().st_size,
        "model_version": classifier.version,
    }
    corrupted = {}
    if robustness:
        for name, corrupt in CORRUPTIONS.items():
            corrupted[name] = predict(corrupt, name)
        metrics["robustness"] = {n: _accuracy(p, truth, taxonomy, fine) for n, p in corrupted.items()}
        metrics["robustness_mean_ratio"] = float(np.mean(list(metrics["robustness"].values())) / clean)
    metrics.update(time_classifier(release, photos))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    np.save(out / "probabilities.npy", probabilities)
    write_report(out / "report.html", metrics, taxonomy, photos, images, probabilities, truth)
    return metrics
