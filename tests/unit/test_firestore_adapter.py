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
