"""A store's catalogue export → labelled products, read through the vendor-file readers.

    catalogist train textcat --data export.tsv --category-path category_path --separator ">" \
        --level-names department,aisle,shelf,variety --price price --out models/textcat

Any format the readers take (CSV, TSV, XLSX, JSON, JSONL, XML), in any encoding they detect.
Columns are named by a mapping file (`--columns columns.json`, the fields of `CatalogueColumns`)
or by flags; a column left unnamed is guessed from the headers with the readers' synonyms
(`catalogist.vendorfiles.mapping`) and the tables below. The category is either one path column
split at its separator (`Food > Dairy > Yoghurt`) or one column per level, root first, where
blank trailing levels make a shorter path: leaves may sit at any depth. Levels are named as the
store names them (`level_names`, else the level columns' headers), or by their depth.

A row without a usable category is never dropped silently: it is counted under its reason, with
the first few rows as examples (`CatalogueReport`), as a vendor file's rejected rows are. A row
whose price cannot be read keeps its category (the text model learns from it) and is counted
apart; the price model leaves it out.

BigBasket's products.csv needs no flags: its level columns (category, sub_category, type), its
prices (sale_price, market_price) and its ids (index) are all found by the guesses.
"""

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from catalogist.errors import BadFile
from catalogist.models.taxonomy import SEPARATOR as TREE_SEPARATOR
from catalogist.vendorfiles import ColumnMapping, ProductRow, RowProblem, parse_vendor_file
from catalogist.vendorfiles.mapping import guess_mapping, header_key
from catalogist.vendorfiles.prices import PriceError, currency_code, parse_price

# Headers of one-level-per-column exports, level by level, root first (after `header_key`):
# the level columns when none are named and the file has the first two.
LEVEL_HEADERS = (
    ("category", "department", "category 1", "level 1", "kategorie", "categorie", "categoria", "категория"),
    ("sub category", "subcategory", "aisle", "category 2", "level 2", "unterkategorie", "sous categorie"),
    ("type", "sub sub category", "shelf", "category 3", "level 3", "product type"),
    ("category 4", "level 4", "variety"),
    ("category 5", "level 5"),
    ("category 6", "level 6"),
)
# The vendor's list price beside the price the shop sells at (BigBasket's market_price).
LIST_PRICE_HEADERS = ("market price", "list price", "mrp", "rrp", "msrp", "price before discount")
# A generated catalogue's source product (`catalogist_training.scale_rows`).
GROUP_HEADERS = ("source product",)
SEPARATORS = (">", "›", "»", "/", "|", "\\")  # tried in this order on a path column's first cells
DEFAULT_CURRENCY = "INR"  # BigBasket's, for a file whose prices name none and no --currency
EXAMPLES = 5  # rejected rows shown per reason


@dataclass(frozen=True)
class CatalogueColumns:
    """Which column holds what; "" (or ()) leaves it to the guesses."""

    sku: str = ""
    name: str = ""
    brand: str = ""
    category_path: str = ""  # one column with the whole path ...
    separator: str = ""  # ... split here ("" finds it: SEPARATORS)
    category_levels: tuple[str, ...] = ()  # ... or one column per level, root first
    level_names: tuple[str, ...] = ()  # the store's names of its levels, root first
    price: str = ""  # the price the shop sells at: what the price model learns
    list_price: str = ""  # the vendor's list price, when the export has one
    currency: str = ""  # the prices' currency where the cells and headers name none
    group: str = ""  # a generated row's source product

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> "CatalogueColumns":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(document) - known)
        if unknown:
            raise BadFile(f"the column mapping names unknown fields {unknown}; known: {sorted(known)}")
        values = {k: tuple(v) if isinstance(v, list) else str(v) for k, v in document.items()}
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def from_file(cls, path: Path) -> "CatalogueColumns":
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))

    def to_json(self) -> dict[str, Any]:
        """The fields that were set: what a release records to read its data again."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items() if v}

    def overridden(self, **flags: Any) -> "CatalogueColumns":
        """These columns with the flags that were given (not None, not empty) put over them."""
        return replace(self, **{k: v for k, v in flags.items() if v not in (None, "", ())})


GUESSED = CatalogueColumns()  # every column guessed: what products.csv needs


@dataclass(frozen=True)
class Listing:
    """One labelled row of a catalogue, as read: what `vendor_data.Product` is made of."""

    sku: str
    name: str
    brand: str
    category_path: tuple[str, ...]
    price: float | None
    list_price: float | None
    group: str
    row: int  # in the file, for the report


@dataclass
class CatalogueReport:
    """What reading a catalogue found: rows read and kept, and the rows left out, by reason."""

    source: str
    format: str = ""
    columns: dict[str, Any] = field(default_factory=dict)  # as resolved
    levels: tuple[str, ...] = ()
    currency: str = ""
    rows_read: int = 0
    rows_kept: int = 0
    rejected: Counter = field(default_factory=Counter)  # reason -> rows
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rows_without_price: Counter = field(default_factory=Counter)  # reason -> rows (kept for the text model)

    def reject(self, reason: str, row: int, values: dict[str, str]) -> None:
        self.rejected[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < EXAMPLES:
            shown.append({"row": row, "values": values})

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["levels"] = list(self.levels)
        document["rejected"] = dict(self.rejected.most_common())
        document["rows_without_price"] = dict(self.rows_without_price.most_common())
        return document


@dataclass(frozen=True)
class Catalogue:
    listings: list[Listing]
    levels: tuple[str, ...]
    currency: str
    report: CatalogueReport


def read_catalogue(path: Path, columns: CatalogueColumns = GUESSED) -> Catalogue:
    """Every row of `path` with a usable category, in file order, and the report of the rest."""
    path = Path(path)
    headers, file_format = _headers(path, columns)
    resolved = resolve_columns(columns, headers, guess_mapping(headers))
    report = CatalogueReport(str(path), file_format, resolved.to_json())
    mapping = ColumnMapping(sku=resolved.sku, name=resolved.name, brand=resolved.brand)
    listings: list[Listing] = []
    currency = ""
    with path.open("rb") as stream:
        for result in parse_vendor_file(stream, path.name, known_mapping=mapping).rows:
            report.rows_read += 1
            if isinstance(result, RowProblem):
                report.reject(f"{result.field}: {result.reason}", result.row_number, dict(result.values))
                continue
            cells = dict(result.attributes)
            category_path, problem = _category_path(resolved, cells)
            if problem:
                report.reject(problem, result.row_number, _shown(resolved, result, cells))
                continue
            price, list_price, currency, price_problem = _prices(resolved, cells, currency)
            if price_problem:
                report.rows_without_price[price_problem] += 1
            listings.append(
                Listing(
                    result.sku,
                    result.name,
                    result.brand,
                    category_path,
                    price,
                    list_price,
                    cells.get(resolved.group, ""),
                    result.row_number,
                )
            )
    listings = _without_parents(listings, report)
    depth = max((len(listing.category_path) for listing in listings), default=0)
    report.levels = level_names(resolved, depth)
    report.currency = currency or resolved.currency or DEFAULT_CURRENCY
    report.rows_kept = len(listings)
    return Catalogue(listings, report.levels, report.currency, report)


def _headers(path: Path, columns: CatalogueColumns) -> tuple[list[str], str]:
    """The file's column names and format. The readers refuse a file whose name and SKU columns
    they cannot guess; the store's named ones are then given to them (only the headers are
    wanted from this pass: a named SKU column stands in for an unnamed name column)."""
    named = ColumnMapping(sku=columns.sku, name=columns.name or columns.sku, brand=columns.brand)
    for known in (None, named):
        try:
            with path.open("rb") as stream:
                parsed = parse_vendor_file(stream, path.name, known_mapping=known)
                return list(parsed.columns), parsed.format
        except BadFile:
            if known is not None or not (columns.sku and named.name):
                raise
    raise AssertionError("unreachable")


def resolve_columns(columns: CatalogueColumns, headers: Sequence[str], guess: ColumnMapping) -> CatalogueColumns:
    """`columns` with every unnamed column guessed; a named column the file lacks is an error."""
    present = set(headers)
    named = [c for c in (columns.sku, columns.name, columns.brand, columns.category_path, columns.price,
                         columns.list_price, columns.group, *columns.category_levels) if c]  # fmt: skip
    missing = [c for c in named if c not in present]
    if missing:
        raise BadFile(f"the catalogue has no column {', '.join(map(repr, missing))}; its columns are {list(headers)}")
    by_key = {header_key(h): h for h in reversed(headers)}  # the first of two alike wins
    resolved = replace(
        columns,
        sku=columns.sku or guess.sku,
        name=columns.name or guess.name,
        brand=columns.brand or guess.brand,
        price=columns.price or guess.price,
        list_price=columns.list_price or _first(by_key, LIST_PRICE_HEADERS, exclude=columns.price or guess.price),
        group=columns.group or _first(by_key, GROUP_HEADERS),
        currency=columns.currency or guess.default_currency,
    )
    if not (resolved.category_path or resolved.category_levels):
        levels = []
        for names in LEVEL_HEADERS:
            found = _first(by_key, names, exclude=resolved.price)
            if not found:
                break
            levels.append(found)
        if len(levels) >= 2:
            resolved = replace(resolved, category_levels=tuple(levels))
        elif guess.vendor_category:
            resolved = replace(resolved, category_path=guess.vendor_category)
        else:
            raise BadFile(
                f"no column holds the category: name one path column (--category-path) or one column per "
                f"level (--category-levels); the columns are {list(headers)}"
            )
    return resolved


def level_names(columns: CatalogueColumns, depth: int) -> tuple[str, ...]:
    """The store's names of the first `depth` levels: as given, else the level columns' headers,
    else by depth (`level1`, `level2`, …)."""
    names = columns.level_names or columns.category_levels
    if names and len(names) < depth:
        raise BadFile(f"the catalogue's categories are {depth} levels deep but only {len(names)} levels are named")
    names = names or tuple(f"level{i}" for i in range(1, depth + 1))
    if len(set(names[:depth])) < depth:
        raise BadFile(f"two levels have one name: {list(names[:depth])}")
    return tuple(names[:depth])


def _category_path(columns: CatalogueColumns, cells: dict[str, str]) -> tuple[tuple[str, ...], str]:
    """The row's category path, or ((), why it has none)."""
    path, problem = _parts(columns, cells)
    if any(TREE_SEPARATOR in name for name in path):
        return (), f"category: a name holds '{TREE_SEPARATOR}', which the tree puts between its levels"
    return path, problem


def _parts(columns: CatalogueColumns, cells: dict[str, str]) -> tuple[tuple[str, ...], str]:
    if columns.category_levels:
        parts = [cells.get(column, "") for column in columns.category_levels]
        while parts and not parts[-1]:
            parts.pop()
        if not parts:
            return (), "category: every level column is empty"
        if not all(parts):
            empty = columns.category_levels[parts.index("")]
            return (), f"category: level column '{empty}' is empty above a level that is set"
        return tuple(parts), ""
    text = cells.get(columns.category_path, "")
    if not text:
        return (), f"category: column '{columns.category_path}' is empty"
    separator = columns.separator or next((s for s in SEPARATORS if s in text), SEPARATORS[0])
    parts = [" ".join(part.split()) for part in text.split(separator)]
    if not all(parts):
        return (), f"category: the path has an empty level between its '{separator}'"
    return tuple(parts), ""


def _prices(
    columns: CatalogueColumns, cells: dict[str, str], currency: str
) -> tuple[float | None, float | None, str, str]:
    """(price, list price, the catalogue's currency so far, why the price is unusable or "")."""
    price, currency, problem = _amount(cells.get(columns.price, ""), columns.currency, currency)
    list_price, currency, _ = _amount(cells.get(columns.list_price, ""), columns.currency, currency)
    return price, list_price, currency, f"price: {problem}" if problem else ""


def _amount(text: str, default_currency: str, currency: str) -> tuple[float | None, str, str]:
    """(the amount when positive and in the catalogue's currency, that currency, why not)."""
    if not text:
        return None, currency, "empty"
    try:
        price = parse_price(text, default_currency)
    except PriceError:
        return None, currency, "not a price the readers can read"
    code = currency_code(price.currency)
    if code and currency and code != currency:
        return None, currency, f"in {code}, not the catalogue's {currency}"
    if price.amount <= 0:
        return None, currency or code, "zero"
    return float(price.amount), currency or code, ""


def _without_parents(listings: list[Listing], report: CatalogueReport) -> list[Listing]:
    """A path that is also the parent of another path is no leaf: its rows are reported (a
    product is filed under a leaf; the store's tree must give it one)."""
    paths = {listing.category_path for listing in listings}
    parents = {path[:depth] for path in paths for depth in range(1, len(path))}
    kept = []
    for listing in listings:
        if listing.category_path in parents:
            report.reject(
                "category: the path is also the parent of other categories (a product belongs in a leaf)",
                listing.row,
                {"sku": listing.sku, "name": listing.name, "category path": " > ".join(listing.category_path)},
            )
        else:
            kept.append(listing)
    return kept


def _first(by_key: dict[str, str], names: Sequence[str], exclude: str = "") -> str:
    return next((by_key[n] for n in names if n in by_key and by_key[n] != exclude), "")


def _shown(columns: CatalogueColumns, row: ProductRow, cells: dict[str, str]) -> dict[str, str]:
    """The row's cells under the store's column names, as a rejected vendor row shows them."""
    mapped = {columns.sku: row.sku, columns.name: row.name, columns.brand: row.brand}
    return {column: value for column, value in mapped.items() if column} | cells
