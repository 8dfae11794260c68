"""Fault tests run against a stack of their own: its functions reach Firestore through a proxy
that can reset connections, with short leases so a killed delivery is taken over in seconds.
Every test here is marked `reliability` (and `integration`: it needs the emulators)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from catalogist_infra.stack import Stack, firestore_client, storage_client
from tests.reliability.faults import ResettingProxy
from tests.reliability.scenarios import Harness
from tests.support import stack_config

# A price list of five pages of 400: each fault is injected once the first page is written, with
# four still to come; more pages would only cost CPU.
ROWS = 2000


@pytest.fixture(scope="session")
def harness(
    tmp_path_factory: pytest.TempPathFactory, reference_classifier: Path, row_models: dict[str, Path]
) -> Iterator[Harness]:
    config = stack_config(tmp_path_factory.mktemp("faulty-stack"))
    proxy = ResettingProxy(("127.0.0.1", config.firestore_port))
    config.function_env.update(
        {
            "FIRESTORE_EMULATOR_HOST": proxy.address,
            "CATALOGIST_LEASE_SECONDS": "4",
            "CATALOGIST_BUSY_WAIT_SECONDS": "2",
            "CATALOGIST_CLASSIFIER_RELEASE": str(reference_classifier),
            "CATALOGIST_TEXTCAT_RELEASE": str(row_models["textcat"]),
            "CATALOGIST_PRICE_RELEASE": str(row_models["price"]),
        }
    )
    stack = Stack(config)
    stack.start()
    documents = firestore_client(config)
    try:
        yield Harness(stack, proxy, storage_client(config).bucket(config.uploads_bucket), documents, ROWS)
    finally:
        documents.close()
        stack.stop()
