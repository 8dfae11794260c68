"""`on_upload`'s core: from a finalized-object event to an entry in the upload ledger.

Permanent problems (an empty, oversized or unsupported object) end as a `rejected` entry with
the reason; transient ones (Storage or Firestore unavailable) raise so the event is redelivered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from catalogist import ledger
from catalogist.errors import PermanentError
from catalogist.events import StorageEvent
from catalogist.kinds import HEAD_BYTES, Kind, Verdict, detect_kind
from catalogist.ports import BlobReader, DocumentStore
from catalogist.settings import Settings

log = logging.getLogger("catalogist.uploads")


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

    existing = documents.get(ledger.COLLECTION, upload_id)
    if existing is not None:
        log.info("redelivered event: ledger entry exists", extra={**context, "status": existing["status"]})
        return Outcome(upload_id, existing["status"], existing["kind"], existing.get("reason", ""), True)

    verdict = _verdict(event, settings, blobs)
    entry = ledger.ledger_entry(event, verdict, received_at=now)
    if not documents.create(ledger.COLLECTION, upload_id, entry):
        # A concurrent delivery of the same event won the race; its entry stands.
        current = documents.get(ledger.COLLECTION, upload_id) or entry
        return Outcome(upload_id, current["status"], current["kind"], current.get("reason", ""), True)

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
    return Outcome(upload_id, entry["status"], entry["kind"], entry["reason"])


def _verdict(event: StorageEvent, settings: Settings, blobs: BlobReader) -> Verdict:
    obj = event.object
    if not obj.vendor:
        return Verdict(Kind.UNSUPPORTED, "", "uploads must be under a vendor folder: <vendor>/<file>")
    if obj.size > settings.max_object_bytes:
        return Verdict(
            Kind.UNSUPPORTED,
            "",
            f"the object is {obj.size:,} bytes, above the limit of {settings.max_object_bytes:,}",
        )
    if obj.size == 0:
        return detect_kind(obj.name, obj.content_type, b"")
    try:
        head = blobs.read_range(obj.bucket, obj.name, obj.generation, HEAD_BYTES)
    except PermanentError as error:
        return Verdict(Kind.UNSUPPORTED, "", error.reason)
    return detect_kind(obj.name, obj.content_type, head)
