"""The values a vendor file turns into: one result per row, either a product or a problem."""

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


@dataclass(frozen=True)
class RowProblem:
    """A row we could not take, in words an admin can act on. `field` is ours, or `(row)`."""

    row_number: int
    field: str
    reason: str
    sheet: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row_number, "sheet": self.sheet, "field": self.field, "reason": self.reason}


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
