"""Fixtures shared by the test folders: the shared data, the model releases, and one local stack."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalogist.models.kinds import CLASSIFIER, KINDS
from catalogist.settings import BY_FIELD
from catalogist_infra.stack import (
    Stack,
    StackConfig,
    finished_uploads,
    firestore_client,
    free_port,
    storage_client,
    wait_until,
)

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
def reference_releases() -> dict[str, Path]:
    """The releases committed in models/ (what `make demo` serves), by kind: real models (the
    int8 classifier of all 81 Grocery Store categories, the text and price models of BigBasket),
    so the stack's tests start without training."""
    releases = {kind.name: REPO / "models" / kind.name for kind in KINDS}
    for name, release in releases.items():
        assert (release / "manifest.json").exists(), f"the reference {name} release is missing from {release}"
    return releases


@pytest.fixture(scope="session")
def reference_classifier(reference_releases: dict[str, Path]) -> Path:
    return reference_releases[CLASSIFIER.name]


@pytest.fixture(scope="session")
def row_models(reference_releases: dict[str, Path]) -> dict[str, Path]:
    """The text categorizer and price releases, by kind."""
    return {name: release for name, release in reference_releases.items() if name != CLASSIFIER.name}


# -- the local stack, one per session, shared by the integration and browser tests ---------------


def vendor() -> str:
    """A vendor name of its own per test, so tests sharing the session's stack never collide."""
    return f"vendor-{uuid.uuid4().hex[:8]}"


def final_ledger_entry(firestore, bucket: str, blob, timeout: float = 60.0) -> dict:
    """The upload's ledger entry once processing is over (status no longer `received`)."""
    entries = wait_until(lambda: finished_uploads(firestore, bucket, [blob]), timeout, interval=0.2)
    assert entries is not None, f"{blob.name} was not processed within {timeout:.0f} s"
    return entries[blob.name]


DEV_UP_PORTS = (
    "--storage-port",
    "--firestore-port",
    "--firestore-admin-port",
    "--functions-port",
    "--bridge-port",
    "--panel-port",
)


def dev_up_ports(flags: tuple[str, ...] = DEV_UP_PORTS) -> dict[str, int]:
    """A free port for each of `catalogist dev up`'s port flags, for a stack of its own."""
    return {flag: free_port() for flag in flags}


def as_flags(ports: dict[str, int]) -> list[str]:
    return [str(x) for pair in ports.items() for x in pair]


def stack_config(data_dir: Path, **overrides) -> StackConfig:
    return StackConfig.on_free_ports(data_dir, project="catalogist-test", **overrides)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, reference_releases: dict[str, Path]) -> Iterator[Stack]:
    """The stack, serving the session's releases from the models bucket as a deployment would."""
    config = stack_config(tmp_path_factory.mktemp("stack"))
    releases = reference_releases
    for kind in KINDS:
        config.function_env[BY_FIELD[kind.setting].env] = f"gs://{config.models_bucket}/{kind.name}/test"
    running = Stack(config)
    running.start()
    models = storage_client(config).bucket(config.models_bucket)
    for kind, folder in releases.items():
        for path in folder.iterdir():
            models.blob(f"{kind}/test/{path.name}").upload_from_filename(str(path))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def uploads(stack: Stack):
    return storage_client(stack.config).bucket(stack.config.uploads_bucket)


@pytest.fixture(scope="session")
def firestore(stack: Stack):
    client = firestore_client(stack.config)
    yield client
    client.close()
