"""A vendor's row (named cells) + the column mapping → one `ProductRow`, or why not.

Only a missing SKU or name, an unreadable price or an oversized cell rejects a row; smaller
faults (a barcode with a wrong check digit) drop that one value and leave a note on the row.
"""

from catalogist.vendorfiles.gtin import gtin_problem, normalize_gtin
from catalogist.vendorfiles.limits import Limits
from catalogist.vendorfiles.mapping import ColumnMapping
from catalogist.vendorfiles.packsize import parse_pack_size
from catalogist.vendorfiles.prices import PriceError, currency_code, parse_price
from catalogist.vendorfiles.rows import ProductRow, RowProblem, SourceRow, kept_values
from catalogist.vendorfiles.textcells import clean_text, unshout

MAX_SKU_CHARS = 200


class RowNormalizer:
    def __init__(self, mapping: ColumnMapping, limits: Limits) -> None:
        self._mapping = mapping
        self._limits = limits
        self._mapped = set(mapping.columns().values())

    def __call__(self, row: SourceRow, position: int = 0) -> ProductRow | RowProblem:
        """`position`: the row's place among the file's rows (`ProductRow.position`)."""
        try:
            return self._normalize(row, position)
        except _Reject as reject:
            return RowProblem(row.row_number, reject.field, reject.reason, row.sheet, kept_values(row.cells))

    def _normalize(self, row: SourceRow, position: int) -> ProductRow:
        m = self._mapping
        notes: list[str] = []
        gtin_text = self._cell(row, "gtin")
        gtin = ""
        if gtin_text:
            problem = gtin_problem(gtin_text)
            if problem:
                notes.append(problem + "; barcode left empty")
            else:
                gtin = normalize_gtin(gtin_text)
        sku = self._cell(row, "sku") or (gtin if not m.sku else "")
        if not sku:
            raise _Reject("sku", f"the SKU ({self._column('sku')}) is empty")
        if len(sku) > MAX_SKU_CHARS:
            raise _Reject("sku", f"the SKU is {len(sku):,} characters long; at most {MAX_SKU_CHARS} are allowed")
        name = unshout(self._cell(row, "name"))
        if not name:
            raise _Reject("name", f"the product name ({self._column('name')}) is empty")
        price_text = self._cell(row, "price")
        currency = currency_code(self._cell(row, "currency"))
        vendor_price = None
        if price_text:
            try:
                price = parse_price(price_text, currency or m.default_currency)
            except PriceError as error:
                raise _Reject("price", f"{self._column('price')}: {error}") from None
            vendor_price, currency = price.amount, currency or price.currency
        pack = parse_pack_size(self._cell(row, "pack_size"), self._cell(row, "unit")) if m.pack_size else None
        pack = pack or parse_pack_size(name)
        return ProductRow(
            row_number=row.row_number,
            sheet=row.sheet,
            position=position,
            sku=sku,
            name=name,
            brand=self._cell(row, "brand"),
            vendor_category=self._cell(row, "vendor_category"),
            description=self._cell(row, "description"),
            image_link=self._cell(row, "image_link"),
            gtin=gtin,
            vendor_price=vendor_price,
            currency=currency or m.default_currency,
            pack_count=pack.count if pack else 1,
            pack_quantity=pack.quantity if pack else None,
            pack_unit=pack.unit if pack else "",
            attributes=self._attributes(row, notes),
            notes=tuple(notes),
        )

    def _cell(self, row: SourceRow, field: str) -> str:
        column = getattr(self._mapping, field)
        if not column:
            return ""
        value = row.cells.get(column, "")
        if len(value) > self._limits.max_cell_chars:
            raise _Reject(
                field,
                f"column '{column}' holds {len(value):,} characters; at most {self._limits.max_cell_chars:,} are read",
            )
        return clean_text(value)

    def _column(self, field: str) -> str:
        column = getattr(self._mapping, field)
        return f"column '{column}'" if column else "no column"

    def _attributes(self, row: SourceRow, notes: list[str]) -> tuple[tuple[str, str], ...]:
        kept = []
        for column, value in row.cells.items():
            if column in self._mapped or not value:
                continue
            text = clean_text(value)
            if len(text) > self._limits.max_cell_chars:
                notes.append(f"column '{column}' was cut to {self._limits.max_cell_chars:,} characters")
                text = text[: self._limits.max_cell_chars]
            if text:
                # Firestore map keys must be non-empty and at most 1,500 bytes
                kept.append((column.strip()[:MAX_ATTRIBUTE_NAME] or "unnamed column", text))
        return tuple(kept)


MAX_ATTRIBUTE_NAME = 200


class _Reject(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason
