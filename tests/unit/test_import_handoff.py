"""Big files handed to an import job, with in-memory adapters: what the delivery records and
answers, the job's taking over (and refusing what is not its own), its attempts, its end, and
an upload whose job died. The job itself runs in tests/integration/test_import_job.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from catalogist.errors import CatalogistError
from catalogist.imports.jobs import ImportJobs
from catalogist.imports.pipeline import FilePipeline
from catalogist.intake import handoff, ledger
from catalogist.intake.events import FINALIZED, parse_storage_event
from catalogist.intake.ledger import upload_id
from catalogist.intake.retry import retry_upload
from catalogist.intake.uploads import handle_upload
from catalogist.ports import LaunchedJob
from catalogist.settings import Settings
from tests.support import CSV, Models
from tests.unit.fakes import MemoryBlobs, MemoryDocuments

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SETTINGS = Settings(project="p", models_bucket="models", model_location="gs://models", busy_wait_seconds=1)
BIG = 50  # bytes: the price list (tests.support.CSV, 89 bytes) is above it
LEASE = timedelta(seconds=60)


@dataclass
class RecordingLauncher:
    launched: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    refuse: bool = False

    def launch(self, name, parameters):
        if self.refuse:
            raise CatalogistError("Dataflow refused the import job: 403")
        self.launched.append((name, dict(parameters)))
        return LaunchedJob(name, f"job-{len(self.launched)}", "dataflow", f"https://console/{name}")


def event(generation="7", content=CSV):
    attributes = {"type": FINALIZED, "id": f"e-{generation}", "time": NOW.isoformat()}
    data = {"bucket": "uploads", "name": "acme/prices.csv", "generation": generation, "size": str(len(content))}
    return parse_storage_event(attributes, data)


def deliver(documents, launcher, generation="7", content=CSV, now=NOW):
    blobs = MemoryBlobs({("uploads", "acme/prices.csv"): content.encode()})
    jobs = ImportJobs(launcher, BIG, {"project": "p", "textcat_release": "gs://models/textcat"})
    pipelines = {"vendor_file": FilePipeline(blobs, documents, Models(), jobs=jobs)}
    return handle_upload(event(generation, content), SETTINGS, blobs, documents, pipelines, now=now)


def entry_of(documents, generation="7"):
    return documents.get(ledger.COLLECTION, upload_id("uploads", "acme/prices.csv", generation))


def test_a_big_file_is_handed_to_a_job_and_the_delivery_answers_at_once():
    documents, launcher = MemoryDocuments(), RecordingLauncher()

    outcome = deliver(documents, launcher)

    upload = upload_id("uploads", "acme/prices.csv", "7")
    ((name, parameters),) = launcher.launched
    assert name == handoff.job_name(upload)
    assert parameters == {
        "project": "p",
        "textcat_release": "gs://models/textcat",
        "upload_id": upload,
        "file_format": "csv",
    }
    entry = entry_of(documents)
    assert (outcome.status, entry["status"], entry["import_id"]) == ("importing", "importing", upload)
    assert entry["job"] | {"launched_at": None} == {
        "name": name,
        "id": "job-1",
        "runner": "dataflow",
        "console": f"https://console/{name}",
        "state": "launched",
        "launched_at": None,
    }
    assert entry["reason"] == f"imported by the batch job {name} (dataflow)"
    report = documents.get("imports", upload)
    assert (report["status"], report["job"], report["rows_seen"]) == ("running", name, 0)
    assert "waiting for the batch job" in report["reason"]
    assert not documents.collections.get("products"), "no row is imported in the delivery"


def test_a_redelivery_of_a_handed_over_upload_launches_nothing():
    documents, launcher = MemoryDocuments(), RecordingLauncher()
    deliver(documents, launcher)

    again = deliver(documents, launcher, now=NOW + timedelta(seconds=30))

    assert (again.status, again.redelivered, len(launcher.launched)) == ("importing", True, 1)


def test_a_small_file_is_still_imported_in_the_delivery():
    documents, launcher = MemoryDocuments(), RecordingLauncher()
    blobs = MemoryBlobs({("uploads", "acme/prices.csv"): CSV.encode()})
    jobs = ImportJobs(launcher, 10_000, {})
    pipelines = {"vendor_file": FilePipeline(blobs, documents, Models(), jobs=jobs)}

    outcome = handle_upload(event(), SETTINGS, blobs, documents, pipelines, now=NOW)

    assert (outcome.status, launcher.launched) == ("done", [])
    assert len(documents.collections["products"]) == 2


def test_a_refused_launch_fails_the_attempt_and_the_upload_ends_failed_after_its_attempts():
    documents, launcher = MemoryDocuments(), RecordingLauncher(refuse=True)
    for attempt in range(SETTINGS.max_attempts - 1):
        with pytest.raises(CatalogistError, match="refused"):
            deliver(documents, launcher, now=NOW + timedelta(minutes=attempt))

    last = deliver(documents, launcher, now=NOW + timedelta(minutes=10))

    assert last.status == "failed"
    assert "refused the import job" in entry_of(documents)["reason"]


def clock():
    return NOW + timedelta(seconds=5)


def test_the_job_takes_its_upload_over_with_an_attempt_of_its_own_and_ends_it_like_a_delivery():
    documents = MemoryDocuments()
    deliver(documents, RecordingLauncher())
    upload = upload_id("uploads", "acme/prices.csv", "7")
    name = handoff.job_name(upload)

    taken = handoff.take_over(documents, upload, name, clock, LEASE, SETTINGS.max_attempts)
    assert taken is not None and taken.attempt == 2
    assert entry_of(documents)["job"]["state"] == "running"
    handoff.end(documents, taken, ledger.Status.DONE, "", {"rows_seen": 2, "rows_written": 2}, now=clock())

    entry = entry_of(documents)
    assert (entry["status"], entry["rows_written"], entry["job"]["state"], entry["job"]["attempt"]) == (
        "done",
        2,
        "ended",
        2,
    )
    assert documents.get(ledger.ATTEMPTS, ledger.attempt_id(upload, 2))["outcome"] == "done"
    assert handoff.take_over(documents, upload, name, clock, LEASE, SETTINGS.max_attempts) is None, "ended: once"


def test_a_job_that_is_not_the_upload_s_takes_nothing():
    documents = MemoryDocuments()
    deliver(documents, RecordingLauncher())
    upload = upload_id("uploads", "acme/prices.csv", "7")

    assert handoff.take_over(documents, upload, "catalogist-import-another", clock, LEASE, 5) is None
    assert handoff.take_over(documents, "no-such-upload", handoff.job_name(upload), clock, LEASE, 5) is None
    assert entry_of(documents)["status"] == "importing"


def test_a_job_whose_file_has_a_newer_generation_ends_it_superseded_without_importing():
    documents = MemoryDocuments()
    deliver(documents, RecordingLauncher())
    deliver(documents, RecordingLauncher(), generation="8")
    upload = upload_id("uploads", "acme/prices.csv", "7")

    assert handoff.take_over(documents, upload, handoff.job_name(upload), clock, LEASE, 5) is None

    entry = entry_of(documents)
    assert entry["status"] == "superseded" and "generation 8" in entry["reason"]


def test_a_job_out_of_attempts_ends_its_upload_failed():
    documents = MemoryDocuments()
    deliver(documents, RecordingLauncher())
    upload = upload_id("uploads", "acme/prices.csv", "7")
    name = handoff.job_name(upload)
    for attempt in range(2, SETTINGS.max_attempts + 1):
        taken = handoff.take_over(documents, upload, name, clock, LEASE, SETTINGS.max_attempts)
        assert taken is not None and taken.attempt == attempt
        ledger.end_attempt(documents, upload, attempt, clock(), "OSError: the store went away")

    assert handoff.take_over(documents, upload, name, clock, LEASE, SETTINGS.max_attempts) is None

    entry = entry_of(documents)
    assert entry["status"] == "failed"
    assert "gave up after 5 attempts; the last: OSError: the store went away" in entry["reason"]


def test_an_upload_whose_job_died_is_stuck_and_can_be_retried_by_hand():
    documents = MemoryDocuments()
    deliver(documents, RecordingLauncher())
    upload = upload_id("uploads", "acme/prices.csv", "7")
    taken = handoff.take_over(documents, upload, handoff.job_name(upload), clock, LEASE, 5)
    assert taken is not None
    entry = entry_of(documents)
    blobs = MemoryBlobs({("uploads", "acme/prices.csv", "7"): CSV.encode()})

    alive = handoff.is_stuck(documents, entry, upload, clock() + LEASE / 2, LEASE)
    dead = handoff.is_stuck(documents, entry, upload, clock() + 2 * LEASE, LEASE)
    never_started = handoff.is_stuck(
        documents, {**entry, "job": {"state": "launched", "launched_at": NOW}}, upload, NOW + timedelta(hours=1), LEASE
    )

    assert (alive, dead, never_started) == (False, True, True)
    assert retry_upload(documents, blobs, upload, "ana", clock() + 2 * LEASE, LEASE) == "8"
