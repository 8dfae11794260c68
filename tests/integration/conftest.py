"""Integration tests run against the session's real local stack (`tests/conftest.py`: Storage
and Firestore emulators on loopback ports, the functions under functions-framework, the event
bridge and the panel, exactly as `catalogist dev up`); every test here is marked `integration`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import final_ledger_entry, stack_config, vendor

__all__ = ["final_ledger_entry", "stack_config", "vendor"]  # where the integration tests import them from


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.integration)
