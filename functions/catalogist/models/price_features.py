"""Features of the price model, the same in `catalogist train price` and in the function.

Prices are modelled in log space. Each row gets: a ridge regression's guess from its text
(hashed TF-IDF of name, brand and category words), the median log price of its type,
sub-category, category, brand and brand × type in the training data (with their counts, so the
booster knows how much to trust them), the pack size, what its nearest training products cost
(`NeighbourIndex`: cosine on the same TF-IDF; BigBasket sells one product in several pack
sizes, so a neighbour's price scaled by the pack-size ratio is often close), and — in
list-price mode — the vendor's own list price with the usual discount of its brand and type.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from catalogist.models.neighbours import WordNeighbours

GROUPS = ("type", "sub_category", "category", "brand", "brand_type")
BASE_FEATURES = (
    "ridge_log_price",
    *(f"{g}_median" for g in GROUPS),
    *(f"{g}_count" for g in GROUPS),
    "log_pack_quantity",
    "pack_is_weight",
    "pack_is_volume",
    "pack_count",
    "name_words",
)
NEIGHBOURS = 20
COMMON_WORDS = 300  # NeighbourIndex drops words found in more training products than this
KNN_FEATURES = (
    "nn1_similarity",
    "nn1_log_price",
    "nn1_pack_adjusted",
    "nn5_weighted_log_price",
    "nn10_median_log_price",
    "nn20_weighted_log_price",
    "nn20_pack_adjusted",
    "nn20_same_unit",
    "brand_nn_similarity",
    "brand_nn_log_price",
    "brand_unit_nn_similarity",
    "brand_unit_nn_pack_adjusted",
    "type_nn_similarity",
    "type_nn_log_price",
    "type_unit_nn_similarity",
    "type_unit_nn_pack_adjusted",
    "nn5_similarity",
    "nn10_similarity",
    "nn10_log_price_spread",
)
LIST_FEATURES = ("log_list_price", "brand_discount", "type_discount", "brand_discount_count")


@dataclass(frozen=True)
class PriceInput:
    name: str
    brand: str
    category_path: tuple[str, ...]  # root first, to a leaf at any depth
    pack_quantity: float | None = None
    pack_unit: str = ""
    pack_count: int = 1
    list_price: float | None = None  # the vendor's price, when the file has one


def price_text(row: PriceInput) -> tuple[str, str, str]:
    """What the ridge and the neighbour search read: name, brand and the category words."""
    return (row.name, row.brand, " ".join(row.category_path))


def pack_log_quantity(row: PriceInput) -> float:
    return math.log(row.pack_quantity) if row.pack_quantity and row.pack_quantity > 0 else math.nan


@dataclass(frozen=True)
class NeighbourIndex:
    """The training products' word vectors (`WordNeighbours`, name, brand and category words)
    and what the neighbour features need of each product."""

    words: WordNeighbours
    log_price: np.ndarray
    log_quantity: np.ndarray  # NaN when the name states no pack size
    unit: np.ndarray  # "g", "ml", "pcs" or ""
    brand: np.ndarray  # casefolded
    type_key: np.ndarray  # group_keys(...)["type"]

    @property
    def products(self) -> int:
        return self.words.products

    def nearest(
        self, queries: sparse.csr_matrix, group: np.ndarray | None = None, own_group: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per query row, its up to NEIGHBOURS most similar products (`WordNeighbours.nearest`)."""
        return self.words.nearest(queries, NEIGHBOURS, group, own_group)


def _masked_median(values: np.ndarray) -> np.ndarray:
    """Median of each row's non-NaN values, NaN for a row without any (np.nanmedian warns)."""
    count = (~np.isnan(values)).sum(axis=1)
    ordered = np.sort(np.where(np.isnan(values), np.inf, values), axis=1)
    rows = np.arange(len(values))
    low = ordered[rows, np.maximum(count - 1, 0) // 2]
    high = ordered[rows, np.maximum(count, 1) // 2 * (count > 0)]
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, (low + high) / 2, np.nan)


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    total = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (np.nan_to_num(values) * weights).sum(axis=1) / total, np.nan)


def neighbour_features(
    rows: list[PriceInput], positions: np.ndarray, similarity: np.ndarray, index: NeighbourIndex
) -> np.ndarray:
    """KNN_FEATURES of each row from its nearest training products (`NeighbourIndex.nearest`):
    (rows, len(KNN_FEATURES)), NaN where a feature has no neighbour to come from."""
    n, k = positions.shape
    rows_at = np.arange(n)
    found = positions >= 0
    at = np.where(found, positions, 0)
    log_price = np.where(found, index.log_price[at], np.nan)
    own_quantity = np.array([pack_log_quantity(r) for r in rows], np.float64).reshape(n, 1)
    own_unit = np.array([r.pack_unit for r in rows], dtype=object).reshape(n, 1)
    their_quantity = np.where(found, index.log_quantity[at], np.nan)
    same_unit = (
        found & (index.unit[at] == own_unit) & (own_unit != "") & ~np.isnan(their_quantity) & ~np.isnan(own_quantity)
    )
    # a neighbour's price scaled to this row's pack size, where both sizes are comparable
    adjusted = np.where(same_unit, log_price + own_quantity - their_quantity, np.nan)
    weight = np.where(found, np.maximum(similarity, 0.0) ** 4 + 1e-9, 0.0)
    keys = [group_keys(r) for r in rows]
    same_brand = found & (index.brand[at] == np.array([g["brand"] for g in keys], dtype=object).reshape(n, 1))
    same_type = found & (index.type_key[at] == np.array([g["type"] for g in keys], dtype=object).reshape(n, 1))

    def first(mask: np.ndarray, values: np.ndarray) -> list[np.ndarray]:
        hit, hits = mask.argmax(axis=1), mask.any(axis=1)
        return [np.where(hits, similarity[rows_at, hit], np.nan), np.where(hits, values[rows_at, hit], np.nan)]

    def similarity_at(i: int) -> np.ndarray:
        return np.where(found[:, i], similarity[:, i], np.nan) if k > i else np.full(n, np.nan)

    spread = np.full(n, np.nan)
    enough = found[:, :10].sum(axis=1) > 0
    with np.errstate(invalid="ignore"):
        centred = log_price[:, :10] - _weighted_mean(log_price[:, :10], found[:, :10].astype(float))[:, None]
        spread[enough] = np.sqrt(_weighted_mean(centred**2, found[:, :10].astype(float)))[enough]
    columns = [
        similarity_at(0),
        log_price[:, 0],
        adjusted[:, 0],
        _weighted_mean(log_price[:, :5], weight[:, :5]),
        _masked_median(log_price[:, :10]),
        _weighted_mean(log_price, weight),
        _weighted_mean(adjusted, np.where(same_unit, weight, 0.0)),
        same_unit.sum(axis=1).astype(np.float64),
        *first(same_brand, log_price),
        *first(same_brand & same_unit, adjusted),
        *first(same_type, log_price),
        *first(same_type & same_unit, adjusted),
        similarity_at(4),
        similarity_at(9),
        spread,
    ]
    return np.column_stack(columns).astype(np.float64)


def group_keys(row: PriceInput) -> dict[str, str]:
    """The row's groups: its `type` is its whole path (a leaf at any depth), its `sub_category`
    the path's first two levels, its `category` the first (BigBasket's three levels)."""
    path = tuple(row.category_path)
    brand = row.brand.casefold().strip()
    return {
        "type": "/".join(path),
        "sub_category": "/".join(path[:2]),
        "category": path[0] if path else "",
        "brand": brand,
        "brand_type": f"{brand}|{'/'.join(path)}",
    }


def feature_row(
    row: PriceInput,
    ridge_log_price: float,
    medians: Mapping[str, Mapping[str, tuple[float, int]]],
    discounts: Mapping[str, Mapping[str, tuple[float, int]]] | None,
) -> list[float]:
    """One row of the booster's input, in BASE_FEATURES (+ LIST_FEATURES) order; NaN = unknown."""
    keys = group_keys(row)
    found = [medians[g].get(keys[g]) for g in GROUPS]
    values = [ridge_log_price]
    values += [hit[0] if hit else math.nan for hit in found]
    values += [float(hit[1]) if hit else 0.0 for hit in found]
    quantity = row.pack_quantity
    values += [
        math.log(quantity) if quantity and quantity > 0 else math.nan,
        float(row.pack_unit == "g"),
        float(row.pack_unit == "ml"),
        float(row.pack_count),
        float(len(row.name.split())),
    ]
    if discounts is not None:
        brand = discounts["brand"].get(keys["brand"])
        kind = discounts["type"].get(keys["type"])
        values += [
            math.log(row.list_price) if row.list_price else math.nan,
            brand[0] if brand else math.nan,
            kind[0] if kind else math.nan,
            float(brand[1]) if brand else 0.0,
        ]
    return values
