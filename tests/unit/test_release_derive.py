"""A release derived with other thresholds claims nothing its source measured of its own
decisions: the promise and the share filed alone were measured at the source's thresholds."""

from __future__ import annotations

import json
from pathlib import Path

from catalogist_infra.release import derive

MODELS = Path(__file__).resolve().parents[2] / "models"


def test_a_derived_classifier_keeps_its_accuracy_and_states_no_promise(tmp_path: Path) -> None:
    source = json.loads((MODELS / "classifier" / "manifest.json").read_text())
    assert source["promise"]["statement"]  # the reference release states one

    release = derive(MODELS / "classifier", tmp_path / "looser", {"fine": 0.5}, "looser")

    assert "promise" not in release.manifest and "calibration" not in release.manifest
    assert release.manifest["metrics"] == source["metrics"]  # accuracy does not move with thresholds
    assert release.manifest["thresholds"]["fine"] == 0.5
    assert release.manifest["derived_from"]["version"] == source["version"]
    assert release.target_precision is None, "thresholds set by hand were set for no precision"


def test_a_derived_text_release_does_not_say_how_many_rows_its_source_filed_alone(tmp_path: Path) -> None:
    source = json.loads((MODELS / "textcat" / "manifest.json").read_text())
    assert "auto_accept_rate" in source["metrics"]["out_of_fold"]

    release = derive(MODELS / "textcat", tmp_path / "stricter", {"type": 0.99}, "stricter")

    folds = release.manifest["metrics"]["out_of_fold"]
    assert not any(key.startswith("auto_accept") for key in folds)
    assert folds["accuracy_by_level"] == source["metrics"]["out_of_fold"]["accuracy_by_level"]
