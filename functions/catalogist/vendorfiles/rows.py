"""The values a vendor file turns into: one result per row, either a product or a problem."""

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class SourceRow:
    """One row as the vendor wrote it: column (or tag) name → cell text, before mapping."""

    row_number: int
    cells: Mapping[str, str]
    sheet: str = ""


# A rejected row's cells are kept for the import report (and the CSV a vendor fixes), within
# bounds: a report holds 50 of them in one Firestore document (1 MiB at most).
KEPT_CELLS = 60
KEPT_CELL_CHARS = 200
KEPT_ROW_CHARS = 4_000


@dataclass(frozen=True)
class RowProblem:
    """A row we could not take, in words an admin can act on. `field` is ours, or `(row)`;
    `values` the row's cells as the vendor wrote them, when it had cells (`kept_values`)."""

    row_number: int
    field: str
    reason: str
    sheet: str = ""
    values: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row_number,
            "sheet": self.sheet,
            "field": self.field,
            "reason": self.reason,
            "values": dict(self.values),
        }


def kept_values(cells: Mapping[str, str]) -> dict[str, str]:
    """A row's cells, bounded: a long cell ends in "…", and cells past the row's budget are left
    out (the reason still says what was wrong)."""
    kept: dict[str, str] = {}
    budget = KEPT_ROW_CHARS
    for column, value in list(cells.items())[:KEPT_CELLS]:
        text = str(value)
        if len(text) > KEPT_CELL_CHARS:
            text = text[: KEPT_CELL_CHARS - 1] + "…"
        budget -= len(text) + len(str(column))
        if budget < 0:
            break
        kept[str(column)[:KEPT_CELL_CHARS]] = text
    return kept


@dataclass(frozen=True)
class ProductRow:
    """One normalized product. Quantities are grams, millilitres or pieces (`pack_unit`)."""

    row_number: int
    sku: str
    name: str
    brand: str = ""
    vendor_category: str = ""
    description: str = ""
    image_link: str = ""
    gtin: str = ""
    vendor_price: Decimal | None = None
    currency: str = ""
    pack_count: int = 1  # "2 x 200 ml" → 2
    pack_quantity: float | None = None  # total, "2 x 200 ml" → 400.0
    pack_unit: str = ""  # "g", "ml" or "pcs"
    attributes: tuple[tuple[str, str], ...] = ()  # unmapped columns, in file order
    notes: tuple[str, ...] = ()  # what we dropped or fixed while keeping the row
    sheet: str = ""
    # The row's place among all the file's rows, first = 1 (row numbers restart on each sheet of
    # a workbook): of two rows of one SKU the later wins, in whatever order they are written.
    # Not part of what the vendor said (`to_dict`).
    position: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/Firestore types: the price becomes a float, attributes a dict."""
        return {
            "row": self.row_number,
            "sheet": self.sheet,
            "sku": self.sku,
            "name": self.name,
            "brand": self.brand,
            "vendor_category": self.vendor_category,
            "description": self.description,
            "image_link": self.image_link,
            "gtin": self.gtin,
            "vendor_price": None if self.vendor_price is None else float(self.vendor_price),
            "currency": self.currency,
            "pack_count": self.pack_count,
            "pack_quantity": self.pack_quantity,
            "pack_unit": self.pack_unit,
            "attributes": dict(self.attributes),
            "notes": list(self.notes),
        }


RowResult = ProductRow | RowProblem
