"""Reading a Storage `object.finalized` CloudEvent into a small typed value.

Eventarc delivers the object resource (bucket, name, generation, contentType, size, …) as the
event data; anything else is a malformed event and gets a 400 at the HTTP edge.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from catalogist.errors import BadEvent

FINALIZED = "google.cloud.storage.object.v1.finalized"
# A vendor id names the vendor's folder and starts every product id (`<vendor>:<sku>`): ASCII
# letters, digits, dot, dash and underscore, starting with a letter or digit, so it is never
# "." or "..", never a Firestore-reserved `__x__`, and reads the same in every log and URL.
VENDOR_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_FILE_NAME_CHARS = 255  # as file systems allow; a photo's file name is its SKU
# Invisible characters that reorder the text around them: `photo\u202egpj.exe` shows as `photoexe.jpg`.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@dataclass(frozen=True)
class StorageObject:
    """One version of one object in a bucket, as the event describes it."""

    bucket: str
    name: str
    generation: str
    size: int
    content_type: str = ""
    md5_hash: str = ""
    time_created: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def vendor(self) -> str:
        """The first path segment: uploads are `<vendor>/<file>`."""
        head, sep, _ = self.name.partition("/")
        return head if sep else ""

    @property
    def uri(self) -> str:
        return f"gs://{self.bucket}/{self.name}#{self.generation}"


def object_name_problem(name: str) -> str:
    """Why an uploaded object's name cannot be taken as `<vendor>/<file>`, in words an admin reads;
    "" when it can. Pure, so the ledger can refuse such an upload before anything is written
    under its vendor."""
    for position, char in enumerate(name, start=1):
        if unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS:
            return (
                f"the object name has a control character (U+{ord(char):04X}) at position {position}; rename the file"
            )
    vendor, slash, path = name.partition("/")
    if not slash or not vendor:
        return "uploads must be under a vendor folder: <vendor>/<file>"
    if not VENDOR_ID.fullmatch(vendor):
        shown = vendor if len(vendor) <= 70 else vendor[:67] + "..."
        return (
            f"the vendor folder '{shown}' is not a vendor id: 1 to 64 letters, digits, '.', '-' or '_', "
            "starting with a letter or digit"
        )
    segments = path.split("/")
    if any(segment in (".", "..") for segment in segments) or "\\" in path:
        return "the object name has a '.' or '..' path segment or a backslash; upload to <vendor>/<file>"
    if not segments[-1]:
        return "the object name ends in '/': it names a folder, not a file"
    if "" in segments:
        return "the object name has an empty folder ('//'); upload to <vendor>/<file>"
    if len(segments[-1]) > MAX_FILE_NAME_CHARS:
        return f"the file name is {len(segments[-1]):,} characters long; at most {MAX_FILE_NAME_CHARS} are accepted"
    return ""


def is_newer(generation: str, than: str) -> bool:
    """Whether object generation `generation` was uploaded after `than`. Cloud Storage
    generations grow with time across all objects of a bucket, so this orders versions of one
    object and uploads of different files alike. A file imported from disk carries its content
    hash instead, which is neither newer nor older than anything."""
    return generation.isdigit() and than.isdigit() and int(generation) > int(than)


def newest(versions: Iterable[Mapping[str, Any]], than: str) -> str:
    """The newest generation among `versions` (ledger entries) above `than`, or ""."""
    newer = [str(v["generation"]) for v in versions if is_newer(str(v["generation"]), than)]
    return max(newer, key=int) if newer else ""


@dataclass(frozen=True)
class StorageEvent:
    event_id: str
    event_time: datetime
    object: StorageObject


def parse_storage_event(attributes: Mapping[str, Any], data: Any) -> StorageEvent:
    """Check the event type and the object fields; raise `BadEvent` saying what is wrong."""
    event_type = attributes.get("type")
    if event_type != FINALIZED:
        raise BadEvent(f"expected event type {FINALIZED}, got {event_type!r}")
    event_id = str(attributes.get("id") or "")
    if not event_id:
        raise BadEvent("the event has no id")
    if not isinstance(data, Mapping):
        raise BadEvent(f"the event data must be the object resource as JSON, got {type(data).__name__}")
    missing = [key for key in ("bucket", "name", "generation", "size") if data.get(key) in (None, "")]
    if missing:
        raise BadEvent(f"the object resource lacks {', '.join(missing)}")
    try:
        size = int(data["size"])
        generation = str(int(data["generation"]))
    except (TypeError, ValueError):
        raise BadEvent(
            f"size and generation must be whole numbers, got {data['size']!r} and {data['generation']!r}"
        ) from None
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise BadEvent("the object metadata must be a JSON object")
    return StorageEvent(
        event_id=event_id,
        event_time=_event_time(attributes.get("time")),
        object=StorageObject(
            bucket=str(data["bucket"]),
            name=str(data["name"]),
            generation=generation,
            size=size,
            content_type=str(data.get("contentType") or ""),
            md5_hash=str(data.get("md5Hash") or ""),
            time_created=str(data.get("timeCreated") or ""),
            metadata={str(k): str(v) for k, v in metadata.items()},
        ),
    )


def _event_time(raw: Any) -> datetime:
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    if not raw:
        raise BadEvent("the event has no time")
    try:
        parsed = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise BadEvent(f"the event time {raw!r} is not an RFC 3339 timestamp") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
