"""`on_upload`'s core: from a finalized-object event to an entry in the upload ledger, then on
to the pipeline of the object's kind (photo or vendor file).

Each object version is processed by one delivery at a time and, once finished, never again:
the delivery that claims an attempt (`ledger.claim_attempt`) runs the pipeline; concurrent
deliveries of the same event wait for its result, and answer "in progress" (retried later) if
it takes longer than they may wait. The newest generation of an object wins: a version whose
object has a newer generation in the ledger ends `superseded` without being processed, and a
newer version waits for an older one still running (a file import stops at its next page when
it sees the newer one). Permanent problems (an empty, oversized, unsupported or corrupt
object) end as `rejected` with the reason; transient ones (Storage or Firestore unavailable)
raise so the event is redelivered, until the attempt limit, after which the entry ends `failed`
with the last error and the event is acknowledged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from catalogist.errors import HandedToJob, PermanentError, Superseded, UploadInProgress
from catalogist.intake import ledger
from catalogist.intake.events import FINALIZED, StorageEvent, StorageObject, is_newer, newest, object_name_problem
from catalogist.ports import BlobReader, DocumentStore
from catalogist.settings import Settings
from catalogist.vendorfiles.formats import HEAD_BYTES, Kind, Verdict, detect_kind

log = logging.getLogger("catalogist.intake.uploads")

POLL_SECONDS = 0.2  # how often a waiting delivery looks at the ledger again


class Pipeline(Protocol):
    def __call__(
        self, obj: StorageObject, file_format: str, now: datetime, still_current: Callable[[], bool]
    ) -> Mapping[str, Any]:
        """Process the object; the fields returned are added to its ledger entry.

        Raise `PermanentError` for bad input, anything else for a transient failure. A long
        pipeline calls `still_current()` between steps and raises `Superseded` when it is False.
        """
        ...


@dataclass(frozen=True)
class Outcome:
    upload_id: str
    status: str  # a ledger status, or "stale" when the event was too old to process
    kind: str = ""
    reason: str = ""
    redelivered: bool = False
    attempt: int = 0  # the attempt this delivery ran; 0 when it ran nothing


def handle_upload(
    event: StorageEvent,
    settings: Settings,
    blobs: BlobReader,
    documents: DocumentStore,
    pipelines: Mapping[str, Pipeline] | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Raises `UploadInProgress` when another delivery is still processing this object version
    (or an older one) after waiting `settings.busy_wait_seconds`: the event should come again."""
    delivery = Delivery(event, settings, documents, now or datetime.now(UTC))
    age = (delivery.now - event.event_time).total_seconds()
    if age > settings.max_event_age_seconds:
        limit = settings.max_event_age_seconds
        log.warning(
            "event older than the limit: acknowledged, not processed",
            extra={**delivery.context, "age_seconds": round(age, 1), "limit_seconds": limit},
        )
        return Outcome(delivery.upload_id, "stale")

    entry, redelivered = delivery.record(blobs)
    pipeline = (pipelines or {}).get(entry["kind"])
    if entry["status"] != ledger.Status.RECEIVED or pipeline is None:
        return _finished(delivery.upload_id, entry, redelivered)
    return replace(delivery.process(entry, pipeline), redelivered=redelivered)


class Delivery:
    """One delivery of one object version's event: what it records in the ledger, the attempt it
    claims, and how that attempt ends."""

    def __init__(self, event: StorageEvent, settings: Settings, documents: DocumentStore, now: datetime) -> None:
        self.event, self.settings, self.documents, self.now = event, settings, documents, now
        obj = event.object
        self.upload_id = ledger.upload_id(obj.bucket, obj.name, obj.generation)
        self.context: dict[str, Any] = {"upload_id": self.upload_id, "object": obj.uri, "event_id": event.event_id}
        self.lease = timedelta(seconds=settings.lease_seconds)
        self.attempt = 0

    def record(self, blobs: BlobReader) -> tuple[dict[str, Any], bool]:
        """The object version's ledger entry, written now if this is its first delivery; and
        whether it was there already (a redelivery)."""
        documents, settings, event = self.documents, self.settings, self.event
        entry = documents.get(ledger.COLLECTION, self.upload_id)
        if entry is not None:
            log.info("redelivered event", extra={**self.context, "status": entry["status"]})
            return entry, True
        verdict = _verdict(event, settings, blobs)
        known_vendor = not vendor_problem(event.object.vendor, settings.vendors)
        entry = ledger.ledger_entry(event, verdict, self.now, claims_vendor=known_vendor)
        if not documents.create(ledger.COLLECTION, self.upload_id, entry):
            # A concurrent delivery of the same event recorded it first.
            return documents.get(ledger.COLLECTION, self.upload_id) or entry, True
        log.info(
            "upload recorded",
            extra={
                **self.context,
                "kind": entry["kind"],
                "status": entry["status"],
                "reason": entry["reason"],
                "vendor": entry["vendor"],
                "size": event.object.size,
            },
        )
        return entry, False

    def process(self, entry: dict[str, Any], pipeline: Pipeline) -> Outcome:
        documents, settings = self.documents, self.settings
        claim = ledger.claim_attempt(documents, self.upload_id, entry, self.event.event_id, self.now, self.lease)
        if not claim.attempt:
            log.info("another delivery is processing this upload; waiting for it", extra=self.context)
            return _finished(self.upload_id, self._wait_until_finished(), True)
        self.attempt = claim.attempt
        self.context["attempt"] = claim.attempt
        if claim.attempt > settings.max_attempts:
            last = (claim.previous or {}).get("outcome") or (
                "it stopped without a result (killed, timed out or out of memory)"
            )
            reason = f"gave up after {claim.attempt - 1} attempts; the last: {last}"
            return self.end(entry, ledger.Status.FAILED, reason)

        newer = self._newer_version(entry)
        if newer:
            reason = f"generation {newer} of this object was uploaded later; that version is the one processed"
            return self.end(entry, ledger.Status.SUPERSEDED, reason)
        self._wait_for_older_versions(entry)

        def still_current() -> bool:
            return not self._newer_version(entry)

        try:
            with ledger.KeptLease(documents, self.upload_id, self.attempt, self.lease):
                result = dict(pipeline(self.event.object, entry.get("format", ""), self.now, still_current))
        except PermanentError as error:
            return self.end(entry, ledger.Status.REJECTED, error.reason)
        except HandedToJob as handed:
            # The job ends the upload (`intake.handoff`); until then redeliveries answer at once.
            return self.end(entry, ledger.Status.IMPORTING, handed.reason, handed.fields)
        except Superseded as superseded:
            return self.end(entry, ledger.Status.SUPERSEDED, str(superseded))
        except Exception as error:
            failure = f"{type(error).__name__}: {error}"[:1000]
            if self.attempt >= settings.max_attempts:
                reason = f"gave up after {self.attempt} attempts; the last failed with {failure}"
                return self.end(entry, ledger.Status.FAILED, reason)
            finished = datetime.now(UTC)
            ledger.end_attempt(documents, self.upload_id, self.attempt, finished, failure)
            documents.update(ledger.COLLECTION, self.upload_id, {"last_error": failure, "updated_at": finished})
            log.warning("attempt failed; the event will be delivered again", extra={**self.context, "error": failure})
            raise
        return self.end(entry, ledger.Status.DONE, "", result)

    def end(
        self, entry: Mapping[str, Any], status: ledger.Status, reason: str, result: Mapping[str, Any] | None = None
    ) -> Outcome:
        result = result or {}
        finished = datetime.now(UTC)
        ended = {
            **result,
            "status": status.value,
            "reason": reason,
            "updated_at": finished,
            "processing_ms": round((finished - self.now).total_seconds() * 1000, 1),
        }
        self.documents.update(ledger.COLLECTION, self.upload_id, ended)
        ledger.end_attempt(self.documents, self.upload_id, self.attempt, finished, status.value)
        log.log(
            logging.INFO
            if status in (ledger.Status.DONE, ledger.Status.SUPERSEDED, ledger.Status.IMPORTING)
            else logging.WARNING,
            f"{entry['kind']} {status.value}",
            extra={**self.context, "status": status.value, "reason": reason, **result},
        )
        return Outcome(self.upload_id, status.value, entry["kind"], reason, False, self.attempt)

    def _wait_until_finished(self) -> dict[str, Any]:
        deadline = time.monotonic() + self.settings.busy_wait_seconds
        while True:
            entry = self.documents.get(ledger.COLLECTION, self.upload_id) or {}
            if entry.get("status") not in (None, ledger.Status.RECEIVED):
                return entry
            if time.monotonic() >= deadline:
                log.info("still being processed by another delivery; asking for redelivery", extra=self.context)
                raise UploadInProgress(f"upload {self.upload_id} is being processed by another delivery")
            time.sleep(POLL_SECONDS)

    def _newer_version(self, entry: Mapping[str, Any]) -> str:
        """The newest generation of the object above this entry's, or "" when this is the newest."""
        return newest(ledger.other_versions(self.documents, entry).values(), str(entry["generation"]))

    def _wait_for_older_versions(self, entry: Mapping[str, Any]) -> None:
        """An older generation still running would write after us; it stops at its next step once
        it sees this entry, so waiting is short. Raises `UploadInProgress` if it is not."""
        started = time.monotonic()
        while True:
            waited = time.monotonic() - started
            at = self.now + timedelta(seconds=waited)
            running = [
                other["generation"]
                for other_id, other in ledger.other_versions(self.documents, entry).items()
                if is_newer(str(entry["generation"]), str(other["generation"]))
                and ledger.is_running(self.documents, other, other_id, at, self.lease)
            ]
            if not running:
                return
            if waited >= self.settings.busy_wait_seconds:
                raise UploadInProgress(f"generation {running[0]} of this object is still being processed")
            log.info("an older generation is still running; waiting for it", extra={**self.context, "older": running})
            time.sleep(POLL_SECONDS)


def reject_unreadable_event(
    attributes: Mapping[str, Any], data: Any, reason: str, documents: DocumentStore, now: datetime | None = None
) -> str:
    """Record an event the function cannot read as a `rejected` upload an admin sees, when it
    still names an object version (bucket, name, generation); the upload id, or "" when it names
    none (then there is nothing to show but the log line)."""
    now = now or datetime.now(UTC)
    names_an_upload = attributes.get("type") == FINALIZED and isinstance(data, Mapping)
    if not names_an_upload or not all(str(data.get(key) or "") for key in ("bucket", "name", "generation")):
        # another event type (a deletion routed here by mistake) is not an upload to show
        log.error("unreadable event that names no upload: not processed", extra={"reason": reason})
        return ""
    generation = str(data["generation"])
    obj = StorageObject(str(data["bucket"]), str(data["name"]), generation if generation.isdigit() else "0", 0)
    event = StorageEvent(str(attributes.get("id") or ""), now, obj)
    upload_id = ledger.upload_id(obj.bucket, obj.name, generation)
    entry = {**ledger.ledger_entry(event, Verdict(Kind.UNSUPPORTED, "", f"unreadable event: {reason}"), now)}
    entry["generation"] = generation
    if documents.create(ledger.COLLECTION, upload_id, entry):
        log.warning("unreadable event recorded as rejected", extra={"upload_id": upload_id, "reason": reason})
    return upload_id


def _finished(upload_id: str, entry: Mapping[str, Any], redelivered: bool) -> Outcome:
    return Outcome(upload_id, entry["status"], entry["kind"], entry.get("reason", ""), redelivered)


def _verdict(event: StorageEvent, settings: Settings, blobs: BlobReader) -> Verdict:
    obj = event.object
    problem = object_name_problem(obj.name) or vendor_problem(obj.vendor, settings.vendors)
    if problem:  # before anything is read or written under the vendor the name claims
        return Verdict(Kind.UNSUPPORTED, "", problem)
    if obj.size > settings.max_file_bytes:  # the larger limit: too big for any kind
        return _too_large(obj.size, settings.max_file_bytes)
    if obj.size == 0:
        return detect_kind(obj.name, obj.content_type, b"")
    try:
        head = blobs.read_range(obj.bucket, obj.name, obj.generation, HEAD_BYTES)
    except PermanentError as error:
        return Verdict(Kind.UNSUPPORTED, "", error.reason)
    verdict = detect_kind(obj.name, obj.content_type, head)
    if verdict.kind is Kind.PHOTO and obj.size > settings.max_photo_bytes:
        return _too_large(obj.size, settings.max_photo_bytes, "a photo")
    return verdict


def vendor_problem(vendor: str, vendors: frozenset[str]) -> str:
    """Why an upload's folder is not one of the store's vendors ("" when it is, or when the store
    takes any folder: `CATALOGIST_VENDORS` empty, as on a developer's machine)."""
    if not vendors or vendor in vendors:
        return ""
    shown = vendor if len(vendor) <= 70 else vendor[:67] + "..."
    return (
        f"'{shown}' is not a vendor of this store (CATALOGIST_VENDORS): nothing was read; "
        "register the vendor, or upload under its own folder"
    )


def _too_large(size: int, limit: int, what: str = "an upload") -> Verdict:
    return Verdict(Kind.UNSUPPORTED, "", f"the object is {size:,} bytes, above the limit of {limit:,} for {what}")
