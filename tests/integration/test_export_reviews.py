"""Human decisions made in the panel go back into training: exported from the emulators as a
dataset the trainer reads, and a smoke classifier trains on it."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from catalogist.adapters.firestore import EmulatorDocuments
from catalogist.adapters.storage import StorageBlobs
from catalogist.panel.review import Choice, decide, review_id, undo
from catalogist_infra.export_reviews import export, split_of
from tests.support import dataset_photos, final_ledger_entry, upload, vendor

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")]


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

    summary = export(documents, StorageBlobs(stack.config.project), tmp_path / "export", started)

    assert summary["decisions"] == len(truths) - 1
    exported = {}
    for split in ("train", "val"):
        with (tmp_path / "export" / "photos" / f"{split}.csv").open() as stream:
            for row in csv.DictReader(stream):
                exported[row["image"]] = (row["category"], split)
                assert (tmp_path / "export" / "photos" / row["image"]).stat().st_size > 0
    assert len(exported) == len(truths) - 1
    for image, (category, split) in exported.items():
        product_id = next(pid for pid in truths if Path(image).name.startswith(pid.replace(":", "_") + "_"))
        assert category == truths[product_id][0]
        sku = product_id.split(":", 1)[1]
        assert split == split_of(seller, sku), "split by vendor:sku"
    assert json.loads((tmp_path / "export" / "export.json").read_text())["photos"]["train"] > 0

    trained = subprocess.run(
        [
            str(Path(sys.executable).parent / "catalogist"),
            "train",
            "classifier",
            "--smoke",
            "--data",
            str(tmp_path / "export" / "photos"),
            "--out",
            str(tmp_path / "model"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr[-2000:]
    assert (tmp_path / "model" / "release" / "model.tflite").exists()
