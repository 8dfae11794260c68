"""The Firestore adapter against the emulator: what the import's race check relies on."""

from datetime import timedelta

import pytest

from catalogist.adapters.firestore import FirestoreDocuments
from catalogist.ports import SERVER_TIME, Write
from tests.integration.conftest import vendor


@pytest.fixture
def documents(stack, monkeypatch: pytest.MonkeyPatch) -> FirestoreDocuments:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", stack.config.firestore_host)
    store = FirestoreDocuments(stack.config.project)
    store.client  # built while the variable is set  # noqa: B018
    return store


def test_server_time_stamps_are_the_stores_clock_and_found_by_changed_since(documents: FirestoreDocuments):
    collection = f"clock-{vendor()}"
    before = documents.server_time()
    documents.commit([Write(collection, "merged", {"stamp": SERVER_TIME, "name": "a"})])
    documents.create(collection, "created", {"stamp": SERVER_TIME})
    documents.create(collection, "unstamped", {"name": "b"})
    documents.update(collection, "unstamped", {"name": "c"})
    after = documents.server_time()

    stamps = {i: d.get("stamp") for i, d in documents.get_many(collection, ["merged", "created", "unstamped"]).items()}
    assert stamps["unstamped"] is None
    assert before <= stamps["merged"] <= after and before <= stamps["created"] <= after
    assert documents.changed_since(collection, "stamp", before) == {"merged", "created"}
    assert documents.changed_since(collection, "stamp", after + timedelta(milliseconds=1)) == set()
    documents.update(collection, "unstamped", {"stamp": SERVER_TIME})
    stamps = {i: d["stamp"] for i, d in documents.get_many(collection, ["merged", "created", "unstamped"]).items()}
    assert stamps["unstamped"] >= after
    assert documents.changed_since(collection, "stamp", after) == {i for i, s in stamps.items() if s >= after}
