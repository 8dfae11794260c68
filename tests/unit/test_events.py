import pytest

from catalogist.errors import BadEvent
from catalogist.intake.events import FINALIZED, parse_storage_event

ATTRIBUTES = {
    "type": FINALIZED,
    "id": "123",
    "time": "2026-11-26T10:00:00.5Z",
    "source": "//storage.googleapis.com/projects/_/buckets/uploads",
}
DATA = {
    "bucket": "uploads",
    "name": "acme/SKU-1.jpg",
    "generation": "1795650000000001",
    "size": "2048",
    "contentType": "image/jpeg",
    "md5Hash": "abc==",
    "metadata": {"sku": "X"},
}


def test_a_finalized_event_becomes_a_storage_object():
    event = parse_storage_event(ATTRIBUTES, DATA)
    assert event.event_id == "123"
    assert event.event_time.isoformat() == "2026-11-26T10:00:00.500000+00:00"
    obj = event.object
    assert (obj.bucket, obj.name, obj.generation, obj.size) == (
        "uploads",
        "acme/SKU-1.jpg",
        "1795650000000001",
        2048,
    )
    assert obj.vendor == "acme"
    assert obj.metadata == {"sku": "X"}


def test_an_object_at_the_bucket_root_has_no_vendor():
    assert parse_storage_event(ATTRIBUTES, {**DATA, "name": "loose.jpg"}).object.vendor == ""


@pytest.mark.parametrize(
    ("attributes", "data", "reason"),
    [
        ({**ATTRIBUTES, "type": "google.cloud.storage.object.v1.deleted"}, DATA, "expected event type"),
        ({**ATTRIBUTES, "id": ""}, DATA, "no id"),
        ({**ATTRIBUTES, "time": "yesterday"}, DATA, "not an RFC 3339"),
        (ATTRIBUTES, "not json", "must be the object resource"),
        (ATTRIBUTES, {k: v for k, v in DATA.items() if k not in ("name", "size")}, "lacks name, size"),
        (ATTRIBUTES, {**DATA, "generation": "first"}, "whole numbers"),
        (ATTRIBUTES, {**DATA, "metadata": ["sku"]}, "metadata must be a JSON object"),
    ],
)
def test_a_malformed_event_says_what_is_wrong(attributes, data, reason):
    with pytest.raises(BadEvent, match=reason):
        parse_storage_event(attributes, data)
