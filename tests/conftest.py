"""Fixtures shared by the test folders: where the shared data is, and one smoke classifier."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "datasets"
GROCERY = SHARED_DATA / "grocerystore"
BIGBASKET = SHARED_DATA / "bigbasket" / "products.csv"


def require_data(path: Path, what: str) -> Path:
    """`path` of the shared datasets, or the test is skipped: on a user's machine without
    `../shared`. Under CI (`CI=true`) the data is always beside the checkout, so its absence is a
    failure that says so, never a silent skip."""
    if path.exists():
        return path
    message = f"{what} is not at {path}: tests that need it expect ../shared/datasets beside the repository"
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def grocery() -> Path:
    """The Grocery Store photos."""
    return require_data(GROCERY / "train.txt", "the Grocery Store dataset").parent


@pytest.fixture(scope="session")
def bigbasket() -> Path:
    """The BigBasket catalogue (products.csv)."""
    return require_data(BIGBASKET, "the BigBasket catalogue")


@pytest.fixture(scope="session")
def smoke_classifier(tmp_path_factory: pytest.TempPathFactory, grocery: Path) -> Path:
    """A real classifier release trained once per session on a tiny slice of the Grocery Store
    photos (`catalogist train classifier --smoke`: 4 categories, 96 px, 2 epochs)."""
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
def row_models(tmp_path_factory: pytest.TempPathFactory, bigbasket: Path) -> dict[str, Path]:
    """Text categorizer and price releases trained once per session on 3,000 BigBasket rows
    (`catalogist train textcat|price --limit 3000`), by kind."""
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
