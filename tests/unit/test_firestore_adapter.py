"""The adapter's own encoding of batched writes sends exactly what the client's `set` sends."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.cloud.firestore_v1 import GeoPoint
from google.cloud.firestore_v1.field_path import FieldPath
from google.cloud.firestore_v1.types import write as write_types

from catalogist.adapters.firestore import FirestoreDocuments
from catalogist.ports import Write

PRODUCT: dict[str, Any] = {
    "vendor": "acme",
    "sku": "BB-1",
    "name": "Tata Salt 1 kg",
    "gtin": None,
    "in_stock": True,
    "pack": {"count": 2, "quantity": 1000.0, "unit": "g"},
    "row_notes": [],
    "attributes": {"Farbe": "weiß", "weird key.with dots": "=1+2"},
    "text_category": {
        "path": ["Foodgrains", "Salt, Sugar & Jaggery", "Salts"],
        "confidence": {"category": 0.9912, "type": 0.5},
        "alternatives": [{"path_text": "a › b", "confidence": 0.01}, {"path_text": "c", "confidence": 0.0}],
        "needs_review": False,
        "review_reason": None,
    },
    "big": 2**62,
    "negative": -3,
    "updated_at": datetime(2026, 11, 26, 4, 30, 12, 345678, tzinfo=UTC),
    "naive": datetime(2026, 1, 2, 3, 4, 5, 6),
    "read_back": DatetimeWithNanoseconds(2026, 1, 2, 3, 4, 5, nanosecond=123456789, tzinfo=UTC),
    "Ünïcode field": "₹ 1 299,00",
    "with space": ("tuple", 1),
}


def client_encoded(documents: FirestoreDocuments, write: Write) -> object:
    batch = documents.client.batch()
    reference = documents.client.collection(write.collection).document(write.document_id)
    if write.merge:
        batch.set(reference, dict(write.fields), merge=[FieldPath(name) for name in write.fields])
    else:
        batch.set(reference, dict(write.fields))
    return write_types.Write.pb(batch._write_pbs[0])


@pytest.fixture
def documents(monkeypatch: pytest.MonkeyPatch) -> FirestoreDocuments:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:9")  # never contacted: nothing commits
    return FirestoreDocuments("proj", "(default)")


@pytest.mark.parametrize("merge", [True, False])
def test_plain_writes_encode_exactly_as_the_client_does(documents: FirestoreDocuments, merge: bool) -> None:
    write = Write("products", "acme:BB-1", PRODUCT, merge=merge)
    ours = documents._encoded(write)
    assert ours is not None
    assert ours == client_encoded(documents, write)


def test_values_only_the_client_knows_are_left_to_the_client(documents: FirestoreDocuments) -> None:
    assert documents._encoded(Write("products", "a:1", {"where": GeoPoint(1.0, 2.0)})) is None
    assert documents._encoded(Write("products", "a:1", {"blob": b"\x00"})) is None
    assert documents._encoded(Write("products", "a:1", {"m": {1: "int key"}})) is None
    assert documents._encoded(Write("products", "a:1", {"m": {"": "empty key"}})) is None


class BrokenOnce:
    """A query whose stream is cut by its deadline the first time (what a Firestore stream does
    to a slow or unlucky reader), then answers; it records what each stream was asked."""

    def __init__(self, ids: list[str]) -> None:
        self.ids, self.streams = ids, 0

    def stream(self, retry: Any = None) -> Any:
        from google.api_core import exceptions

        self.streams += 1
        assert retry is not None and not retry._predicate(exceptions.DeadlineExceeded("x")), "the client's resume off"
        for n, document_id in enumerate(self.ids):
            if self.streams == 1 and n == 2:
                raise exceptions.DeadlineExceeded("stream cut")
            yield type("Snapshot", (), {"id": document_id, "to_dict": lambda self: {"n": 1}})()

    def limit(self, _: int) -> BrokenOnce:
        return self

    def order_by(self, _: Any) -> BrokenOnce:
        return self


def test_a_page_whose_stream_breaks_is_read_again_whole(documents: FirestoreDocuments, monkeypatch) -> None:
    query = BrokenOnce(["a", "b", "c"])
    monkeypatch.setattr(documents, "_filtered", lambda collection, filters: query)
    monkeypatch.setattr("catalogist.adapters.firestore.time.sleep", lambda _: None)

    scanned = list(documents.scan("products", [], page=10))

    assert [document_id for document_id, _ in scanned] == ["a", "b", "c"], "each once, none lost"
    assert query.streams == 2
