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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

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
KNN_FEATURES = (
    "nn1_similarity", "nn1_log_price", "nn1_pack_adjusted", "nn5_weighted_log_price",
    "nn10_median_log_price", "nn20_weighted_log_price", "nn20_pack_adjusted", "nn20_same_unit",
    "brand_nn_similarity", "brand_nn_log_price", "brand_unit_nn_similarity",
    "brand_unit_nn_pack_adjusted", "type_nn_similarity", "type_nn_log_price",
    "type_unit_nn_similarity", "type_unit_nn_pack_adjusted", "nn5_similarity", "nn10_similarity",
    "nn10_log_price_spread",
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


def price_text(row: PriceInput) -> tuple[str, str, str]:
    """What the ridge and the neighbour search read: name, brand and the category words."""
    return (row.name, row.brand, " ".join(row.category_path))


def pack_log_quantity(row: PriceInput) -> float:
    return math.log(row.pack_quantity) if row.pack_quantity and row.pack_quantity > 0 else math.nan


@dataclass(frozen=True)
class NeighbourIndex:
    """The training products: L2-normalized TF-IDF rows and what the features need of them."""

    matrix: sparse.csr_matrix  # products × hashed features
    log_price: np.ndarray
    log_quantity: np.ndarray  # NaN when the name states no pack size
    unit: np.ndarray  # "g", "ml", "pcs" or ""
    brand: np.ndarray  # casefolded
    type_key: np.ndarray  # group_keys(...)["type"]
    # features × products, built once: `queries @ matrix.T` would transpose it on every call
    _by_feature: sparse.csr_matrix = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_feature", self.matrix.T.tocsr())

    def nearest(self, queries: sparse.csr_matrix, exclude: np.ndarray | None = None,
                chunk: int = 512) -> Iterable[tuple[np.ndarray, np.ndarray]]:
        """Per query row, the NEIGHBOURS most similar products (positions, similarities), best
        first; `exclude[i]` is a position query i may not see (itself, when scoring training)."""
        k = min(NEIGHBOURS, self.matrix.shape[0] - (exclude is not None))
        for start in range(0, queries.shape[0], chunk):
            similarity = (queries[start:start + chunk] @ self._by_feature).toarray()
            if exclude is not None:
                rows = np.arange(similarity.shape[0])
                similarity[rows, exclude[start:start + chunk]] = -1.0
            top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
            for row, candidates in zip(similarity, top, strict=True):
                order = candidates[np.argsort(-row[candidates])]
                yield order, row[order]


def neighbour_features(row: PriceInput, positions: np.ndarray, similarity: np.ndarray,
                       index: NeighbourIndex) -> list[float]:
    """KNN_FEATURES of one row from its nearest training products."""
    log_price = index.log_price[positions]
    own_quantity = pack_log_quantity(row)
    same_unit = ((index.unit[positions] == row.pack_unit) & (row.pack_unit != "")
                 & ~np.isnan(index.log_quantity[positions]) & (not math.isnan(own_quantity)))
    # a neighbour's price scaled to this row's pack size, where both sizes are comparable
    adjusted = np.where(same_unit, log_price + own_quantity - index.log_quantity[positions],
                        np.nan)
    weight = np.maximum(similarity, 0.0) ** 4 + 1e-9
    adjusted_weight = np.where(same_unit, weight, 0.0)
    keys = group_keys(row)
    same_brand = index.brand[positions] == keys["brand"]
    same_type = index.type_key[positions] == keys["type"]

    def first(mask: np.ndarray, values: np.ndarray) -> list[float]:
        hits = np.nonzero(mask)[0]
        return [float(similarity[hits[0]]), float(values[hits[0]])] if len(hits) else [
            math.nan, math.nan]

    nan = math.nan
    at = lambda i: float(similarity[i]) if len(similarity) > i else nan  # noqa: E731
    return [
        at(0), float(log_price[0]) if len(log_price) else nan,
        float(adjusted[0]) if len(adjusted) else nan,
        float(np.average(log_price[:5], weights=weight[:5])) if len(log_price) else nan,
        float(np.median(log_price[:10])) if len(log_price) else nan,
        float(np.average(log_price, weights=weight)) if len(log_price) else nan,
        float(np.nansum(np.nan_to_num(adjusted) * adjusted_weight) / adjusted_weight.sum())
        if adjusted_weight.sum() > 0 else nan,
        float(same_unit.sum()),
        *first(same_brand, log_price), *first(same_brand & same_unit, adjusted),
        *first(same_type, log_price), *first(same_type & same_unit, adjusted),
        at(4), at(9), float(np.std(log_price[:10])) if len(log_price) else nan,
    ]


def group_keys(row: PriceInput) -> dict[str, str]:
    category, sub_category, kind = [*row.category_path, "", "", ""][:3]
    brand = row.brand.casefold().strip()
    return {
        "type": f"{category}/{sub_category}/{kind}",
        "sub_category": f"{category}/{sub_category}",
        "category": category,
        "brand": brand,
        "brand_type": f"{brand}|{category}/{sub_category}/{kind}",
    }


def feature_row(
    row: PriceInput,
    ridge_log_price: float,
    medians: Mapping[str, Mapping[str, tuple[float, int]]],
    discounts: Mapping[str, Mapping[str, tuple[float, int]]] | None,
) -> list[float]:
    """One row of the booster's input, in BASE_FEATURES (+ LIST_FEATURES) order; NaN = unknown."""
    keys = group_keys(row)
    found = {g: medians[g].get(keys[g]) for g in GROUPS}
    values = [ridge_log_price]
    values += [found[g][0] if found[g] else math.nan for g in GROUPS]
    values += [float(found[g][1]) if found[g] else 0.0 for g in GROUPS]
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
