"""The price model at serving time: a suggested retail price and its P10–P90 range.

Two ways in:

- `suggest(rows)`: a file row (name, brand, category path, pack size, the vendor's list price
  when given) → LightGBM on the row's features (catalogist.models.price_features), modes
  `text` (no price in the row) and `list_price`.
- `suggest_for_category(category_path, vendor_prices)`: a photo, known only by the category its
  image was filed under → the spread of the shop's prices in that category (mode `category`),
  or, for a path of another tree (the photo classifier's), in the types whose words the path
  shares (mode `category_text`); the vendor's own list prices in that category, when given,
  move it to where that vendor sells (mode `category_vendor`). Always `rough`: a product's price
  depends on its pack size, which a photo does not say.

Files, written by `catalogist train price`:

    ridge.npz             sparse idf and sparse text weights (log price from the product text)
    neighbours.npz        the training products' word vectors, log prices, pack sizes, brands
                          and types (the nearest-neighbour features)
    price_tables.json     median log prices per type / sub-category / category / brand /
                          brand×type, usual log discounts per brand and type, the categories'
                          price spreads (photos), feature names, config
    {text,list}_{p50,p10,p90}.txt.xz   LightGBM boosters (model text, xz-compressed): without
                          and with the vendor's list price
"""

import json
import lzma
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
from scipy import sparse

from catalogist.errors import ModelError
from catalogist.models.kinds import PRICE
from catalogist.models.neighbours import WordNeighbours
from catalogist.models.price_features import (
    BASE_FEATURES,
    LIST_FEATURES,
    NeighbourIndex,
    PriceInput,
    feature_row,
    neighbour_features,
    price_text,
)
from catalogist.models.releases import Release
from catalogist.models.text_features import (
    normalize,
    pack_sparse,
    term_counts,
    tfidf,
    unpack_idf,
    unpack_sparse,
    word_part,
)

QUANTILES = ("p50", "p10", "p90")
MODES = ("text", "list")
CATEGORY_LEVELS = ("type", "sub_category", "category")
MIN_CATEGORY_PRODUCTS = 5  # fewer priced products than this in a type: its parent's spread is used


@dataclass(frozen=True)
class PriceSuggestion:
    price: float
    low: float  # 10th percentile
    high: float  # 90th percentile
    mode: str  # "text", "list_price", "category", "category_text" or "category_vendor"
    rough: bool = False  # from the category alone: the range is the category's, not the product's


@dataclass(frozen=True)
class PriceModel:
    idf: np.ndarray
    ridge_weights: sparse.csr_matrix  # features × 1
    ridge_bias: float
    tables: dict[str, Any]
    boosters: dict[str, lgb.Booster]  # "text_p50", "list_p90", ...
    neighbours: NeighbourIndex
    release: Release | None = None  # None while training builds it
    _categories: "CategoryPrices | None" = field(default=None, repr=False, compare=False)

    @classmethod
    def open(cls, folder: Path) -> "PriceModel":
        return cls.load(Release.open(folder, PRICE.manifest_kind, PRICE.files))

    @property
    def version(self) -> str:
        return self.release.version if self.release else "unreleased"

    @property
    def currency(self) -> str:
        """The currency of the prices it learnt (and predicts)."""
        return str(self.tables["currency"])

    @classmethod
    def load(cls, release: Release) -> "PriceModel":
        directory = release.folder
        try:
            with np.load(directory / "ridge.npz") as stored:
                arrays = dict(stored)
            neighbours = load_neighbours(directory / "neighbours.npz")
            tables = json.loads((directory / "price_tables.json").read_text())
            boosters = {
                f"{mode}_{q}": lgb.Booster(
                    model_str=lzma.decompress((directory / f"{mode}_{q}.txt.xz").read_bytes()).decode()
                )
                for mode in MODES
                for q in QUANTILES
            }
        except (OSError, ValueError, KeyError, lzma.LZMAError, lgb.basic.LightGBMError) as error:
            raise ModelError(f"price model in {directory} is incomplete: {error}") from None
        weights = sparse.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=tuple(arrays["shape"]))
        model = cls(unpack_idf(arrays), weights, float(arrays["bias"]), tables, boosters, neighbours, release)
        object.__setattr__(model, "_categories", CategoryPrices.from_tables(tables))
        return model

    # -- file rows -------------------------------------------------------------------------------

    def features(self, rows: list[PriceInput]) -> dict[str, np.ndarray]:
        """Booster input of every row, per mode: BASE_FEATURES, KNN_FEATURES, then (`list`
        mode) LIST_FEATURES. The text is hashed and searched once for both modes."""
        counts = term_counts([price_text(r) for r in rows])
        text = tfidf(counts, self.idf)
        ridge = np.asarray((text @ self.ridge_weights).todense()).ravel() + self.ridge_bias
        words = tfidf(word_part(counts), self.idf)
        knn = neighbour_features(rows, *self.neighbours.nearest(words), self.neighbours)
        base = np.array(
            [
                feature_row(row, float(log_price), self.tables["medians"], self.tables["discounts"])
                for row, log_price in zip(rows, ridge, strict=True)
            ],
            dtype=np.float64,
        ).reshape(len(rows), len(BASE_FEATURES) + len(LIST_FEATURES))
        head, listed = base[:, : len(BASE_FEATURES)], base[:, len(BASE_FEATURES) :]
        return {"text": np.hstack([head, knn]), "list": np.hstack([head, knn, listed])}

    def suggest(self, rows: list[PriceInput]) -> list[PriceSuggestion]:
        """Rows with a list price use the list-price boosters; the others the text ones."""
        if not rows:
            return []
        features = self.features(rows)
        with_list = np.array([bool(r.list_price) for r in rows])
        log_mid, log_low, log_high = np.zeros(len(rows)), np.zeros(len(rows)), np.zeros(len(rows))
        for mode, chosen in (("text", ~with_list), ("list", with_list)):
            if not chosen.any():
                continue
            matrix = features[mode][chosen]
            predicted = {q: self.boosters[f"{mode}_{q}"].predict(matrix, num_threads=1) for q in QUANTILES}
            # the quantile models' spread, widened by the factor that made validation cover 80%
            low, mid, high = np.sort(np.column_stack([predicted["p10"], predicted["p50"], predicted["p90"]]), axis=1).T
            scale = float(self.tables["interval_scale"][mode])
            log_mid[chosen], log_low[chosen], log_high[chosen] = (
                mid,
                mid - scale * (mid - low),
                mid + scale * (high - mid),
            )
        prices = [np.round(np.exp(values), 2).tolist() for values in (log_mid, log_low, log_high)]
        return [
            PriceSuggestion(price, low, high, "list_price" if listed else "text")
            for price, low, high, listed in zip(*prices, with_list.tolist(), strict=True)
        ]

    # -- photos ----------------------------------------------------------------------------------

    def suggest_for_category(
        self, category_path: Sequence[str], vendor_prices: Sequence[float] = ()
    ) -> PriceSuggestion | None:
        """A rough price for a product known only by its category path (a photo), or None
        when the path says nothing the shop's prices know. `vendor_prices`: the vendor's own
        list prices of products in that category, in the model's currency."""
        if self._categories is None:
            raise ModelError("this price release has no category prices (trained before they existed)")
        return self._categories.suggest(tuple(category_path), vendor_prices)


@dataclass(frozen=True)
class CategorySpread:
    log_low: float  # P10 of log sale prices
    log_mid: float  # median
    log_high: float  # P90
    count: int


@dataclass(frozen=True)
class CategoryPrices:
    """The spread of the shop's prices per category node, and the words of each type's path
    to find the nodes a foreign category path (the photo classifier's tree) means.

    With the vendor's own list prices in the category, the vendor's median (with the shop's
    usual discount off list prices) replaces the category's, and the range keeps the
    category's width around it, narrowed as the vendor's prices sit close together: a vendor
    selling premium tea sells premium tea."""

    spreads: dict[str, dict[str, CategorySpread]]  # level → node key → spread
    type_words: dict[str, frozenset[str]]  # type key → words of its path
    log_discount: float  # median log(sale / list) in the shop

    @classmethod
    def from_tables(cls, tables: dict[str, Any]) -> "CategoryPrices | None":
        found = tables.get("category_prices")
        if not found:
            return None
        spreads = {
            level: {
                key: CategorySpread(float(values[0]), float(values[1]), float(values[2]), int(values[3]))
                for key, values in found[level].items()
            }
            for level in CATEGORY_LEVELS
        }
        words = {key: frozenset(normalize(key.replace("/", " ")).split()) for key in spreads["type"]}
        return cls(spreads, words, float(found["log_discount"]))

    def node(self, path: tuple[str, ...]) -> tuple[CategorySpread, str] | None:
        """The deepest node of `path` in the shop's tree with enough prices, and the mode: the
        path's prefixes, longest first, among the leaves (`type`), then the first two levels'
        and the first level's nodes."""
        for depth in range(len(path), 0, -1):
            key = "/".join(path[:depth])
            for level in CATEGORY_LEVELS:
                spread = self.spreads[level].get(key)
                if spread and spread.count >= MIN_CATEGORY_PRODUCTS:
                    return spread, "category"
        return self.by_words(path)

    def by_words(self, path: tuple[str, ...]) -> tuple[CategorySpread, str] | None:
        """A path of another tree: the types whose path shares the most of its words (the
        deeper words count more), their spreads pooled by product count."""
        scored: dict[str, float] = {}
        for depth, part in enumerate(path):
            for word in set(normalize(part).split()) | {w.rstrip("s") for w in normalize(part).split()}:
                for key, words in self.type_words.items():
                    if word in words or word + "s" in words or word + "es" in words:
                        scored[key] = scored.get(key, 0.0) + 1.0 + depth
        if not scored:
            return None
        best = max(scored.values())
        chosen = [self.spreads["type"][key] for key, score in scored.items() if score == best]
        counts = np.array([s.count for s in chosen], np.float64)
        pooled = CategorySpread(
            float(np.average([s.log_low for s in chosen], weights=counts)),
            float(np.average([s.log_mid for s in chosen], weights=counts)),
            float(np.average([s.log_high for s in chosen], weights=counts)),
            int(counts.sum()),
        )
        return pooled, "category_text"

    def suggest(self, path: tuple[str, ...], vendor_prices: Sequence[float]) -> PriceSuggestion | None:
        found = self.node(path)
        if found is None:
            return None
        spread, mode = found
        low, mid, high = spread.log_low, spread.log_mid, spread.log_high
        listed = np.log([p for p in vendor_prices if p and p > 0 and math.isfinite(p)])
        if len(listed):
            centre = float(np.median(listed)) + self.log_discount
            # the vendor's spread, shrunk toward the category's when they listed few prices
            theirs = float(np.std(listed)) if len(listed) > 1 else (high - low) / 2.56
            share = len(listed) / (len(listed) + 3.0)
            half = max((1 - share) * (high - low) / 2 + share * 1.28 * theirs, 0.05)
            low, mid, high, mode = centre - half, centre, centre + half, "category_vendor"
        return PriceSuggestion(
            round(math.exp(mid), 2), round(math.exp(low), 2), round(math.exp(high), 2), mode, rough=True
        )


def save_neighbours(path: Path, index: NeighbourIndex) -> None:
    arrays: dict[str, Any] = {
        **pack_sparse("words", index.words.by_feature.T),  # by product: each product's words compress together
        "log_price": index.log_price.astype(np.float32),
        "log_quantity": index.log_quantity.astype(np.float32),
        "unit": index.unit.astype(str),
        "brand": index.brand.astype(str),
        "type_key": index.type_key.astype(str),
    }
    np.savez_compressed(path, **arrays)


def load_neighbours(path: Path) -> NeighbourIndex:
    with np.load(path) as stored:
        arrays = dict(stored)
    return NeighbourIndex(
        WordNeighbours(unpack_sparse(arrays, "words").T.tocsr()),
        arrays["log_price"].astype(np.float64),
        arrays["log_quantity"].astype(np.float64),
        arrays["unit"].astype(object),
        arrays["brand"].astype(object),
        arrays["type_key"].astype(object),
    )
