"""A catalogue's labelled products for the text and price models, and their fixed splits.

Rows are read through the vendor-file readers (`catalogist_training.catalogue`): any format,
columns named or guessed, the category as a path or one column per level, of any depth.

The split is a pure function of each row's product — its name and brand, casefolded, spaces
collapsed (`product_key`) — hashed with a salt, so any catalogue splits the same way on any
machine, no seed file needed:

    test (held out, never tuned on)   15% — crc32("heldout:<key>") % 100 < 15
    validation (tuning, calibration)  15% of the rest — crc32("validation:<key>") % 100 < 15
    train                             the remainder

BigBasket lists one product several times (same name and brand, once per listing): split by
row, a held-out row would often have its twin in training, and the figure would measure
memory instead of what a vendor's new product gets. Split by product, no (name, brand) of the
validation or test rows is in training. `name_group` (the name without numbers and units) keys
the looser family `Tea 250 g` / `Tea 1 kg`, which may still straddle the split; evaluation
reports the held-out rows whose family is unseen as a second, harder figure.

A generated catalogue (`catalogist_training.scale_rows`) names in `source_product` the real
product each row was made from; its rows split, and fold, by that product (`split_key`), so a
perturbed copy is always on its source's side and never answers for it out of fold.

Extra rows (`--extra`, e.g. rows an admin reviewed in the panel) go into training whole, and a
reviewed product's label replaces the catalogue's rows of the same product: the human decision
wins, as it does on the product document.
"""

import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from catalogist_training.catalogue import GUESSED, Catalogue, CatalogueColumns, CatalogueReport, read_catalogue

LEVELS = ("category", "sub_category", "type")  # BigBasket's levels, its product_of rows'
TEST_PERCENT = 15
VALIDATION_PERCENT = 15


@dataclass(frozen=True)
class Product:
    index: str
    name: str
    brand: str
    category_path: tuple[str, ...]  # root first, of any depth
    sale_price: float | None
    market_price: float | None
    group: str = ""  # a generated row's source product (its `product_key`); "" for a real row

    @property
    def text(self) -> tuple[str, str, str]:
        """What the text model sees: name and brand; no vendor category in BigBasket."""
        return (self.name, self.brand, "")


def load_products(path: Path, columns: CatalogueColumns = GUESSED) -> list[Product]:
    return products_of(read_catalogue(path, columns))


def products_of(catalogue: Catalogue) -> list[Product]:
    return [
        Product(row.sku, row.name, row.brand, row.category_path, row.price, row.list_price, row.group)
        for row in catalogue.listings
    ]


def product_of(row: dict[str, str]) -> Product | None:
    """A products.csv row (as `csv.DictReader` gives it) as a product, or None for a row
    without a name or a full category path: how `scale_rows` reads its source rows."""
    name = " ".join((row.get("product") or "").split())
    path_parts = tuple(" ".join((row.get(level) or "").split()) for level in LEVELS)
    if not name or not all(path_parts):
        return None
    return Product(
        index=str(row.get("index", "")).strip(),
        name=name,
        brand=" ".join((row.get("brand") or "").split()),
        category_path=path_parts,
        sale_price=_price(row.get("sale_price")),
        market_price=_price(row.get("market_price")),
        group=(row.get("source_product") or "").strip(),
    )


def product_key(product: Product) -> str:
    """One product whatever its listing: name and brand, casefolded, spaces collapsed."""
    return " ".join(product.name.casefold().split()) + "|" + " ".join(product.brand.casefold().split())


def split_key(product: Product) -> str:
    """What a row is kept together with in splits and folds: its product, or for a generated
    row the real product it was perturbed from (a copy renamed `Tea 1 kg` stays with `Tea 250 g`)."""
    return product.group or product_key(product)


def split_of(product: Product) -> str:
    key = split_key(product)
    if zlib.crc32(f"heldout:{key}".encode()) % 100 < TEST_PERCENT:
        return "test"
    if zlib.crc32(f"validation:{key}".encode()) % 100 < VALIDATION_PERCENT:
        return "validation"
    return "train"


def split(products: list[Product]) -> dict[str, list[Product]]:
    parts: dict[str, list[Product]] = {"train": [], "validation": [], "test": []}
    for product in products:
        parts[split_of(product)].append(product)
    return parts


@dataclass(frozen=True)
class TrainingRows:
    """The rows a model learns from: the data file's train and validation splits (and its test
    split in train, for a release built with `include_test`), with the extra files' rows added
    to train (a reviewed product replaces the data's rows of it); the
    levels and currency of the data, and what reading it found (`CatalogueReport`)."""

    train: list[Product]
    validation: list[Product]
    extra: list[Product]
    levels: tuple[str, ...] = LEVELS
    currency: str = "INR"
    reports: list[CatalogueReport] = field(default_factory=list)

    @property
    def all(self) -> list[Product]:
        return self.train + self.validation


def training_rows(
    data: Path,
    extras: list[Path] = (),  # type: ignore[assignment]
    columns: CatalogueColumns = GUESSED,
    include_test: bool = False,
) -> TrainingRows:
    """Split `data` (its columns: `columns`), add `extras` (products.csv columns, or as guessed).
    The test split stays out unless `include_test` (a release built once its recipe was chosen
    on the test split: it learns from every row, and no row of `data` is left to evaluate it
    on), and so does any data row whose product an extra row also names."""
    catalogue = read_catalogue(data, columns)
    extra_catalogues = [read_catalogue(path) for path in extras]
    extra = [p for found in extra_catalogues for p in products_of(found)]
    reviewed = {product_key(p) for p in extra}
    parts = split([p for p in products_of(catalogue) if product_key(p) not in reviewed])
    reports = [catalogue.report] + [found.report for found in extra_catalogues]
    train = parts["train"] + (parts["test"] if include_test else []) + extra
    return TrainingRows(train, parts["validation"], extra, catalogue.levels, catalogue.currency, reports)


_NOT_STEM = re.compile(r"[\d.,]+\s*\w{0,5}|[^\w\s]")


def name_group(product: Product) -> str:
    """Name without numbers, units and punctuation: `Tea 250 g` and `Tea 1 kg` meet here."""
    stem = _NOT_STEM.sub(" ", product.name.casefold())
    return " ".join(stem.split()) + "|" + product.brand.casefold()


def _price(text: str | None) -> float | None:
    """products.csv's price cells, for `product_of`."""
    try:
        value = float(text or "")
    except ValueError:
        return None
    return value if value > 0 else None
