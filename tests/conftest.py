"""Fixtures shared by the test folders: where the shared data is, and one smoke classifier."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "datasets"
GROCERY = SHARED_DATA / "grocerystore"
BIGBASKET = SHARED_DATA / "bigbasket" / "products.csv"


@pytest.fixture(scope="session")
def smoke_classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real classifier release trained once per session on a tiny slice of the Grocery Store
    photos (`catalogist train classifier --smoke`: 4 categories, 96 px, 2 epochs)."""
    if not (GROCERY / "train.txt").exists():
        pytest.skip(f"the Grocery Store data is not at {GROCERY}")
    out = tmp_path_factory.mktemp("smoke-classifier")
    # In its own process, as a user runs it: TensorFlow stays out of the test process.
    command = [
        str(Path(sys.executable).parent / "catalogist"),
        "train",
        "classifier",
        "--smoke",
        "--data",
        str(GROCERY),
        "--out",
        str(out),
    ]
    trained = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
    return out / "release"


@pytest.fixture(scope="session")
def row_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Text categorizer and price releases trained once per session on 3,000 BigBasket rows
    (`catalogist train textcat|price --limit 3000`), by kind."""
    if not BIGBASKET.exists():
        pytest.skip(f"the BigBasket catalogue is not at {BIGBASKET}")
    out = tmp_path_factory.mktemp("row-models")
    releases = {}
    for kind in ("textcat", "price"):
        command = [
            str(Path(sys.executable).parent / "catalogist"),
            "train",
            kind,
            "--data",
            str(BIGBASKET),
            "--out",
            str(out / kind),
            "--limit",
            "3000",
        ]
        trained = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
        assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
        releases[kind] = out / kind
    return releases
