"""The reference releases committed in models/: every file matches its manifest, the manifest says
how to rebuild it, and each release loads and answers with the function bundle's libraries only
(no TensorFlow, Keras or scikit-learn in the process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from catalogist.models.releases import MANIFEST, Release

MODELS = Path(__file__).resolve().parents[2] / "models"
KINDS = {"classifier": "image-classifier", "textcat": "textcat", "price": "price"}
BUDGET_BYTES = 20 * 1024 * 1024  # all three together, in the repository

# The function bundle does not install the training libraries (functions/requirements.txt);
# this venv does, and lightgbm imports scikit-learn whenever it can. So the child process is
# made to lack them, as the bundle does, and must still load and answer.
SERVE = """
import importlib.abc, json, sys
from pathlib import Path
TRAINING = ("tensorflow", "keras", "sklearn", "torch")
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in TRAINING:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Absent())
kind, folder, photo = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
if kind == "classifier":
    from catalogist.models.classifier import PhotoClassifier
    answer = "/".join(PhotoClassifier.open(folder).classify(photo.read_bytes()).category_path)
elif kind == "textcat":
    from catalogist.models.textcat import TextCategorizer
    decision = TextCategorizer.open(folder).decide_many([("Green Tea Bags - Lemon", "Tetley", "")])[0]
    answer = "/".join(decision.category_path)
else:
    from catalogist.models.price_features import PriceInput
    from catalogist.models.price_model import PriceModel
    path = ("Foodgrains, Oil & Masala", "Rice & Rice Products", "Basmati Rice")
    suggestion = PriceModel.open(folder).suggest([PriceInput("Basmati Rice 1 kg", "India Gate", path)])[0]
    answer = f"{suggestion.low} {suggestion.price} {suggestion.high}"
training = sorted(m for m in TRAINING if m in sys.modules)
print(json.dumps({"answer": answer, "training_modules": training}))
"""

present = [kind for kind in KINDS if (MODELS / kind / MANIFEST).exists()]


def test_the_classifier_reference_release_is_committed():
    assert "classifier" in present


def test_the_releases_fit_the_repository_budget():
    total = sum(path.stat().st_size for path in MODELS.rglob("*") if path.is_file())
    assert total <= BUDGET_BYTES, f"models/ holds {total / 2**20:.1f} MB"
    # issue 29: the classifier may grow to 12 MB where accuracy pays for it (Lite2: 5.5 MB, +2.5 points on val)
    assert (MODELS / "classifier" / "model.tflite").stat().st_size <= 12 * 1024 * 1024


@pytest.mark.parametrize("kind", present)
def test_every_file_matches_its_manifest_and_the_manifest_says_how_to_rebuild_it(kind):
    release = Release.open(MODELS / kind, KINDS[kind])  # sha256 of every listed file

    assert release.manifest["command"].startswith(f"catalogist train {kind}")
    assert release.manifest.get("metrics"), "the figures it was released with"


@pytest.mark.parametrize("kind", present)
def test_each_release_serves_without_training_libraries(kind):
    photo = Path(__file__).resolve().parents[2] / "infra" / "samples" / "banana.jpg"

    finished = subprocess.run(
        [sys.executable, "-c", SERVE, kind, str(MODELS / kind), str(photo)], capture_output=True, text=True, check=True
    )

    result = json.loads(finished.stdout.strip().splitlines()[-1])
    assert result["training_modules"] == []
    if kind == "classifier":
        assert result["answer"].startswith("Fruit"), result
    elif kind == "textcat":
        assert result["answer"].startswith("Beverages"), result
    else:
        low, price, high = map(float, result["answer"].split())
        assert 0 < low <= price <= high
