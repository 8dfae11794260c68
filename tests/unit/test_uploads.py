"""The ledger core with in-memory adapters: idempotence, staleness and rejections."""

from datetime import UTC, datetime, timedelta

import pytest

from catalogist.errors import BadPhoto
from catalogist.events import FINALIZED, parse_storage_event
from catalogist.ledger import upload_id
from catalogist.settings import Settings
from catalogist.uploads import handle_upload
from tests.unit.fakes import MemoryBlobs, MemoryDocuments

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SETTINGS = Settings(
    project="p",
    uploads_bucket="uploads",
    models_bucket="models",
    model_location="gs://models",
    max_photo_bytes=10_000,
    max_file_bytes=50_000,
    max_event_age_seconds=3600,
)
JPEG_HEAD = b"\xff\xd8\xff\xe0" + b"\x00" * 100


def event(name="acme/SKU-1.jpg", size=104, generation="7", age=timedelta(seconds=2)):
    attributes = {"type": FINALIZED, "id": "e-1", "time": (NOW - age).isoformat()}
    data = {
        "bucket": "uploads",
        "name": name,
        "generation": generation,
        "size": str(size),
        "contentType": "image/jpeg",
    }
    return parse_storage_event(attributes, data)


def test_a_photo_is_recorded_as_received():
    documents = MemoryDocuments()
    outcome = handle_upload(
        event(), SETTINGS, MemoryBlobs({("uploads", "acme/SKU-1.jpg"): JPEG_HEAD}), documents, now=NOW
    )
    entry = documents.get("uploads", upload_id("uploads", "acme/SKU-1.jpg", "7"))
    assert outcome.status == "received"
    assert {k: entry[k] for k in ("vendor", "kind", "format", "status", "generation", "size")} == {
        "vendor": "acme",
        "kind": "photo",
        "format": "jpeg",
        "status": "received",
        "generation": "7",
        "size": 104,
    }


def test_a_redelivered_event_changes_nothing_and_reads_nothing():
    documents = MemoryDocuments()
    blobs = MemoryBlobs({("uploads", "acme/SKU-1.jpg"): JPEG_HEAD})
    handle_upload(event(), SETTINGS, blobs, documents, now=NOW)
    before = documents.get("uploads", upload_id("uploads", "acme/SKU-1.jpg", "7"))
    outcomes = [handle_upload(event(), SETTINGS, blobs, documents, now=NOW + timedelta(minutes=i)) for i in range(2)]
    assert all(outcome.redelivered for outcome in outcomes)
    assert documents.collections["uploads"] == {upload_id("uploads", "acme/SKU-1.jpg", "7"): before}
    assert blobs.reads == 1


def test_a_new_generation_is_a_new_entry():
    documents = MemoryDocuments()
    blobs = MemoryBlobs({("uploads", "acme/SKU-1.jpg"): JPEG_HEAD})
    handle_upload(event(generation="7"), SETTINGS, blobs, documents, now=NOW)
    handle_upload(event(generation="8"), SETTINGS, blobs, documents, now=NOW)
    assert len(documents.collections["uploads"]) == 2


def test_a_stale_event_is_acknowledged_without_a_write():
    documents = MemoryDocuments()
    outcome = handle_upload(event(age=timedelta(hours=2)), SETTINGS, MemoryBlobs(), documents, now=NOW)
    assert outcome.status == "stale"
    assert documents.collections == {}


def test_an_oversized_object_is_rejected_without_reading_it():
    documents, blobs = MemoryDocuments(), MemoryBlobs()
    outcome = handle_upload(event(size=60_000), SETTINGS, blobs, documents, now=NOW)
    assert outcome.status == "rejected"
    assert outcome.reason == "the object is 60,000 bytes, above the limit of 50,000 for an upload"
    assert blobs.reads == 0


def test_a_photo_has_a_lower_size_limit_than_a_file():
    blobs = MemoryBlobs({("uploads", "acme/SKU-1.jpg"): JPEG_HEAD, ("uploads", "acme/list.csv"): b"SKU,Name\n"})
    photo = handle_upload(event(size=20_000), SETTINGS, blobs, MemoryDocuments(), now=NOW)
    listing = handle_upload(event(name="acme/list.csv", size=20_000), SETTINGS, blobs, MemoryDocuments(), now=NOW)
    assert (photo.status, photo.reason) == (
        "rejected",
        "the object is 20,000 bytes, above the limit of 10,000 for a photo",
    )
    assert (listing.status, listing.kind) == ("received", "vendor_file")


def test_an_object_outside_a_vendor_folder_is_rejected():
    outcome = handle_upload(event(name="SKU-1.jpg"), SETTINGS, MemoryBlobs(), MemoryDocuments(), now=NOW)
    assert (outcome.status, outcome.reason) == (
        "rejected",
        "uploads must be under a vendor folder: <vendor>/<file>",
    )


def test_an_object_gone_before_reading_is_rejected_with_the_reason():
    outcome = handle_upload(event(), SETTINGS, MemoryBlobs(), MemoryDocuments(), now=NOW)
    assert outcome.status == "rejected"
    assert "no longer exists" in outcome.reason


class RecordingPipeline:
    def __init__(self, failure: Exception | None = None) -> None:
        self.calls = 0
        self.failure = failure

    def __call__(self, obj, file_format, now):
        self.calls += 1
        if self.failure is not None:
            raise self.failure
        return {"product_id": f"{obj.vendor}:SKU-1", "format_seen": file_format}


def test_the_pipeline_of_the_kind_runs_and_the_entry_is_done():
    documents, pipeline = MemoryDocuments(), RecordingPipeline()
    blobs = MemoryBlobs({("uploads", "acme/SKU-1.jpg"): JPEG_HEAD})
    outcome = handle_upload(event(), SETTINGS, blobs, documents, {"photo": pipeline}, now=NOW)
    entry = documents.get("uploads", upload_id("uploads", "acme/SKU-1.jpg", "7"))
    assert outcome.status == "done"
    assert (entry["status"], entry["product_id"], entry["format_seen"]) == ("done", "acme:SKU-1", "jpeg")


def test_bad_input_in_the_pipeline_rejects_the_entry_with_the_reason():
    documents = MemoryDocuments()
    pipeline = RecordingPipeline(BadPhoto("the photo is truncated or corrupt"))
    blobs = MemoryBlobs({("uploads", "acme/SKU-1.jpg"): JPEG_HEAD})
    outcome = handle_upload(event(), SETTINGS, blobs, documents, {"photo": pipeline}, now=NOW)
    entry = documents.get("uploads", upload_id("uploads", "acme/SKU-1.jpg", "7"))
    assert (outcome.status, entry["status"], entry["reason"]) == (
        "rejected",
        "rejected",
        "the photo is truncated or corrupt",
    )


def test_a_transient_failure_raises_and_the_redelivery_finishes_the_work():
    documents = MemoryDocuments()
    blobs = MemoryBlobs({("uploads", "acme/SKU-1.jpg"): JPEG_HEAD})
    failing = RecordingPipeline(ConnectionError("Firestore unavailable"))
    with pytest.raises(ConnectionError):
        handle_upload(event(), SETTINGS, blobs, documents, {"photo": failing}, now=NOW)
    assert documents.get("uploads", upload_id("uploads", "acme/SKU-1.jpg", "7"))["status"] == "received"

    working = RecordingPipeline()
    outcome = handle_upload(event(), SETTINGS, blobs, documents, {"photo": working}, now=NOW)
    again = handle_upload(event(), SETTINGS, blobs, documents, {"photo": working}, now=NOW)

    assert (outcome.status, outcome.redelivered) == ("done", True)
    assert again.status == "done"
    assert working.calls == 1, "a finished upload is not processed again"


def test_a_rejected_upload_never_reaches_a_pipeline():
    pipeline = RecordingPipeline()
    handle_upload(event(size=20_000), SETTINGS, MemoryBlobs(), MemoryDocuments(), {"photo": pipeline}, now=NOW)
    assert pipeline.calls == 0
