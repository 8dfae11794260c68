"""Fixtures shared by the test folders: the shared data, the model releases, and one local stack
per test process (pytest-xdist runs several). The folder a test is in decides its markers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalogist.models.kinds import CLASSIFIER, KINDS
from catalogist.settings import BY_FIELD
from catalogist_infra.stack import (
    LISTEN_PORTS,
    Stack,
    firestore_client,
    storage_client,
)
from tests.support import BIG_FILE_BYTES, BIGBASKET, GROCERY, REPO, require_data, stack_config

# What a test needs is where it lives: `make test-integration` is `-m integration`, and so on.
MARKERS_BY_FOLDER = {
    "integration": ("integration",),
    "browser": ("browser",),
    "reliability": ("reliability", "integration"),
}
TESTS = Path(__file__).parent


# Trainings, benches and fault injection: minutes where most tests take seconds.
HEAVY = ("slow", "bench", "reliability")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Markers by folder; then heavy modules first, for the scheduling `make test` uses
    (`-n 2 --dist loadscope --no-loadscope-reorder`: each module is one work unit, so a
    module-scoped fixture — a smoke training, a trained model, a browser — is built by one
    worker only, and units go out in this order). Heavy first, so every worker starts on them
    and the many short modules fill in behind, instead of one worker running a minutes-long
    training alone at the end. A stable sort: a module's tests stay together and in order.
    """
    for item in items:
        folder = Path(item.fspath).relative_to(TESTS).parts[0]
        for marker in MARKERS_BY_FOLDER.get(folder, ()):
            item.add_marker(marker)
    items.sort(key=lambda item: not any(item.get_closest_marker(name) for name in HEAVY))


def pytest_configure(config: pytest.Config) -> None:
    """Each xdist worker finds free ports in a range of its own (`CATALOGIST_LISTEN_PORTS`, read
    by every stack, bench and `catalogist dev up` it starts): a port one worker found free could
    otherwise be taken by the other's stack before its own process bound it."""
    worker, workers = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if worker and workers and "CATALOGIST_LISTEN_PORTS" not in os.environ:
        share = len(LISTEN_PORTS) // int(workers)
        first = LISTEN_PORTS.start + int(worker.removeprefix("gw")) * share
        os.environ["CATALOGIST_LISTEN_PORTS"] = f"{first}-{first + share - 1}"


# Modules of long tests that share no module-scoped fixture: each test is a work unit of its own,
# so their minutes spread over the workers instead of queueing on one (13 bench smokes in a row
# were a third of one worker's run).
ONE_UNIT_PER_TEST = ("tests/bench/test_benches.py", "tests/training/test_streamed_training.py")


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """`--dist loadscope` with `ONE_UNIT_PER_TEST` split; any other mode is xdist's own."""
    if config.getoption("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.split("::", 1)[0] in ONE_UNIT_PER_TEST:
                return nodeid
            return super()._split_scope(nodeid)

    return Scheduling(config, log)


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


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, reference_releases: dict[str, Path]) -> Iterator[Stack]:
    """The stack, serving the session's releases from the models bucket as a deployment would."""
    config = stack_config(tmp_path_factory.mktemp("stack"))
    releases = reference_releases
    for kind in KINDS:
        config.function_env[BY_FIELD[kind.setting].env] = f"gs://{config.models_bucket}/{kind.name}/test"
    # Files above this go to import jobs on Beam's local runner (tests/integration/test_import_job.py);
    # every other test's files are far smaller and imported in the function.
    config.function_env["CATALOGIST_BIG_FILE_BYTES"] = str(BIG_FILE_BYTES)
    running = Stack(config)
    running.start()
    models = storage_client(config).bucket(config.models_bucket)
    for name, folder in releases.items():
        for path in folder.iterdir():
            models.blob(f"{name}/test/{path.name}").upload_from_filename(str(path))
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
