"""`on_upload`'s core: from a finalized-object event to an entry in the upload ledger, then on
to the pipeline of the object's kind (photo or vendor file).

Permanent problems (an empty, oversized, unsupported or corrupt object) end as a `rejected`
entry with the reason; transient ones (Storage or Firestore unavailable) raise so the event is
redelivered, and the redelivery continues from the `received` entry.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from catalogist import ledger
from catalogist.errors import PermanentError
from catalogist.events import StorageEvent, StorageObject
from catalogist.kinds import HEAD_BYTES, Kind, Verdict, detect_kind
from catalogist.ports import BlobReader, DocumentStore
from catalogist.settings import Settings

log = logging.getLogger("catalogist.uploads")


class Pipeline(Protocol):
    def __call__(self, obj: StorageObject, file_format: str, now: datetime) -> Mapping[str, Any]:
        """Process the object; the fields returned are added to its ledger entry.

        Raise `PermanentError` for bad input, anything else for a transient failure.
        """
        ...


@dataclass(frozen=True)
class Outcome:
    upload_id: str
    status: str  # a ledger status, or "stale" when the event was too old to process
    kind: str = ""
    reason: str = ""
    redelivered: bool = False


def handle_upload(
    event: StorageEvent,
    settings: Settings,
    blobs: BlobReader,
    documents: DocumentStore,
    pipelines: Mapping[str, Pipeline] | None = None,
    now: datetime | None = None,
) -> Outcome:
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

    entry = documents.get(ledger.COLLECTION, upload_id)
    redelivered = entry is not None
    if entry is None:
        verdict = _verdict(event, settings, blobs)
        entry = ledger.ledger_entry(event, verdict, received_at=now)
        if not documents.create(ledger.COLLECTION, upload_id, entry):
            # A concurrent delivery of the same event won the race; it carries on from here.
            entry = documents.get(ledger.COLLECTION, upload_id) or entry
            redelivered = True
        else:
            log.info(
                "upload recorded",
                extra={
                    **context,
                    "kind": entry["kind"],
                    "status": entry["status"],
                    "reason": entry["reason"],
                    "vendor": entry["vendor"],
                    "size": obj.size,
                },
            )
    if redelivered:
        log.info("redelivered event", extra={**context, "status": entry["status"]})

    pipeline = (pipelines or {}).get(entry["kind"])
    if entry["status"] != ledger.Status.RECEIVED or pipeline is None:
        return Outcome(upload_id, entry["status"], entry["kind"], entry.get("reason", ""), redelivered)

    try:
        result = dict(pipeline(obj, entry.get("format", ""), now))
        status, reason = ledger.Status.DONE, ""
    except PermanentError as error:
        result, status, reason = {}, ledger.Status.REJECTED, error.reason
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
    log.log(
        logging.INFO if status is ledger.Status.DONE else logging.WARNING,
        f"{entry['kind']} {status.value}",
        extra={**context, "status": status.value, "reason": reason, **result},
    )
    return Outcome(upload_id, status.value, entry["kind"], reason, redelivered)


def _verdict(event: StorageEvent, settings: Settings, blobs: BlobReader) -> Verdict:
    obj = event.object
    if not obj.vendor:
        return Verdict(Kind.UNSUPPORTED, "", "uploads must be under a vendor folder: <vendor>/<file>")
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


def _too_large(size: int, limit: int, what: str = "an upload") -> Verdict:
    return Verdict(Kind.UNSUPPORTED, "", f"the object is {size:,} bytes, above the limit of {limit:,} for {what}")
