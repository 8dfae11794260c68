"""Float Keras model to a release: int8 TFLite + calibrated taxonomy.json + manifest.json.

    python -m catalogist_training.cli train classifier --data DIR --out artifacts/classifier
    (export runs after training; rerunning the command resumes and re-exports)

The int8 model is what the functions serve, so it is re-evaluated with LiteRT on the test-time
views it will serve (`tta`), its thresholds are calibrated on its own predictions for the
validation photos (sessions training never saw; the held-out tail of train shares them and is
only checked), with the rule that kept the target on unseen splits of them (`promise.py`), and
the release states that promise. It is refused when int8 loses more than `max_gap` fine accuracy
against the float TFLite model on validation.
"""

import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from catalogist.errors import BadPhoto
from catalogist.imaging import photo_pixels
from catalogist.models.classifier import MODEL_FILE, TAXONOMY_FILE, TFLiteModel, tta_views
from catalogist.models.kinds import CLASSIFIER
from catalogist.models.releases import MANIFEST, sha256_of
from catalogist.models.taxonomy import Taxonomy
from catalogist_training.calibrate import calibrate, calibration_record
from catalogist_training.config import TrainConfig
from catalogist_training.photo_sets import PhotoSet, records
from catalogist_training.prepare import RunPhotos
from catalogist_training.promise import choose_rule, statement
from catalogist_training.release_manifest import write_manifest
from catalogist_training.train_classifier import load_trained

FLOAT_FILE = "model_float.tflite"


class ReleaseRefused(Exception):
    """The exported model failed its gate; nothing is published."""


def served_pixels(photos: PhotoSet, size: int) -> Iterator[tuple[str, tuple[str, ...], np.ndarray]]:
    """(name, category path, model input) of each photo, decoded as serving decodes it; a photo
    that cannot be decoded is left out (training skipped it too)."""
    for name, category, data in records(photos):
        try:
            yield name, category, photo_pixels(data, size)
        except BadPhoto:
            continue


def convert(
    model_path: Path, representative: Callable[[], Iterable[np.ndarray]], backbone: str = "lite0"
) -> tuple[bytes, bytes]:
    """(int8 with uint8 input and output, float) TFLite flatbuffers of a Keras model; the int8
    ranges are set from the model inputs `representative()` yields."""
    model = load_trained(model_path, backbone)
    with tempfile.TemporaryDirectory() as tmp:
        saved = Path(tmp) / "saved_model"
        model.export(str(saved), format="tf_saved_model", verbose=False)
        float_model = tf.lite.TFLiteConverter.from_saved_model(str(saved)).convert()
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
        converter.optimizations = [tf.lite.Optimize.DEFAULT]

        def representative_dataset():
            for pixels in tqdm(representative(), desc="int8 calibration", unit="photo", leave=False):
                yield [pixels[None].astype(np.float32)]

        converter.representative_dataset = representative_dataset
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
        int8_model = converter.convert()
    return int8_model, float_model


def predict_both(
    int8_path: Path, float_path: Path, photos: PhotoSet, taxonomy: Taxonomy, size: int, tta: str, desc: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(int8 probabilities, float probabilities, true leaves) of a set, one photo decoded at a
    time, each the average over the test-time views serving will compute (`tta`)."""
    int8_model, float_model = TFLiteModel(int8_path, num_threads=2), TFLiteModel(float_path, num_threads=2)
    int8_rows, float_rows, truth = [], [], []
    for _name, category, pixels in tqdm(served_pixels(photos, size), total=len(photos), desc=desc, leave=False):
        views = tta_views(pixels, tta)
        int8_rows.append(np.mean([int8_model.probabilities(view) for view in views], axis=0))
        float_rows.append(np.mean([float_model.probabilities(view) for view in views], axis=0))
        truth.append(taxonomy.leaf_index(category))
    return np.stack(int8_rows), np.stack(float_rows), np.array(truth, np.int32)


def borrowed_thresholds(taxonomy: Taxonomy, release: Path) -> tuple[Taxonomy, dict]:
    """The thresholds of another release of the same tree, with the account of their calibration:
    a refit trained on every labelled photo keeps those of the run that held some out."""
    theirs = Taxonomy.load(release / TAXONOMY_FILE)
    if (theirs.levels, theirs.leaves) != (taxonomy.levels, taxonomy.leaves):
        raise ValueError(f"{release} was trained on another category tree; its thresholds do not apply")
    manifest = json.loads((release / MANIFEST).read_text())
    record = {
        **manifest.get("calibration", {}),
        "release_version": manifest["version"],
        "release": str(release),
        "release_command": manifest.get("command"),  # with changed_after, how to rebuild those thresholds
        "release_changed_after": manifest.get("changed_after", []),
    }
    return taxonomy.with_thresholds(theirs.thresholds), record


def export_release(model_path: Path, run: RunPhotos, config: TrainConfig) -> dict:
    """Write `<out>/release/` (and `<out>/float/`); returns the manifest or raises ReleaseRefused."""
    out = Path(config.out)
    release, float_dir = out / "release.partial", out / "float"
    shutil.rmtree(release, ignore_errors=True)
    release.mkdir(parents=True)
    float_dir.mkdir(exist_ok=True)

    # An even spread over the training photos (0: all): the int8 ranges must cover every
    # category, and fewer photos leave int8 further below float (docs/experiments.md).
    representative = run.train.sample(config.representative_photos, config.seed)
    started = time.time()
    int8_bytes, float_bytes = convert(
        model_path, lambda: (pixels for *_, pixels in served_pixels(representative, config.image_size)), config.backbone
    )
    (release / MODEL_FILE).write_bytes(int8_bytes)
    (float_dir / FLOAT_FILE).write_bytes(float_bytes)

    check: dict[str, PhotoSet] = {"val": run.val, "holdout": run.holdout}
    if not (len(run.val) or len(run.holdout)):
        # a refit has no unseen photos left; how far int8 strays from float can still be measured
        # on photos it trained on (a fidelity check, not an accuracy)
        check = {"trained_on_extra": run.extra}
    metrics: dict = {}
    int8_predictions: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, photos in check.items():
        if not len(photos):
            continue
        int8_p, float_p, truth = predict_both(
            release / MODEL_FILE,
            float_dir / FLOAT_FILE,
            photos,
            run.taxonomy,
            config.image_size,
            config.tta,
            f"checking {name}",
        )
        metrics[f"{name}_int8_fine_accuracy"] = float((int8_p.argmax(1) == truth).mean())
        metrics[f"{name}_float_fine_accuracy"] = float((float_p.argmax(1) == truth).mean())
        int8_predictions[name] = (int8_p, truth)
    gate_split = next(name for name in check if len(check[name]))
    gap = metrics[f"{gate_split}_float_fine_accuracy"] - metrics[f"{gate_split}_int8_fine_accuracy"]

    promise = None
    # A photo is filed whole only at its leaf: a sure coarse category files it with the variety
    # left to a reviewer (the store lists products under leaves).
    tree = replace(run.taxonomy, accept_level=run.taxonomy.levels[-1])
    if config.thresholds_from:
        taxonomy, calibration = borrowed_thresholds(tree, Path(config.thresholds_from))
        calibrated_on = [f"{calibration['release_version']} ({config.thresholds_from})"]
    else:
        # Photos of sessions training never saw (val and reviewed exports); the held-out tail of
        # train shares sessions with training and only stands in when there is nothing else.
        calibrated_on = ["val"] if "val" in int8_predictions else list(int8_predictions)
        probabilities = np.concatenate([int8_predictions[name][0] for name in calibrated_on])
        truth = np.concatenate([int8_predictions[name][1] for name in calibrated_on])
        bound: float | None = config.bound_confidence or None
        fitted = config.target_precision
        if config.calibration_rule == "crossfit":
            choice = choose_rule(tree, probabilities, truth, config.target_precision, seed=config.seed)
            bound, fitted = choice["bound_confidence"], choice["fitted_target"]
            promise = {
                "statement": statement(choice, config.target_precision),
                "calibrated_on": calibrated_on,
                **choice,
            }
        taxonomy = calibrate(tree, probabilities, truth, fitted, bound)
        calibration = calibration_record(taxonomy, probabilities, truth, calibrated_on, fitted, bound)
    taxonomy.save(release / TAXONOMY_FILE)

    manifest = write_manifest(
        release,
        CLASSIFIER,
        float_model={"path": f"../float/{FLOAT_FILE}", "sha256": sha256_of(float_dir / FLOAT_FILE)},
        model_bytes=len(int8_bytes),
        image_size=config.image_size,
        metrics=metrics,
        int8_vs_float_gap={"split": gate_split, "fine_accuracy_points": round(100 * gap, 2)},
        calibrated_on="+".join(calibrated_on),
        thresholds=taxonomy.to_json()["thresholds"],
        calibration=calibration,
        promise=promise,
        tta=config.tta,
        export_seconds=round(time.time() - started, 1),
        config=config.to_json(),
    )
    if gap > config.max_gap:
        raise ReleaseRefused(
            f"int8 model is {100 * gap:.1f} points below float on {gate_split} "
            f"(limit {100 * config.max_gap:.1f}); release left unpublished in {release}"
        )
    final = out / "release"
    shutil.rmtree(final, ignore_errors=True)
    release.rename(final)
    return manifest
