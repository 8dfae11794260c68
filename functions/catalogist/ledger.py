"""The upload ledger: one `uploads/{upload_id}` document per object version.

The id is derived from bucket, name and generation, so a redelivered event finds the entry it
already wrote instead of adding another.
"""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime
from typing import Any

from catalogist.events import StorageEvent
from catalogist.kinds import Kind, Verdict

COLLECTION = "uploads"


class Status(enum.StrEnum):
    RECEIVED = "received"
    DONE = "done"
    REJECTED = "rejected"


FINAL_STATUSES = {Status.DONE, Status.REJECTED}


def upload_id(bucket: str, name: str, generation: str) -> str:
    """Stable and safe as a Firestore id (object names contain `/`)."""
    identity = f"{bucket}\n{name}\n{generation}".encode()
    return hashlib.sha256(identity).hexdigest()[:40]


def ledger_entry(event: StorageEvent, verdict: Verdict, received_at: datetime) -> dict[str, Any]:
    obj = event.object
    rejected = verdict.kind is Kind.UNSUPPORTED
    return {
        "bucket": obj.bucket,
        "name": obj.name,
        "generation": obj.generation,
        "size": obj.size,
        "content_type": obj.content_type,
        "md5_hash": obj.md5_hash,
        "time_created": obj.time_created,
        "metadata": dict(obj.metadata),
        "vendor": obj.vendor,
        "kind": verdict.kind.value,
        "format": verdict.format,
        "status": (Status.REJECTED if rejected else Status.RECEIVED).value,
        "reason": verdict.reason,
        "event_id": event.event_id,
        "event_time": event.event_time,
        "received_at": received_at,
        "updated_at": received_at,
    }
