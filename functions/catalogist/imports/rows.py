"""What one row of a vendor file means for its product: whether it is news (`row_outcome`: the
newest upload wins per product across every file of the vendor, whatever order the events come
in), and the product fields it writes, categorized by its text and priced (`row_fields`)."""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from catalogist.documents import products
from catalogist.documents.products import SourceFile
from catalogist.documents.values import CategoryDecision, Money, ObjectVersion, PriceSuggestion
from catalogist.intake.events import is_newer
from catalogist.intake.ledger import upload_id
from catalogist.models.taxonomy import Decision
from catalogist.vendorfiles import ProductRow

if TYPE_CHECKING:  # the module pulls in SciPy; photos should not pay for it at cold start
    from catalogist.models.price_features import PriceInput


class TextCategorizer(Protocol):
    @property
    def version(self) -> str: ...

    def decide_many(self, texts: list[tuple[str, str, str]]) -> list[Decision]: ...


class PriceModel(Protocol):
    @property
    def version(self) -> str: ...

    @property
    def currency(self) -> str: ...

    def suggest(self, rows: list[PriceInput]) -> list[Any]: ...


@dataclass(frozen=True)
class RowModels:
    """The text categorizer and price model of the releases in service."""

    textcat: TextCategorizer
    price: PriceModel


class RowModelsSource(Protocol):
    def get(self) -> RowModels: ...


@dataclass(frozen=True)
class FileSource:
    """Where the rows come from: an object version, or a local file named by its content hash."""

    bucket: str
    name: str
    generation: str
    vendor: str
    content_type: str = ""

    @property
    def import_id(self) -> str:
        """The upload's own id: `imports/{id}` reports on `uploads/{id}`."""
        return upload_id(self.bucket, self.name, self.generation)


class RowOutcome(enum.StrEnum):
    WRITTEN = "written"  # the row differs from what the product holds: categorized, priced, written
    UNCHANGED = "unchanged"  # the product holds this row from this upload or a newer one
    REFRESHED = "refreshed"  # the product holds this row from an older upload: now traced to this one
    SUPERSEDED = "superseded"  # a newer upload wrote the product: this row is older news


def row_outcome(stored: dict[str, Any] | None, row: ProductRow, source: FileSource) -> RowOutcome:
    """What a row of `source` means for the product as stored: the newest upload wins, across
    every file of the vendor, whatever order the events come in; within one file, the later row
    of a SKU, whatever order the pages are written in."""
    stored = stored or {}
    if from_newer_upload(stored, source) or from_later_row(stored, row, source):
        return RowOutcome.SUPERSEDED
    if stored.get("source_row_hash") != row_hash(row):
        return RowOutcome.WRITTEN
    stored_generation = str((stored.get("source_file") or {}).get("generation", ""))
    return RowOutcome.REFRESHED if is_newer(source.generation, stored_generation) else RowOutcome.UNCHANGED


def from_newer_upload(product: dict[str, Any], source: FileSource) -> bool:
    """Whether the product's row fields came from an upload newer than `source`: the newest
    price list wins, whatever order the events come in (`is_newer`)."""
    return is_newer(str((product.get("source_file") or {}).get("generation", "")), source.generation)


def from_later_row(product: dict[str, Any], row: ProductRow, source: FileSource) -> bool:
    """Whether the product holds a later row of the same file version than `row` (a SKU twice in
    one file: the later row wins, as it does when pages are written in file order)."""
    stored = SourceFile.from_fields(product.get("source_file"))
    return (
        stored is not None
        and stored.object == ObjectVersion(source.bucket, source.name, source.generation)
        and stored.position > row.position
    )


def source_file(row: ProductRow, source: FileSource) -> dict[str, Any]:
    return SourceFile(
        ObjectVersion(source.bucket, source.name, source.generation), row.row_number, row.sheet, row.position
    ).to_fields()


def stored_row(product: dict[str, Any]) -> ProductRow | None:
    """The row a product's row fields were written from, as the import read it (None for a
    product no row described): what re-scoring categorizes and prices again. Its `row_hash` is
    the stored `source_row_hash`, so the text and numbers are the ones first scored."""
    if not product.get("name") or not product.get("sku") or not product.get(products.TEXT_CATEGORY):
        return None
    vendor_price = Money.from_fields(product.get("vendor_price"))
    pack = product.get("pack") or {}
    source = SourceFile.from_fields(product.get("source_file"))
    return ProductRow(
        row_number=source.row if source else 0,
        sku=str(product["sku"]),
        name=str(product["name"]),
        brand=str(product.get("brand") or ""),
        vendor_category=str(product.get("vendor_category") or ""),
        description=str(product.get("description") or ""),
        image_link=str(product.get("image_link") or ""),
        gtin=str(product.get("gtin") or ""),
        # the amount was stored as float(Decimal): its repr is the same number again
        vendor_price=None if vendor_price is None else Decimal(repr(vendor_price.amount)),
        currency=vendor_price.currency if vendor_price else "",
        pack_count=int(pack.get("count") or 1),
        pack_quantity=None if pack.get("quantity") is None else float(pack["quantity"]),
        pack_unit=str(pack.get("unit") or ""),
        attributes=tuple((str(k), str(v)) for k, v in (product.get("attributes") or {}).items()),
        notes=tuple(str(note) for note in product.get("row_notes") or ()),
        sheet=source.sheet if source else "",
        position=source.position if source else 0,
    )


def row_hash(row: ProductRow) -> str:
    """What the vendor said of the product; equal hashes mean nothing to rewrite."""
    described = {k: v for k, v in row.to_dict().items() if k not in ("row", "sheet")}
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()[:24]


def price_input(row: ProductRow, decision: Decision, currency: str) -> PriceInput:
    from catalogist.models.price_features import PriceInput

    # The price model learnt shop prices in one currency; a list price in another is no evidence.
    list_price = float(row.vendor_price) if row.vendor_price and row.currency in ("", currency) else None
    return PriceInput(
        row.name,
        row.brand,
        decision.category_path,
        row.pack_quantity,
        row.pack_unit,
        row.pack_count,
        list_price,
    )


def model_fields(decision: Decision, suggestion: Any, release: RowModels) -> dict[str, Any]:
    """What the row models decided of a row: its text category and suggested price, with the
    versions that decided them (all that re-scoring a row writes)."""
    price = PriceSuggestion(
        suggestion.price,
        suggestion.low,
        suggestion.high,
        release.price.currency,
        suggestion.mode,
        release.price.version,
    )
    return {
        products.TEXT_CATEGORY: CategoryDecision.from_decision(decision, release.textcat.version).to_fields(),
        products.PRICE: price.to_fields(),
        "model_versions": {"textcat": release.textcat.version, "price": release.price.version},
    }


def product_fields(
    row: ProductRow,
    source: FileSource,
    decision: Decision,
    suggestion: Any,
    release: RowModels,
    now: datetime,
) -> dict[str, Any]:
    vendor_price = None if row.vendor_price is None else Money(float(row.vendor_price), row.currency)
    return {
        products.VENDOR: source.vendor,
        "sku": row.sku,
        "name": row.name,
        "brand": row.brand,
        "vendor_category": row.vendor_category,
        "description": row.description,
        "image_link": row.image_link,
        "gtin": row.gtin,
        "vendor_price": vendor_price.to_fields() if vendor_price else None,
        "pack": {"count": row.pack_count, "quantity": row.pack_quantity, "unit": row.pack_unit},
        "attributes": dict(row.attributes),
        "row_notes": list(row.notes),
        "source_file": source_file(row, source),
        "source_row_hash": row_hash(row),
        **model_fields(decision, suggestion, release),
        products.UPDATED_AT: now,
    }


def score_rows(rows: list[ProductRow], release: RowModels) -> list[tuple[Decision, Any]]:
    """Each row's text decision and price suggestion, a page at a time: the import's and
    re-scoring's one way of asking the row models."""
    if not rows:
        return []
    decisions = release.textcat.decide_many([(r.name, r.brand, r.vendor_category) for r in rows])
    suggestions = release.price.suggest(
        [price_input(row, decision, release.price.currency) for row, decision in zip(rows, decisions, strict=True)]
    )
    return list(zip(decisions, suggestions, strict=True))


def row_fields(
    rows: list[ProductRow], source: FileSource, models: RowModelsSource, now: datetime
) -> dict[str, dict[str, Any]]:
    """The product fields of each row, categorized and priced, by product id."""
    if not rows:
        return {}
    release = models.get()
    return {
        products.product_id(source.vendor, row.sku): product_fields(row, source, decision, suggestion, release, now)
        for row, (decision, suggestion) in zip(rows, score_rows(rows, release), strict=True)
    }


def page_change(
    rows: dict[str, ProductRow],
    fields: dict[str, dict[str, Any]],
    source: FileSource,
    now: datetime,
    final: dict[str, RowOutcome],
    needs_models: set[str],
) -> products.SourceChange:
    """What a page's row changes of its product, decided on the product as it is when written;
    each row's outcome lands in `final`, and a row that needs categorizing after all (another
    upload changed its product since the page was read) in `needs_models`."""

    def change(pid: str, current: dict[str, Any] | None) -> dict[str, Any] | None:
        outcome = final[pid] = row_outcome(current, rows[pid], source)
        needs_models.discard(pid)  # decided again when another writer won the race
        if outcome is RowOutcome.REFRESHED:
            return {"source_file": source_file(rows[pid], source), "updated_at": now}
        if outcome is RowOutcome.WRITTEN and pid not in fields:
            needs_models.add(pid)
            return None
        return fields[pid] if outcome is RowOutcome.WRITTEN else None

    return change
