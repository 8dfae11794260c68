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
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from catalogist.errors import PermanentError, Superseded, UploadInProgress
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
    now = now or datetime.now(UTC)
    obj = event.object
    upload_id = ledger.upload_id(obj.bucket, obj.name, obj.generation)
    context = {"upload_id": upload_id, "object": obj.uri, "event_id": event.event_id}

    age = (now - event.event_time).total_seconds()
    if age > settings.max_event_age_seconds:
        log.warning(
            "event older than the limit: acknowledged, not processed",
            extra={**context, "age_seconds": round(age, 1), "limit_seconds": settings.max_event_age_seconds},
        )
        return Outcome(upload_id, "stale")

    entry, redelivered = _recorded_entry(event, upload_id, settings, blobs, documents, now, context)
    pipeline = (pipelines or {}).get(entry["kind"])
    if entry["status"] != ledger.Status.RECEIVED or pipeline is None:
        return _finished(upload_id, entry, redelivered)

    outcome = _process(event, entry, pipeline, settings, documents, now, context)
    return replace(outcome, redelivered=redelivered)


def _process(
    event: StorageEvent,
    entry: dict[str, Any],
    pipeline: Pipeline,
    settings: Settings,
    documents: DocumentStore,
    now: datetime,
    context: dict[str, Any],
) -> Outcome:
    obj = event.object
    upload_id = context["upload_id"]
    lease = timedelta(seconds=settings.lease_seconds)
    claim = ledger.claim_attempt(documents, upload_id, entry, event.event_id, now, lease)
    if not claim.attempt:
        log.info("another delivery is processing this upload; waiting for it", extra=context)
        return _finished(upload_id, _wait_until_finished(documents, upload_id, settings, context), True)
    attempt = claim.attempt
    context["attempt"] = attempt
    if attempt > settings.max_attempts:
        return _give_up(documents, upload_id, entry, attempt, claim.previous, now, context)

    newer = _newer_version(documents, upload_id, entry)
    if newer:
        return _end(
            documents,
            upload_id,
            entry,
            attempt,
            ledger.Status.SUPERSEDED,
            f"generation {newer} of this object was uploaded later; that version is the one processed",
            {},
            now,
            context,
        )
    _wait_for_older_versions(documents, upload_id, entry, settings, now, context)

    def still_current() -> bool:
        return not _newer_version(documents, upload_id, entry)

    try:
        with _LeaseRenewal(documents, upload_id, attempt, lease):
            result = dict(pipeline(obj, entry.get("format", ""), now, still_current))
    except PermanentError as error:
        return _end(documents, upload_id, entry, attempt, ledger.Status.REJECTED, error.reason, {}, now, context)
    except Superseded as superseded:
        return _end(documents, upload_id, entry, attempt, ledger.Status.SUPERSEDED, str(superseded), {}, now, context)
    except Exception as error:
        failure = f"{type(error).__name__}: {error}"[:1000]
        if attempt >= settings.max_attempts:
            reason = f"gave up after {attempt} attempts; the last failed with {failure}"
            return _end(documents, upload_id, entry, attempt, ledger.Status.FAILED, reason, {}, now, context)
        finished = datetime.now(UTC)
        ledger.end_attempt(documents, upload_id, attempt, finished, failure)
        documents.update(ledger.COLLECTION, upload_id, {"last_error": failure, "updated_at": finished})
        log.warning("attempt failed; the event will be delivered again", extra={**context, "error": failure})
        raise
    return _end(documents, upload_id, entry, attempt, ledger.Status.DONE, "", result, now, context)


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


def _recorded_entry(
    event: StorageEvent,
    upload_id: str,
    settings: Settings,
    blobs: BlobReader,
    documents: DocumentStore,
    now: datetime,
    context: dict[str, Any],
) -> tuple[dict[str, Any], bool]:
    """The object version's ledger entry, written now if this is its first delivery."""
    entry = documents.get(ledger.COLLECTION, upload_id)
    if entry is not None:
        log.info("redelivered event", extra={**context, "status": entry["status"]})
        return entry, True
    verdict = _verdict(event, settings, blobs)
    entry = ledger.ledger_entry(
        event, verdict, now, claims_vendor=not vendor_problem(event.object.vendor, settings.vendors)
    )
    if not documents.create(ledger.COLLECTION, upload_id, entry):
        # A concurrent delivery of the same event recorded it first.
        return documents.get(ledger.COLLECTION, upload_id) or entry, True
    log.info(
        "upload recorded",
        extra={
            **context,
            "kind": entry["kind"],
            "status": entry["status"],
            "reason": entry["reason"],
            "vendor": entry["vendor"],
            "size": event.object.size,
        },
    )
    return entry, False


def _finished(upload_id: str, entry: Mapping[str, Any], redelivered: bool) -> Outcome:
    return Outcome(upload_id, entry["status"], entry["kind"], entry.get("reason", ""), redelivered)


def _wait_until_finished(
    documents: DocumentStore, upload_id: str, settings: Settings, context: dict[str, Any]
) -> dict[str, Any]:
    deadline = time.monotonic() + settings.busy_wait_seconds
    while True:
        entry = documents.get(ledger.COLLECTION, upload_id) or {}
        if entry.get("status") not in (None, ledger.Status.RECEIVED):
            return entry
        if time.monotonic() >= deadline:
            log.info("still being processed by another delivery; asking for redelivery", extra=context)
            raise UploadInProgress(f"upload {upload_id} is being processed by another delivery")
        time.sleep(POLL_SECONDS)


def _newer_version(documents: DocumentStore, upload_id: str, entry: Mapping[str, Any]) -> str:
    """The newest generation of the object above this entry's, or "" when this is the newest."""
    return newest(ledger.other_versions(documents, entry).values(), str(entry["generation"]))


def _wait_for_older_versions(
    documents: DocumentStore,
    upload_id: str,
    entry: Mapping[str, Any],
    settings: Settings,
    now: datetime,
    context: dict[str, Any],
) -> None:
    """An older generation still running would write after us; it stops at its next step once it
    sees this entry, so waiting is short. Raises `UploadInProgress` if it is not."""
    lease = timedelta(seconds=settings.lease_seconds)
    started = time.monotonic()
    while True:
        waited = time.monotonic() - started
        running = [
            other["generation"]
            for other_id, other in ledger.other_versions(documents, entry).items()
            if is_newer(str(entry["generation"]), str(other["generation"]))
            and ledger.is_running(documents, other, other_id, now + timedelta(seconds=waited), lease)
        ]
        if not running:
            return
        if waited >= settings.busy_wait_seconds:
            raise UploadInProgress(f"generation {running[0]} of this object is still being processed")
        log.info("an older generation is still running; waiting for it", extra={**context, "older": running})
        time.sleep(POLL_SECONDS)


def _give_up(
    documents: DocumentStore,
    upload_id: str,
    entry: Mapping[str, Any],
    attempt: int,
    previous: Mapping[str, Any] | None,
    now: datetime,
    context: dict[str, Any],
) -> Outcome:
    last = (previous or {}).get("outcome") or "it stopped without a result (killed, timed out or out of memory)"
    reason = f"gave up after {attempt - 1} attempts; the last: {last}"
    return _end(documents, upload_id, entry, attempt, ledger.Status.FAILED, reason, {}, now, context)


def _end(
    documents: DocumentStore,
    upload_id: str,
    entry: Mapping[str, Any],
    attempt: int,
    status: ledger.Status,
    reason: str,
    result: Mapping[str, Any],
    now: datetime,
    context: dict[str, Any],
) -> Outcome:
    finished = datetime.now(UTC)
    documents.update(
        ledger.COLLECTION,
        upload_id,
        {
            **result,
            "status": status.value,
            "reason": reason,
            "updated_at": finished,
            "processing_ms": round((finished - now).total_seconds() * 1000, 1),
        },
    )
    ledger.end_attempt(documents, upload_id, attempt, finished, status.value)
    log.log(
        logging.INFO if status in (ledger.Status.DONE, ledger.Status.SUPERSEDED) else logging.WARNING,
        f"{entry['kind']} {status.value}",
        extra={**context, "status": status.value, "reason": reason, **result},
    )
    return Outcome(upload_id, status.value, entry["kind"], reason, False, attempt)


class _LeaseRenewal:
    """Renews the attempt's lease every third of its length while the pipeline runs, so a long
    import keeps its claim and a killed one loses it within one lease."""

    def __init__(self, documents: DocumentStore, upload_id: str, attempt: int, lease: timedelta) -> None:
        self._documents = documents
        self._upload_id = upload_id
        self._attempt = attempt
        self._lease = lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{upload_id[:8]}", daemon=True)

    def __enter__(self) -> _LeaseRenewal:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._lease.total_seconds() / 3):
            try:
                ledger.renew_lease(self._documents, self._upload_id, self._attempt, datetime.now(UTC) + self._lease)
            except Exception:  # the next renewal may get through; the work itself decides the outcome
                log.warning("could not renew the lease", extra={"upload_id": self._upload_id}, exc_info=True)


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
