"""Import reports: `imports/{import_id}`, one per vendor-file version (its id is the upload's).
What was read (format, encoding, columns, the mapping used), how far it got while it runs, and
at the end what was written, left unchanged, superseded or rejected, with the first rejected
rows and their reasons."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

COLLECTION = "imports"
VENDOR = "vendor"
STARTED_AT = "started_at"


class ImportStatus(enum.StrEnum):
    RUNNING = "running"
    DONE = "done"
    REJECTED = "rejected"  # the file as a whole cannot be read; `reason` says why
    SUPERSEDED = "superseded"  # a newer generation of the file arrived; it stopped for it


@dataclass(frozen=True)
class RejectedRow:
    row: int
    field: str
    reason: str
    sheet: str = ""
    values: Mapping[str, str] = dataclasses.field(default_factory=dict)  # the row's cells as the vendor wrote them

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> RejectedRow:
        return cls(
            int(fields.get("row") or 0),
            str(fields.get("field") or ""),
            str(fields.get("reason") or ""),
            str(fields.get("sheet") or ""),
            dict(fields.get("values") or {}),
        )


@dataclass(frozen=True)
class ImportReport:
    id: str
    vendor: str
    object: Mapping[str, Any]
    status: ImportStatus
    reason: str = ""
    format: str = ""
    encoding: str = ""
    columns: tuple[str, ...] = ()
    column_mapping: Mapping[str, str] = dataclasses.field(default_factory=dict)
    rows_seen: int = 0
    written: int = 0
    unchanged: int = 0
    refreshed: int = 0
    superseded: int = 0
    rejected: int = 0
    first_rejected: tuple[RejectedRow, ...] = ()
    duplicate_skus: int = 0
    duplicates: tuple[Mapping[str, Any], ...] = ()
    started_at: datetime | None = None
    finished_at: datetime | None = None
    seconds: Mapping[str, float] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_fields(cls, import_id: str, fields: Mapping[str, Any]) -> ImportReport:
        return cls(
            id=import_id,
            vendor=str(fields.get(VENDOR, "")),
            object=dict(fields.get("object") or {}),
            status=ImportStatus(fields.get("status", ImportStatus.RUNNING)),
            reason=str(fields.get("reason") or ""),
            format=str(fields.get("format") or ""),
            encoding=str(fields.get("encoding") or ""),
            columns=tuple(fields.get("columns") or ()),
            column_mapping=dict(fields.get("column_mapping") or {}),
            rows_seen=int(fields.get("rows_seen") or 0),
            written=int(fields.get("written") or 0),
            unchanged=int(fields.get("unchanged") or 0),
            refreshed=int(fields.get("refreshed") or 0),
            superseded=int(fields.get("superseded") or 0),
            rejected=int(fields.get("rejected") or 0),
            first_rejected=tuple(RejectedRow.from_fields(r) for r in fields.get("first_rejected") or ()),
            duplicate_skus=int(fields.get("duplicate_skus") or 0),
            duplicates=tuple(fields.get("duplicates") or ()),
            started_at=fields.get(STARTED_AT),
            finished_at=fields.get("finished_at"),
            seconds=dict(fields.get("seconds") or {}),
        )
