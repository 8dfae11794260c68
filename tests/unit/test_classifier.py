"""Loading a model release: checksums, LiteRT inference, decisions, test-time augmentation."""

import io
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from catalogist.errors import BadPhoto, ModelError
from catalogist.imaging import photo_pixels
from catalogist.models.classifier import PhotoClassifier, tta_views

RELEASE = Path(__file__).parents[1] / "fixtures" / "classifier-release"


@pytest.fixture
def release(tmp_path) -> Path:
    copy = tmp_path / "release"
    shutil.copytree(RELEASE, copy)
    return copy


def jpeg(width=120, height=90) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 180, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_release_classifies_a_photo_into_a_path_of_its_tree(release):
    classifier = PhotoClassifier.open(release)

    decision = classifier.classify(jpeg())

    assert classifier.image_size == 32
    depth = len(decision.category_path)
    assert decision.category_path in {leaf[:depth] for leaf in classifier.taxonomy.leaves}
    probabilities = classifier.probabilities(photo_pixels(jpeg(), 32))
    best = np.argsort(-probabilities)[:5]
    assert [a.category_path for a in decision.alternatives] == [classifier.taxonomy.leaves[i] for i in best]
    assert [a.confidence for a in decision.alternatives] == pytest.approx(probabilities[best].tolist())


def test_probabilities_are_dequantized_and_sum_to_one(release):
    classifier = PhotoClassifier.open(release)

    p = classifier.probabilities(np.zeros((32, 32, 3), np.uint8))

    assert p.dtype == np.float32
    assert p.sum() == pytest.approx(1.0, abs=0.02)


def test_tampered_model_is_refused(release):
    with open(release / "model.tflite", "ab") as stream:
        stream.write(b"\0")

    with pytest.raises(ModelError, match="sha256"):
        PhotoClassifier.open(release)


def test_missing_file_and_missing_manifest_are_refused(release):
    (release / "taxonomy.json").unlink()
    with pytest.raises(ModelError, match=r"missing taxonomy\.json"):
        PhotoClassifier.open(release)

    (release / "manifest.json").unlink()
    with pytest.raises(ModelError, match=r"no manifest\.json"):
        PhotoClassifier.open(release)


def test_manifest_must_list_the_model(release):
    manifest = json.loads((release / "manifest.json").read_text())
    del manifest["files"]["model.tflite"]
    (release / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(ModelError, match=r"does not list model\.tflite"):
        PhotoClassifier.open(release)


def test_bad_photo_bytes_raise_bad_photo(release):
    with pytest.raises(BadPhoto):
        PhotoClassifier.open(release).classify(b"not an image")


def test_tta_views_and_averaging(release):
    pixels = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)

    flipped = tta_views(pixels, "flip")
    with_crops = tta_views(pixels, "flip_crops")
    averaged = PhotoClassifier.open(release, tta="flip").probabilities(pixels)

    assert len(flipped) == 2 and np.array_equal(flipped[1], pixels[:, ::-1])
    assert len(with_crops) == 4 and with_crops[2].shape == pixels.shape
    assert averaged.sum() == pytest.approx(1.0, abs=0.02)
    with pytest.raises(ValueError, match="tta must be one of"):
        PhotoClassifier.open(release, tta="rotate")


def test_many_threads_get_exactly_the_scores_one_thread_gets(release):
    """One instance serves concurrent requests: a shared interpreter gave photos each other's scores."""
    classifier = PhotoClassifier.open(release, max_interpreters=4)
    rng = np.random.default_rng(3)
    photos = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(40)]
    alone = [classifier.probabilities(photo) for photo in photos]

    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(classifier.probabilities, photos * 10))

    assert all(np.array_equal(scores, alone[i % len(photos)]) for i, scores in enumerate(together))
    assert classifier.model.interpreters_created <= 4
