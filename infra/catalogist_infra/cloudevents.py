"""The CloudEvent Eventarc sends for a finalized Storage object, in binary content mode.

Headers carry the event attributes (`ce-*`); the body is the object resource as JSON, the
same fields the Storage JSON API returns. Header values are percent-encoded as the CloudEvents
HTTP binding requires (and Eventarc does): object names are any UTF-8, and an HTTP header is
Latin-1 without control characters.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from cloudevents.conversion import to_binary
from cloudevents.http import CloudEvent

from catalogist.intake.events import FINALIZED

# Printable ASCII stays as it is, but for the two characters the binding escapes itself.
_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in '%"')


def object_resource(blob: Any) -> dict[str, Any]:
    """The JSON object resource of a `google.cloud.storage.Blob` listed from a bucket."""
    created = _rfc3339(blob.time_created)
    return {
        "kind": "storage#object",
        "id": f"{blob.bucket.name}/{blob.name}/{blob.generation}",
        "selfLink": blob.self_link,
        "name": blob.name,
        "bucket": blob.bucket.name,
        "generation": str(blob.generation),
        "metageneration": str(blob.metageneration or 1),
        "contentType": blob.content_type or "application/octet-stream",
        "timeCreated": created,
        "updated": _rfc3339(blob.updated) or created,
        "storageClass": blob.storage_class or "STANDARD",
        "size": str(blob.size or 0),
        "md5Hash": blob.md5_hash or "",
        "crc32c": blob.crc32c or "",
        "etag": blob.etag or "",
        "metadata": dict(blob.metadata or {}),
    }


def event_id(resource: dict[str, Any]) -> str:
    """Stable per object version, so a redelivery carries the same id, as in GCP."""
    identity = f"{resource['bucket']}/{resource['name']}#{resource['generation']}"
    return str(int(hashlib.sha256(identity.encode()).hexdigest()[:15], 16))


def binary_event(resource: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    """Headers and body of the HTTP request that delivers the event."""
    event = CloudEvent(
        {
            "id": event_id(resource),
            "type": FINALIZED,
            "source": f"//storage.googleapis.com/projects/_/buckets/{resource['bucket']}",
            "subject": f"objects/{resource['name']}",
            "time": resource["updated"] or datetime.now(UTC).isoformat(),
            "bucket": resource["bucket"],
            "datacontenttype": "application/json",
        },
        resource,
    )
    headers, body = to_binary(event, data_marshaller=lambda data: json.dumps(data).encode())
    return {name: quote(str(value), safe=_HEADER_SAFE) for name, value in headers.items()}, body


def _rfc3339(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
