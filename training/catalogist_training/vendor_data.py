"""BigBasket-style product rows for the text and price models, and their fixed splits.

The split is a pure function of each row's `index` (CRC-32 of a salted string), so any CSV with
the columns of products.csv splits the same way on any machine, no seed file needed:

    test (held out, never tuned on)   15% — crc32("heldout:<index>") % 100 < 15
    validation (tuning, calibration)  15% of the rest — crc32("validation:<index>") % 100 < 15
    train                             the remainder

BigBasket lists the same product several times (one per pack size, same name), so a random
split flatters a model that memorizes names. `name_group` keys the near-duplicates; evaluation
reports the held-out rows whose group never appears in training as a second, harder figure.
"""

import csv
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

LEVELS = ("category", "sub_category", "type")
CURRENCY = "INR"  # BigBasket's prices; a price release predicts in the currency it learnt
TEST_PERCENT = 15
VALIDATION_PERCENT = 15


@dataclass(frozen=True)
class Product:
    index: str
    name: str
    brand: str
    category_path: tuple[str, str, str]
    sale_price: float | None
    market_price: float | None

    @property
    def text(self) -> tuple[str, str, str]:
        """What the text model sees: name and brand; no vendor category in BigBasket."""
        return (self.name, self.brand, "")


def load_products(path: Path) -> list[Product]:
    products = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            name = " ".join((row.get("product") or "").split())
            path_parts = tuple(" ".join((row.get(level) or "").split()) for level in LEVELS)
            if not name or not all(path_parts):
                continue
            products.append(
                Product(
                    index=str(row.get("index", "")).strip(),
                    name=name,
                    brand=" ".join((row.get("brand") or "").split()),
                    category_path=path_parts,  # type: ignore[arg-type]
                    sale_price=_price(row.get("sale_price")),
                    market_price=_price(row.get("market_price")),
                )
            )
    return products


def split_of(product: Product) -> str:
    if zlib.crc32(f"heldout:{product.index}".encode()) % 100 < TEST_PERCENT:
        return "test"
    if zlib.crc32(f"validation:{product.index}".encode()) % 100 < VALIDATION_PERCENT:
        return "validation"
    return "train"


def split(products: list[Product]) -> dict[str, list[Product]]:
    parts: dict[str, list[Product]] = {"train": [], "validation": [], "test": []}
    for product in products:
        parts[split_of(product)].append(product)
    return parts


_NOT_STEM = re.compile(r"[\d.,]+\s*\w{0,5}|[^\w\s]")


def name_group(product: Product) -> str:
    """Name without numbers, units and punctuation: `Tea 250 g` and `Tea 1 kg` meet here."""
    stem = _NOT_STEM.sub(" ", product.name.casefold())
    return " ".join(stem.split()) + "|" + product.brand.casefold()


def _price(text: str | None) -> float | None:
    try:
        value = float(text or "")
    except ValueError:
        return None
    return value if value > 0 else None
