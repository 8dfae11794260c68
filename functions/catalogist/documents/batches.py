"""Bulk decisions: `review_batches/{id}`, one per decision made on many cards at once, beside the
one `reviews/{id}` record each product of it gets (carrying `batch_id`). What was asked (the
action, the cards and the revisions the reviewer previewed), what was applied and refused and
why, and whether the batch was undone, by whom and what it left as it was."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

COLLECTION = "review_batches"
APPLYING, DONE = "applying", "done"


@dataclass(frozen=True)
class Batch:
    id: str
    action: str
    reviewer: str
    at: datetime | None
    asked: Mapping[str, int]  # product id -> the revision its card was previewed at
    status: str = APPLYING
    criteria: Mapping[str, str] = field(default_factory=dict)  # the queue view it was chosen from
    applied: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # id -> review_id, revision, filed
    refused: Mapping[str, str] = field(default_factory=dict)  # id -> why
    undone: bool = False
    undone_by: str = ""
    undone_at: datetime | None = None
    kept: Mapping[str, str] = field(default_factory=dict)  # id -> why the undo left it as it was

    def to_fields(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action,
            "reviewer": self.reviewer,
            "reviewed_at": self.at,
            "asked": dict(self.asked),
            "status": self.status,
            "criteria": dict(self.criteria),
            "applied": {pid: dict(value) for pid, value in self.applied.items()},
            "refused": dict(self.refused),
            "undone": self.undone,
            "undone_by": self.undone_by,
            "undone_at": self.undone_at,
            "kept": dict(self.kept),
        }

    @classmethod
    def from_fields(cls, batch_id: str, fields: Mapping[str, Any]) -> Batch:
        return cls(
            batch_id,
            str(fields.get("action", "")),
            str(fields.get("reviewer", "")),
            fields.get("reviewed_at"),
            {str(k): int(v) for k, v in (fields.get("asked") or {}).items()},
            str(fields.get("status", APPLYING)),
            dict(fields.get("criteria") or {}),
            {str(k): dict(v) for k, v in (fields.get("applied") or {}).items()},
            dict(fields.get("refused") or {}),
            bool(fields.get("undone", False)),
            str(fields.get("undone_by") or ""),
            fields.get("undone_at"),
            dict(fields.get("kept") or {}),
        )

    @property
    def product_ids(self) -> Sequence[str]:
        return list(self.asked)
