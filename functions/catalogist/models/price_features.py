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
COMMON_FEATURES = 256  # NeighbourIndex: multiplied densely
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
    """The training products: L2-normalized TF-IDF rows and what the features need of them.

    Similarity is a sparse product, and its cost is each query n-gram times the number of
    products holding it. Character n-grams such as `e ` and ` s` sit in thousands of products:
    the COMMON_FEATURES most frequent buckets make 84% of it on BigBasket. Those columns are
    multiplied as a small dense block (BLAS), the rest stay sparse; the sum is the same cosine.
    """

    matrix: sparse.csr_matrix  # products × hashed features
    log_price: np.ndarray
    log_quantity: np.ndarray  # NaN when the name states no pack size
    unit: np.ndarray  # "g", "ml", "pcs" or ""
    brand: np.ndarray  # casefolded
    type_key: np.ndarray  # group_keys(...)["type"]
    # built once from `matrix`: the common features' dense block and slot per feature (-1: rare),
    # and the rare features as features × products (`queries @ matrix.T` would transpose per call)
    _common: np.ndarray = field(init=False, repr=False, compare=False)
    _slot: np.ndarray = field(init=False, repr=False, compare=False)
    _rare: sparse.csr_matrix = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_feature = self.matrix.T.tocsr()
        frequency = np.diff(by_feature.indptr)
        common = np.argsort(-frequency, kind="stable")[: min(COMMON_FEATURES, int((frequency > 0).sum()))]
        slot = np.full(by_feature.shape[0], -1, np.int32)
        slot[common] = np.arange(len(common))
        rare = by_feature.copy()
        rare.data[np.repeat(slot >= 0, frequency)] = 0.0
        rare.eliminate_zeros()
        object.__setattr__(self, "_common", by_feature[common].toarray())
        object.__setattr__(self, "_slot", slot)
        object.__setattr__(self, "_rare", rare)

    def similarity(self, queries: sparse.csr_matrix) -> np.ndarray:
        """Cosine of each query row with every product: (queries, products)."""
        slot = self._slot[queries.indices]
        hit = slot >= 0
        dense = np.zeros((queries.shape[0], len(self._common)), np.float32)
        dense[np.repeat(np.arange(queries.shape[0]), np.diff(queries.indptr))[hit], slot[hit]] = queries.data[hit]
        return dense @ self._common + (queries @ self._rare).toarray()

    def nearest(
        self, queries: sparse.csr_matrix, exclude: np.ndarray | None = None, chunk: int = 128
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per query row, the NEIGHBOURS most similar products, best first: (positions,
        similarities), each (queries, k); `exclude[i]` is a position query i may not see
        (itself, when scoring training)."""
        k = min(NEIGHBOURS, self.matrix.shape[0] - (exclude is not None))
        positions, similarities = [], []
        for start in range(0, queries.shape[0], chunk):
            similarity = self.similarity(queries[start : start + chunk])
            if exclude is not None:
                rows = np.arange(similarity.shape[0])
                similarity[rows, exclude[start : start + chunk]] = -1.0
            top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
            order = np.take_along_axis(top, np.argsort(-np.take_along_axis(similarity, top, axis=1), axis=1), axis=1)
            positions.append(order)
            similarities.append(np.take_along_axis(similarity, order, axis=1))
        if not positions:
            return np.empty((0, k), np.int64), np.empty((0, k), np.float32)
        return np.concatenate(positions), np.concatenate(similarities)


def neighbour_features(
    rows: list[PriceInput], positions: np.ndarray, similarity: np.ndarray, index: NeighbourIndex
) -> np.ndarray:
    """KNN_FEATURES of each row from its nearest training products (`NeighbourIndex.nearest`):
    (rows, len(KNN_FEATURES)), NaN where a feature has no neighbour to come from."""
    n, k = positions.shape
    rows_at = np.arange(n)
    log_price = index.log_price[positions]
    own_quantity = np.array([pack_log_quantity(r) for r in rows], np.float64).reshape(n, 1)
    own_unit = np.array([r.pack_unit for r in rows], dtype=object).reshape(n, 1)
    their_quantity = index.log_quantity[positions]
    same_unit = (
        (index.unit[positions] == own_unit) & (own_unit != "") & ~np.isnan(their_quantity) & ~np.isnan(own_quantity)
    )
    # a neighbour's price scaled to this row's pack size, where both sizes are comparable
    adjusted = np.where(same_unit, log_price + own_quantity - their_quantity, np.nan)
    weight = np.maximum(similarity, 0.0) ** 4 + 1e-9
    adjusted_weight = np.where(same_unit, weight, 0.0)
    keys = [group_keys(r) for r in rows]
    same_brand = index.brand[positions] == np.array([g["brand"] for g in keys], dtype=object).reshape(n, 1)
    same_type = index.type_key[positions] == np.array([g["type"] for g in keys], dtype=object).reshape(n, 1)

    def first(mask: np.ndarray, values: np.ndarray) -> list[np.ndarray]:
        hit, found = mask.argmax(axis=1), mask.any(axis=1)
        return [np.where(found, similarity[rows_at, hit], np.nan), np.where(found, values[rows_at, hit], np.nan)]

    def at(i: int) -> np.ndarray:
        return similarity[:, i].astype(np.float64) if k > i else np.full(n, np.nan)

    total_adjusted_weight = adjusted_weight.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pack_adjusted = np.where(
            total_adjusted_weight > 0,
            np.nansum(np.nan_to_num(adjusted) * adjusted_weight, axis=1) / total_adjusted_weight,
            np.nan,
        )
    columns = [
        at(0),
        log_price[:, 0],
        adjusted[:, 0],
        np.average(log_price[:, :5], weights=weight[:, :5], axis=1),
        np.median(log_price[:, :10], axis=1),
        np.average(log_price, weights=weight, axis=1),
        pack_adjusted,
        same_unit.sum(axis=1).astype(np.float64),
        *first(same_brand, log_price),
        *first(same_brand & same_unit, adjusted),
        *first(same_type, log_price),
        *first(same_type & same_unit, adjusted),
        at(4),
        at(9),
        np.std(log_price[:, :10], axis=1),
    ]
    return np.column_stack(columns).astype(np.float64)


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
