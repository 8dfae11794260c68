"""Vendor documents: `vendors/{vendor}`, the column mapping their next file is read with (the one
their last file used, or one an admin set in the panel) and where it came from."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from catalogist.ports import DocumentStore, Write
from catalogist.vendorfiles import ColumnMapping

COLLECTION = "vendors"


@dataclass(frozen=True)
class Vendor:
    id: str
    column_mapping: ColumnMapping | None = None
    mapping_from: str = ""  # the file it was read from, or "set by <reviewer>"
    updated_at: datetime | None = None

    def to_fields(self) -> dict[str, Any]:
        return {
            "column_mapping": asdict(self.column_mapping) if self.column_mapping else None,
            "mapping_from": self.mapping_from,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_fields(cls, vendor_id: str, fields: Mapping[str, Any] | None) -> Vendor | None:
        if fields is None:
            return None
        mapping = fields.get("column_mapping")
        return cls(
            vendor_id,
            ColumnMapping.from_json(json.dumps(mapping)) if mapping else None,
            str(fields.get("mapping_from") or ""),
            fields.get("updated_at"),
        )


def load(documents: DocumentStore, vendor_id: str) -> Vendor | None:
    return Vendor.from_fields(vendor_id, documents.get(COLLECTION, vendor_id))


def write(vendor: Vendor) -> Write:
    return Write(COLLECTION, vendor.id, vendor.to_fields())
