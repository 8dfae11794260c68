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
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from catalogist.errors import BadPhoto
from catalogist.imaging import decode_photo, preprocess
from catalogist.models.classifier import MODEL_FILE, PhotoClassifier
from catalogist_training.calibrate import decision_precision
from catalogist_training.corruptions import CORRUPTIONS
from catalogist_training.photo_sets import PhotoSet, records

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
    automatic, sure, leaf = found["automatic"], found["sure"], found["levels"][taxonomy.levels[-1]]
    return {
        # filed without a human: whole, or with a deeper level left to a reviewer
        "sure_rate": sure["decided_rate"],
        "sure_precision": sure["precision"],
        "sure_precision_lower_bound": sure["precision_lower_bound"],
        "auto_accept_rate": automatic["decided_rate"],
        "auto_accept_precision": automatic["precision"],
        "auto_accept_precision_lower_bound": automatic["precision_lower_bound"],
        "auto_accept_count": automatic["decided"],
        "leaf_accept_rate": leaf["decided_rate"],
        "leaf_accept_precision": leaf["precision"],
        "decided_levels": {level: decided_at.count(level) for level in taxonomy.levels},  # reviewed or not
        "decisions_by_level": found["levels"],
    }


def time_classifier(release: Path, blobs: list[bytes], tta: str = "release") -> dict:
    """Bytes to decision on one thread, as a function instance runs it (with the views it serves)."""
    single = PhotoClassifier.open(release, num_threads=1, tta=tta)
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


def write_predictions(path: Path, names: list[str], truths: list[str], probabilities: np.ndarray, taxonomy) -> None:
    """One line per photo: the decision the function would write, to compare serving with."""
    with path.open("w") as stream:
        for name, truth, row in zip(names, truths, probabilities, strict=True):
            decision = taxonomy.decide(row)
            stream.write(
                json.dumps(
                    {
                        "image": name,
                        "truth": truth,
                        "category_path": "/".join(decision.category_path),
                        "decided_level": decision.decided_level,
                        "confidence": decision.confidence,
                        "needs_review": decision.needs_review,
                        "best_leaf": "/".join(decision.alternatives[0].category_path),
                    }
                )
                + "\n"
            )


def known_images(
    photos: PhotoSet, known: set, size: int, skip: int = 0
) -> Iterator[tuple[str, tuple, Image.Image | None]]:
    """(name, category path, decoded image or None when it cannot be decoded) of each photo of a
    known category, from the `skip`-th of them to the end and then from the first: one photo
    decoded at a time, so a split of any size fits."""

    def stream(start: int, stop: int | None):
        index = -1
        for name, category, data in records(photos):
            if category not in known:
                continue
            index += 1
            if index < start:
                continue
            if stop is not None and index >= stop:
                return
            try:
                image = decode_photo(data, target_size=size)
            except BadPhoto:
                image = None
            yield name, category, image

    yield from stream(skip, None)
    if skip:
        yield from stream(0, skip)


def evaluate_release(
    release: Path,
    photos: PhotoSet,
    out: Path,
    split: str,
    tta: str = "release",
    threads: int = 1,
    robustness: bool = True,
) -> dict:
    from catalogist_training.report import example_indices, write_report

    out.mkdir(parents=True, exist_ok=True)
    classifier = PhotoClassifier.open(release, num_threads=threads, tta=tta)
    taxonomy, size = classifier.taxonomy, classifier.image_size
    known = set(taxonomy.leaves)
    counts = photos.categories()
    count = sum(n for category, n in counts.items() if tuple(category.split("/")) in known)
    dropped = sum(counts.values()) - count

    names: list[str] = []
    truth_paths: list[str] = []
    rows: list[np.ndarray] = []
    corrupted: dict[str, list[int]] = {name: [] for name in CORRUPTIONS} if robustness else {}
    unreadable = 0
    # the distractor pasted into photo i is photo (i + count // 2) % count: a second stream of the
    # same photos, started halfway, hands it over without holding the split in memory
    partners = known_images(photos, known, size, skip=count // 2) if robustness else None
    evaluated = tqdm(known_images(photos, known, size), total=count, desc=f"evaluating {split}", leave=False)
    for name, category, image in evaluated:
        partner = next(partners)[2] if partners is not None else None
        if image is None:
            unreadable += 1
            continue
        names.append(name)
        truth_paths.append("/".join(category))
        rows.append(classifier.probabilities(preprocess(image, size)))
        for corruption, damage in CORRUPTIONS.items() if robustness else ():
            index = len(names) - 1
            shown = damage(image, index, _Partner(partner or image, count))
            corrupted[corruption].append(int(classifier.probabilities(preprocess(shown, size)).argmax()))
    probabilities = np.stack(rows)
    truth = np.array([taxonomy.leaf_index(tuple(t.split("/"))) for t in truth_paths])
    write_predictions(out / "predictions.jsonl", names, truth_paths, probabilities, taxonomy)
    fine, top = taxonomy.levels[-1], taxonomy.levels[0]
    coarse = taxonomy.levels[-2] if len(taxonomy.levels) > 1 else fine
    top5 = np.argsort(-probabilities, axis=1)[:, :5]
    clean = _accuracy(probabilities, truth, taxonomy, fine)
    confidence = probabilities.max(axis=1)
    metrics = {
        "split": split,
        "photos": len(names),
        "photos_of_unknown_categories_dropped": dropped,
        "photos_unreadable": unreadable,
        "tta": classifier.tta,
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
    if robustness:
        metrics["robustness"] = {n: float((np.array(p) == truth).mean()) for n, p in corrupted.items()}
        metrics["robustness_mean_ratio"] = float(np.mean(list(metrics["robustness"].values())) / clean)
    blobs = [data for _, _, data in islice(records(photos), TIMING_PHOTOS)]
    metrics.update(time_classifier(release, blobs, classifier.tta))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    np.save(out / "probabilities.npy", probabilities)
    wanted = set(example_indices(probabilities, truth))
    decodable = (image for _, _, image in known_images(photos, known, size) if image is not None)
    examples = {i: image for i, image in enumerate(decodable) if i in wanted}
    write_report(out / "report.html", metrics, taxonomy, examples, probabilities, truth)
    return metrics


class _Partner(Sequence[Image.Image]):
    """What a corruption sees as the other photos of the split: the one photo it pastes in."""

    def __init__(self, image: Image.Image, count: int):
        self.image, self.size = image, count

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index):  # the one photo, whichever index is asked for
        return self.image
