"""One real local stack per test session: Storage and Firestore emulators on loopback ports,
the functions under functions-framework and the event bridge, exactly as `catalogist dev up`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalogist_infra.stack import Stack, StackConfig, finished_uploads, firestore_client, storage_client, wait_until


def vendor() -> str:
    """A vendor name of its own per test, so tests sharing the session's stack never collide."""
    return f"vendor-{uuid.uuid4().hex[:8]}"


def final_ledger_entry(firestore, bucket: str, blob, timeout: float = 60.0) -> dict:
    """The upload's ledger entry once processing is over (status no longer `received`)."""
    entries = wait_until(lambda: finished_uploads(firestore, bucket, [blob]), timeout, interval=0.2)
    assert entries is not None, f"{blob.name} was not processed within {timeout:.0f} s"
    return entries[blob.name]


def stack_config(data_dir: Path, **overrides) -> StackConfig:
    return StackConfig.on_free_ports(data_dir, project="catalogist-test", **overrides)


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory, smoke_classifier: Path, row_models: dict[str, Path]
) -> Iterator[Stack]:
    """The stack, serving the session's releases from the models bucket as a deployment would."""
    config = stack_config(tmp_path_factory.mktemp("stack"))
    releases = {"classifier": smoke_classifier, **row_models}
    for kind in releases:
        config.function_env[f"CATALOGIST_{kind.upper()}_RELEASE"] = f"gs://{config.models_bucket}/{kind}/test"
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.integration)
