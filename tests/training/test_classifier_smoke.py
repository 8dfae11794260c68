"""The whole classifier pipeline on a tiny slice of data: train, int8 export, LiteRT evaluation.

What CI runs (`--smoke`: 4 categories, 12 photos each, 96 px, 2 epochs); the figures mean
nothing, the files and their shapes do.
"""

import json
import shutil
from pathlib import Path

import pytest

from catalogist.models.classifier import PhotoClassifier

GROCERY = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "grocerystore"
METRICS = {
    "fine_accuracy",
    "coarse_accuracy",
    "top_accuracy",
    "fine_top5_accuracy",
    "auto_accept_rate",
    "auto_accept_precision",
    "robustness",
    "robustness_mean_ratio",
    "model_bytes",
    "ms_per_image",
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(600),
    pytest.mark.skipif(not (GROCERY / "train.txt").exists(), reason="Grocery Store data not present"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::UserWarning"),
]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> tuple[Path, int]:
    from catalogist_training.cli import main

    out = tmp_path_factory.mktemp("smoke") / "classifier"
    return out, main(["train", "classifier", "--smoke", "--data", str(GROCERY), "--out", str(out)])


def test_smoke_train_export_and_evaluate(smoke_run, tmp_path):
    from catalogist_training.cli import main

    out, trained = smoke_run

    evaluated = main(
        [
            "evaluate",
            "classifier",
            "--model",
            str(out / "release"),
            "--data",
            str(GROCERY),
            "--split",
            "val",
            "--out",
            str(tmp_path / "eval"),
            "--tta",
            "flip",
        ]
    )

    assert trained == 0 and evaluated == 0
    manifest = json.loads((out / "release" / "manifest.json").read_text())
    assert set(manifest["files"]) == {"model.tflite", "taxonomy.json"}
    assert manifest["int8_vs_float_gap"]["fine_accuracy_points"] <= 10
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert set(metrics) >= METRICS
    assert 0 <= metrics["fine_accuracy"] <= 1 and len(metrics["robustness"]) == 9
    assert (tmp_path / "eval" / "report.html").read_text().count("data:image/png;base64") >= 3
    photo = next((GROCERY / "val" / "Fruit" / "Apple").rglob("*.jpg")).read_bytes()
    assert PhotoClassifier.open(out / "release").classify(photo).category_path[0] == "Fruit"


def test_release_is_refused_when_int8_falls_behind(smoke_run, tmp_path):
    from catalogist_training.cli import main

    out = tmp_path / "classifier"
    shutil.copytree(smoke_run[0] / "work", out / "work")  # resumes: export only

    status = main(["train", "classifier", "--smoke", "--data", str(GROCERY), "--out", str(out), "--max-gap", "-1"])

    assert status == 2
    assert not (out / "release").exists()
