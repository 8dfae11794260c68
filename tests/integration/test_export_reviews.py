"""Human decisions made in the panel go back into training: `catalogist export reviews` writes
them from the emulators as a dataset (the labels: leaves of the releases in service), and the
trainer reads it and takes its first steps on it (what a full run then does with a dataset is
tests/training/test_classifier_smoke.py's)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from catalogist.adapters.firestore import EmulatorDocuments
from catalogist.models.taxonomy import Taxonomy
from catalogist.panel.review import Choice, decide, review_id, undo
from catalogist_infra.export_reviews import split_of
from tests.support import dataset_photos, final_ledger_entry, tiny_backbone, upload, vendor

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")]


# The budget is the two subprocesses' own limits (300 s to export, 600 s to train: TensorFlow's
# import and the smoke training run 35 s alone, minutes on a loaded machine), so a hang fails
# on their timeout with the trainer's output instead of the suite's 300 s killing the wait.
@pytest.mark.timeout(1000)
def test_reviewed_photos_become_a_dataset_a_classifier_trains_on(
    stack, uploads, firestore, reference_classifier, tmp_path, monkeypatch
):
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", stack.config.firestore_host)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", stack.config.storage_url)
    documents = EmulatorDocuments(stack.config.project)
    seller = vendor()
    photos = dataset_photos(reference_classifier, 24, per_category=6)  # 4 categories: a smoke run takes 4
    truths = {}
    for number, (path, truth) in enumerate(photos):
        blob = upload(uploads, f"{seller}/P{number:02d}.jpg", path.read_bytes())
        entry = final_ledger_entry(firestore, uploads.name, blob)
        assert entry["status"] == "done", entry.get("reason")
        truths[entry["product_id"]] = (truth, blob.generation)
    started = datetime.now(UTC)
    undone_one = next(iter(truths))
    for product_id, (truth, _) in truths.items():
        decide(documents, product_id, Choice("search", tuple(truth.split("/")), "image"), "ana@shop", "r", started)
    undo(documents, review_id(undone_one, "r"), "ana@shop", started)

    since = started.replace(tzinfo=None).isoformat()  # this test's decisions, not the session's earlier ones
    command = [str(Path(sys.executable).parent / "catalogist"), "export", "reviews", "--out", str(tmp_path / "export")]
    command += ["--since", since]
    env = {**os.environ, **stack.config.client_env(), **stack.config.function_env}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    summary = json.loads((tmp_path / "export" / "export.json").read_text())

    assert summary["decisions"] == len(truths) - 1, "the undone decision does not count"
    exported = {}
    for split in ("train", "val"):
        with (tmp_path / "export" / "photos" / f"{split}.csv").open() as stream:
            for row in csv.DictReader(stream):
                exported[row["image"]] = (row["category"], split)
                assert (tmp_path / "export" / "photos" / row["image"]).stat().st_size > 0
    assert len(exported) == len(truths) - 1, "every photo decided and not undone"
    for image, (category, split) in exported.items():
        product_id = next(pid for pid in truths if Path(image).name.startswith(pid.replace(":", "_") + "_"))
        assert category == truths[product_id][0]
        sku = product_id.split(":", 1)[1]
        assert split == split_of(seller, sku), "split by vendor:sku"
    assert json.loads((tmp_path / "export" / "export.json").read_text())["photos"]["train"] > 0

    command = [str(Path(sys.executable).parent / "catalogist"), "train", "classifier", "--smoke", "--max-steps", "2"]
    command += ["--data", str(tmp_path / "export" / "photos"), "--out", str(tmp_path / "model")]
    # the subject is the data, not the network: a tiny backbone trains in seconds
    command += ["--backbone", str(tiny_backbone(tmp_path / "backbone"))]
    try:
        trained = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    except subprocess.TimeoutExpired as hung:
        pytest.fail(f"the smoke training ran 600 s: {str(hung.stdout)[-2000:]} {str(hung.stderr)[-2000:]}")
    assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr[-2000:]
    work = tmp_path / "model" / "work"
    assert json.loads((work / "progress.json").read_text())["steps_done"] == 2
    learned = {"/".join(leaf) for leaf in Taxonomy.load(work / "taxonomy.json").leaves}
    assert learned == {category for category, _ in exported.values()}, "the trainer learns the exported labels"
