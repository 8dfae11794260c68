"""Releases made before trees could hold mixed depths padded short paths with repeated names;
renaming them keeps the model and its output order, and the function still opens the release."""

import json
import shutil

import numpy as np

from catalogist.models.classifier import PhotoClassifier
from catalogist.models.taxonomy import Taxonomy
from catalogist_training.promise import load_predictions
from catalogist_training.release_manifest import unpad_tree, unpadded
from tests.support import REPO

FIXTURE = REPO / "tests" / "fixtures" / "classifier-release"


def test_a_padded_release_is_renamed_in_output_order_and_still_opens(tmp_path):
    release = tmp_path / "release"
    shutil.copytree(FIXTURE, release)
    before = PhotoClassifier.open(release)
    pixels = np.random.default_rng(0).integers(0, 256, (before.image_size, before.image_size, 3), dtype=np.uint8)

    manifest = unpad_tree(release)

    after = PhotoClassifier.open(release)
    assert ("Fruit", "Banana") in after.taxonomy.leaves and ("Fruit", "Banana", "Banana") not in after.taxonomy.leaves
    assert after.taxonomy.leaves == tuple(unpadded(leaf) for leaf in before.taxonomy.leaves)
    assert np.array_equal(after.probabilities(pixels), before.probabilities(pixels)), "the same model"
    assert manifest["version"] != before.version and manifest["changed_after"][-1]["from_version"] == before.version
    assert manifest["changed_after"][-1]["command"].startswith("python -m catalogist_training.release_manifest unpad")
    assert manifest.get("command") == json.loads((FIXTURE / "manifest.json").read_text()).get("command"), "its training"
    assert Taxonomy.load(release / "taxonomy.json").thresholds == before.taxonomy.thresholds


def test_an_evaluation_written_before_the_tree_was_unpadded_still_reads_against_it(tmp_path):
    padded = Taxonomy.load(FIXTURE / "taxonomy.json")
    release = tmp_path / "release"
    shutil.copytree(FIXTURE, release)
    unpad_tree(release)
    renamed = Taxonomy.load(release / "taxonomy.json")
    evaluation = tmp_path / "eval-val"
    evaluation.mkdir()
    truths = [padded.leaves[i] for i in (0, len(padded.leaves) - 1, padded.leaves.index(("Fruit", "Banana", "Banana")))]
    np.save(evaluation / "probabilities.npy", np.full((len(truths), len(padded.leaves)), 1 / len(padded.leaves)))
    (evaluation / "predictions.jsonl").write_text("".join(json.dumps({"truth": "/".join(t)}) + "\n" for t in truths))

    probabilities, truth = load_predictions(evaluation, renamed)

    assert probabilities.shape == (3, len(renamed.leaves))
    assert [renamed.leaves[i] for i in truth] == [unpadded(t) for t in truths]
    assert renamed.leaves[truth[-1]] == ("Fruit", "Banana")
