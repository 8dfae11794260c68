"""Training as a long run on any machine relies on it: stopped after N steps with a checkpoint
that loads, resumed where it stopped (from a bucket too), several replicas, and any SavedModel
feature vector as the backbone, exported to int8 like the built-in ones. (The Vertex AI job's own
command, in mixed precision on this CPU, is the training test_classifier_smoke.py's tests share.)

Tiny runs: the smoke recipe (4 categories, a few steps), on a tiny SavedModel backbone
(`tiny_backbone`, 64 px) where the network is not the subject (its checkpoints, resume and export
are the built-in backbones' code; mixed precision needs a built-in one); ram:// (TensorFlow's
in-memory file system) stands in for gs://, as in test_photo_input.py.
"""

import gc
import json
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from catalogist.models.classifier import PhotoClassifier
from catalogist.models.taxonomy import Taxonomy
from catalogist_training import files
from catalogist_training.cli import main
from catalogist_training.train_classifier import load_trained
from tests.support import GROCERY, tiny_backbone

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.usefixtures("grocery"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::UserWarning"),
]
CATALOGIST = str(Path(sys.executable).with_name("catalogist"))


def test_a_step_limited_run_leaves_a_loadable_checkpoint_in_a_bucket_and_the_rerun_resumes_there(tmp_path):
    bucket = f"ram://runs-{uuid.uuid4().hex}"
    pack, checkpoints, tensorboard = f"{bucket}/pack", f"{bucket}/checkpoints", f"{bucket}/tensorboard"
    out, backbone = tmp_path / "run", str(tiny_backbone(tmp_path / "backbone"))
    assert main(["prepare", "photos", "--smoke", "--data", str(GROCERY), "--out", pack]) == 0
    train = ["train", "classifier", "--smoke", "--data", pack, "--out", str(out), "--checkpoints", checkpoints]
    # the int8 gate is not what this test is about: 2 of the 20 val photos lost to int8 (10 points)
    # made a run of its random tiny backbone refuse the release now and then
    train += ["--backbone", backbone, "--max-gap", "1"]

    gc.collect()  # what earlier tests in this process left
    before = live_iterators()
    stopped = main([*train, "--tensorboard", tensorboard, "--max-steps", "3"])

    # collected only as the interpreter exits, the training iterator hung the process (CI, stop 40)
    assert live_iterators() == before, "no input pipeline outlives the run"
    progress = json.loads(files.read_text(f"{checkpoints}/progress.json"))
    assert stopped == 0 and not (out / "release").exists(), "a step-limited run exports nothing"
    assert progress["steps_done"] == 3 and progress["epochs_done"] == 1
    checkpoint = load_trained(f"{checkpoints}/{progress['checkpoint']}", backbone)
    assert checkpoint.predict(np.zeros((1, 64, 64, 3), np.float32), verbose=0).shape == (1, 4)
    assert any("tfevents" in name for name in files.walk_files(tensorboard)), "TensorBoard curves in the bucket"

    finished = main(train)

    timing = json.loads((out / "work" / "timing.json").read_text())
    assert finished == 0 and timing["resumed_from_step"] == 3
    assert json.loads(files.read_text(f"{checkpoints}/progress.json"))["steps_done"] == 4  # 2 epochs of 2 steps
    assert len([n for n in files.listdir(checkpoints) if n.endswith(".keras")]) == 1, "older checkpoints go"
    assert PhotoClassifier.open(out / "release").taxonomy.leaves == Taxonomy.load(out / "work" / "taxonomy.json").leaves


def live_iterators() -> int:
    return sum(isinstance(o, tf.data.Iterator) for o in gc.get_objects())


def test_a_checkpoint_is_not_resumed_by_another_recipe(tmp_path):
    out, backbone = str(tmp_path / "run"), str(tiny_backbone(tmp_path / "backbone"))
    train = ["train", "classifier", "--smoke", "--data", str(GROCERY), "--out", out, "--max-steps", "1"]
    train += ["--backbone", backbone]
    assert main(train) == 0

    with pytest.raises(ValueError, match=r"learning_rate=0\.001 \(now 0\.002\)"):
        main([*train, "--max-steps", "2", "--learning-rate", "0.002"])


def test_a_saved_model_backbone_trains_on_two_replicas_and_exports_int8(tmp_path):
    backbone = tiny_backbone(tmp_path / "feature-vector")
    out = tmp_path / "run"
    command = [
        CATALOGIST, "train", "classifier", "--smoke", "--data", str(GROCERY), "--out", str(out),
        "--backbone", str(backbone), "--train-from", "stem", "--cpu-replicas", "2",
        "--max-gap", "1",  # the random tiny backbone's int8 gap is not the subject (see above)
    ]  # fmt: skip

    done = subprocess.run(command, capture_output=True, text=True, timeout=800)

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    plan = json.loads((out / "work" / "timing.json").read_text())["plan"]
    assert plan["replicas"] == 2 and plan["global_batch"] == 32
    config = json.loads((out / "work" / "config.json").read_text())
    assert config["image_size"] == 64, "the input size comes from the SavedModel's signature"
    served = PhotoClassifier.open(out / "release")
    assert served.image_size == 64 and len(served.taxonomy.leaves) == 4
    decision = served.classify(next((GROCERY / "val").rglob("*.jpg")).read_bytes())
    assert decision.category_path[0] in {leaf[0] for leaf in served.taxonomy.leaves}
