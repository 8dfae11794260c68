"""The ledger core with in-memory adapters: idempotence, staleness and rejections."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from catalogist.errors import BadPhoto, Superseded, UploadInProgress
from catalogist.intake import ledger
from catalogist.intake.events import FINALIZED, parse_storage_event
from catalogist.intake.ledger import upload_id
from catalogist.intake.retry import RetryRefused, retry_upload
from catalogist.intake.uploads import handle_upload, reject_unreadable_event
from catalogist.settings import Settings
from tests.unit.fakes import MemoryBlobs, MemoryDocuments

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SETTINGS = Settings(
    project="p",
    models_bucket="models",
    model_location="gs://models",
    max_photo_bytes=10_000,
    max_file_bytes=50_000,
    max_event_age_seconds=3600,
    busy_wait_seconds=5,
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

    def __call__(self, obj, file_format, now, still_current):
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


class SlowPipeline:
    """Counts its runs, from any number of threads, and takes a while, as classifying does."""

    def __init__(self, seconds: float = 0.2) -> None:
        self.seconds = seconds
        self.runs: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, obj, file_format, now, still_current):
        with self._lock:
            self.runs.append(obj.generation)
        time.sleep(self.seconds)
        return {"product_id": f"{obj.vendor}:SKU-1"}


def test_twenty_concurrent_deliveries_of_one_event_run_the_pipeline_once():
    documents, pipeline = MemoryDocuments(), SlowPipeline()
    blobs = MemoryBlobs({("uploads", "acme/SKU-1.jpg"): JPEG_HEAD})

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(
            pool.map(
                lambda _: handle_upload(event(), SETTINGS, blobs, documents, {"photo": pipeline}, now=NOW), range(20)
            )
        )

    assert pipeline.runs == ["7"]
    assert {outcome.status for outcome in outcomes} == {"done"}, "the others answer with the winner's result"
    assert sorted(outcome.attempt for outcome in outcomes) == [0] * 19 + [1]
    assert documents.get("uploads", upload_id("uploads", "acme/SKU-1.jpg", "7"))["attempts"] == 1


def test_a_duplicate_that_waits_too_long_asks_to_be_delivered_again():
    documents, pipeline = MemoryDocuments(), SlowPipeline(seconds=1.0)
    blobs = MemoryBlobs({("uploads", "acme/SKU-1.jpg"): JPEG_HEAD})
    impatient = replace(SETTINGS, busy_wait_seconds=0.1)

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(handle_upload, event(), impatient, blobs, documents, {"photo": pipeline}, NOW)
        time.sleep(0.3)
        with pytest.raises(UploadInProgress):
            handle_upload(event(), impatient, blobs, documents, {"photo": pipeline}, now=NOW)
        assert first.result().status == "done"
    assert pipeline.runs == ["7"]


def test_an_older_generation_delivered_after_a_newer_one_is_superseded():
    documents, pipeline = MemoryDocuments(), SlowPipeline(seconds=0)
    blobs = MemoryBlobs({("uploads", "acme/SKU-1.jpg"): JPEG_HEAD})

    newer = handle_upload(event(generation="8"), SETTINGS, blobs, documents, {"photo": pipeline}, now=NOW)
    older = handle_upload(event(generation="7"), SETTINGS, blobs, documents, {"photo": pipeline}, now=NOW)

    assert (newer.status, older.status) == ("done", "superseded")
    assert older.reason == "generation 8 of this object was uploaded later; that version is the one processed"
    assert pipeline.runs == ["8"]


def test_a_newer_generation_waits_until_an_older_one_has_finished_writing():
    documents, pipeline = MemoryDocuments(), SlowPipeline(seconds=0.5)
    blobs = MemoryBlobs({("uploads", "acme/SKU-1.jpg"): JPEG_HEAD})
    finished: dict[str, float] = {}

    def deliver(generation: str) -> str:
        outcome = handle_upload(event(generation=generation), SETTINGS, blobs, documents, {"photo": pipeline}, now=NOW)
        finished[generation] = time.monotonic()
        return outcome.status

    with ThreadPoolExecutor(2) as pool:
        older = pool.submit(deliver, "7")
        time.sleep(0.1)  # the older one is classifying when the newer one arrives
        newer = pool.submit(deliver, "8")
        assert (older.result(), newer.result()) == ("done", "done")

    assert pipeline.runs == ["7", "8"], "the newer one ran after the older, so its writes land last"
    assert finished["8"] - finished["7"] >= 0.4


def test_an_import_of_an_older_generation_stops_when_a_newer_one_arrives():
    documents = MemoryDocuments()
    blobs = MemoryBlobs({("uploads", "acme/list.csv"): b"SKU,Name\nA-1,Apples\n"})
    pages_written: list[str] = []

    def import_pages(obj, file_format, now, still_current):
        for _ in range(50):  # a long file: 50 pages
            if not still_current():
                raise Superseded("a newer generation of this file was uploaded")
            pages_written.append(obj.generation)
            time.sleep(0.02)
        return {}

    def deliver(generation: str):
        return handle_upload(
            event(name="acme/list.csv", generation=generation),
            SETTINGS,
            blobs,
            documents,
            {"vendor_file": import_pages},
            now=NOW,
        )

    with ThreadPoolExecutor(2) as pool:
        older = pool.submit(deliver, "7")
        time.sleep(0.1)
        newer = pool.submit(deliver, "8")
        assert (older.result().status, newer.result().status) == ("superseded", "done")

    assert pages_written.count("8") == 50
    assert pages_written[-1] == "8" and "7" not in pages_written[pages_written.index("8") :]


def test_a_delivery_whose_worker_died_is_taken_over_once_its_lease_runs_out():
    documents, pipeline = MemoryDocuments(), SlowPipeline(seconds=0)
    blobs = MemoryBlobs({("uploads", "acme/SKU-1.jpg"): JPEG_HEAD})
    upload = upload_id("uploads", "acme/SKU-1.jpg", "7")
    handle_upload(event(), SETTINGS, blobs, documents, now=NOW)  # recorded; no pipeline: nothing ran
    entry = documents.get("uploads", upload)
    lease = timedelta(seconds=SETTINGS.lease_seconds)
    assert ledger.claim_attempt(documents, upload, entry, "e-1", NOW, lease).attempt == 1  # then killed

    early = replace(SETTINGS, busy_wait_seconds=0.1)
    with pytest.raises(UploadInProgress):
        handle_upload(event(), early, blobs, documents, {"photo": pipeline}, now=NOW + lease / 2)
    outcome = handle_upload(event(), SETTINGS, blobs, documents, {"photo": pipeline}, now=NOW + lease * 1.1)

    assert (outcome.status, outcome.attempt) == ("done", 2)
    assert pipeline.runs == ["7"]


def test_an_upload_that_keeps_failing_ends_failed_and_is_acknowledged():
    documents = MemoryDocuments()
    blobs = MemoryBlobs({("uploads", "acme/SKU-1.jpg"): JPEG_HEAD})
    failing = RecordingPipeline(ConnectionError("model release gs://models/classifier is missing"))
    settings = replace(SETTINGS, max_attempts=3)

    for _ in range(2):
        with pytest.raises(ConnectionError):
            handle_upload(event(), settings, blobs, documents, {"photo": failing}, now=NOW)
    last = handle_upload(event(), settings, blobs, documents, {"photo": failing}, now=NOW)
    later = handle_upload(event(), settings, blobs, documents, {"photo": failing}, now=NOW)

    entry = documents.get("uploads", upload_id("uploads", "acme/SKU-1.jpg", "7"))
    assert (last.status, later.status, entry["status"], entry["attempts"]) == ("failed", "failed", "failed", 3)
    assert entry["reason"] == (
        "gave up after 3 attempts; the last failed with "
        "ConnectionError: model release gs://models/classifier is missing"
    )
    assert failing.calls == 3


def test_an_event_the_function_cannot_read_still_leaves_a_rejected_upload_when_it_names_one():
    documents = MemoryDocuments()
    broken = {"bucket": "uploads", "name": "acme/ünï vendör/产品.jpg", "generation": "12", "size": "lots"}

    recorded = reject_unreadable_event(
        {"id": "e-9", "type": FINALIZED}, broken, "size must be a whole number", documents, NOW
    )
    nothing = reject_unreadable_event({"id": "e-10", "type": FINALIZED}, {"size": "3"}, "no object", documents, NOW)

    entry = documents.get("uploads", recorded)
    assert recorded == upload_id("uploads", "acme/ünï vendör/产品.jpg", "12") and nothing == ""
    assert (entry["status"], entry["vendor"], entry["reason"]) == (
        "rejected",
        "acme",
        "unreadable event: size must be a whole number",
    )
    assert list(documents.collections) == ["uploads"]


def test_a_failed_upload_is_retried_as_a_new_generation_of_the_same_bytes():
    documents = MemoryDocuments()
    blobs = MemoryBlobs({("uploads", "acme/SKU-1.jpg", "7"): JPEG_HEAD})
    failing = RecordingPipeline(ConnectionError("model release missing"))
    settings = replace(SETTINGS, max_attempts=1)
    assert handle_upload(event(), settings, blobs, documents, {"photo": failing}, now=NOW).status == "failed"
    lease = timedelta(seconds=SETTINGS.lease_seconds)

    generation = retry_upload(documents, blobs, upload_id("uploads", "acme/SKU-1.jpg", "7"), "ana@shop", NOW, lease)
    again = handle_upload(
        event(generation=generation), settings, blobs, documents, {"photo": RecordingPipeline()}, now=NOW
    )

    assert blobs.objects[("uploads", "acme/SKU-1.jpg", generation)] == JPEG_HEAD
    assert (generation, again.status) == ("8", "done")
    old = documents.get("uploads", upload_id("uploads", "acme/SKU-1.jpg", "7"))
    assert (old["status"], old["retried_as"], old["retried_by"]) == ("failed", "8", "ana@shop")
    with pytest.raises(RetryRefused, match="only failed or stuck"):
        retry_upload(documents, blobs, upload_id("uploads", "acme/SKU-1.jpg", "8"), "ana@shop", NOW, lease)


@pytest.mark.parametrize(
    "name", ["acme/../other/SKU-1.jpg", "-rm -rf/SKU.jpg", "acme/" + "S" * 1000 + ".jpg", "acme/x\x01.jpg"]
)
def test_a_name_that_is_not_vendor_slash_file_is_rejected_before_anything_is_read(name):
    documents, blobs = MemoryDocuments(), MemoryBlobs()

    outcome = handle_upload(event(name=name), SETTINGS, blobs, documents, now=NOW)

    entry = documents.get("uploads", upload_id("uploads", name, "7"))
    assert (outcome.status, entry["vendor"]) == ("rejected", "")
    assert outcome.reason and blobs.reads == 0


def test_an_object_in_the_folder_of_a_vendor_the_store_does_not_know_is_refused_unread():
    documents, blobs = MemoryDocuments(), MemoryBlobs({("uploads", "mallory/SKU-1.jpg"): JPEG_HEAD})
    store = replace(SETTINGS, vendors=frozenset({"acme", "globex"}))

    outcome = handle_upload(event(name="mallory/SKU-1.jpg"), store, blobs, documents, now=NOW)

    entry = documents.get("uploads", upload_id("uploads", "mallory/SKU-1.jpg", "7"))
    assert (outcome.status, entry["vendor"]) == ("rejected", ""), "shown under no vendor's name"
    assert outcome.reason.startswith("'mallory' is not a vendor of this store (CATALOGIST_VENDORS)")
    assert blobs.reads == 0
    known = handle_upload(event(name="acme/SKU-1.jpg"), store, MemoryBlobs(), MemoryDocuments(), now=NOW)
    assert known.reason != outcome.reason


def test_every_attempt_says_when_firestore_may_delete_it():
    documents, blobs = MemoryDocuments(), MemoryBlobs({("uploads", "acme/SKU-1.jpg"): JPEG_HEAD})

    handle_upload(event(), SETTINGS, blobs, documents, {"photo": RecordingPipeline()}, now=NOW)

    (attempt,) = documents.collections["upload_attempts"].values()
    assert attempt["expires_at"] == NOW + timedelta(days=14)
