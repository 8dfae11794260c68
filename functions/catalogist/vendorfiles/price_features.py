"""Features of the price model, the same in `catalogist train price` and in the function.

Prices are modelled in log space. Each row gets: a ridge regression's guess from its text
(hashed TF-IDF, as the categorizer), the median log price of its type, sub-category, category,
brand and brand × type in the training data (with their counts, so the booster knows how much
to trust them), the pack size, and — in list-price mode — the vendor's own list price together
with the usual discount of its brand and type.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass

GROUPS = ("type", "sub_category", "category", "brand", "brand_type")
BASE_FEATURES = (
    "ridge_log_price",
    *(f"{g}_median" for g in GROUPS),
    *(f"{g}_count" for g in GROUPS),
    "log_pack_quantity", "pack_is_weight", "pack_is_volume", "pack_count", "name_words",
)
LIST_FEATURES = ("log_list_price", "brand_discount", "type_discount", "brand_discount_count")


@dataclass(frozen=True)
class PriceInput:
    name: str
    brand: str
    category_path: tuple[str, ...]  # category, sub_category, type
    pack_quantity: float | None = None
    pack_unit: str = ""
    pack_count: int = 1
    list_price: float | None = None  # the vendor's price, when the file has one


def group_keys(row: PriceInput) -> dict[str, str]:
    category, sub_category, kind = [*row.category_path, "", "", ""][:3]
    brand = row.brand.casefold().strip()
    return {"type": f"{category}/{sub_category}/{kind}", "sub_category": f"{category}/{sub_category}",
            "category": category, "brand": brand, "brand_type": f"{brand}|{category}/{sub_category}/{kind}"}


def feature_row(row: PriceInput, ridge_log_price: float,
                medians: Mapping[str, Mapping[str, tuple[float, int]]],
                discounts: Mapping[str, Mapping[str, tuple[float, int]]] | None) -> list[float]:
    """One row of the booster's input, in BASE_FEATURES (+ LIST_FEATURES) order; NaN = unknown."""
    keys = group_keys(row)
    found = {g: medians[g].get(keys[g]) for g in GROUPS}
    values = [ridge_log_price]
    values += [found[g][0] if found[g] else math.nan for g in GROUPS]
    values += [float(found[g][1]) if found[g] else 0.0 for g in GROUPS]
    quantity = row.pack_quantity
    values += [math.log(quantity) if quantity and quantity > 0 else math.nan,
               float(row.pack_unit == "g"), float(row.pack_unit == "ml"), float(row.pack_count),
               float(len(row.name.split()))]
    if discounts is not None:
        brand = discounts["brand"].get(keys["brand"])
        kind = discounts["type"].get(keys["type"])
        values += [math.log(row.list_price) if row.list_price else math.nan,
                   brand[0] if brand else math.nan, kind[0] if kind else math.nan,
                   float(brand[1]) if brand else 0.0]
    return values
