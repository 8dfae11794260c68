"""The price model at serving time: a suggested retail price and its P10–P90 range.

Files, written by `catalogist train price`:

    ridge.npz          sparse idf and sparse text weights (log price from the product text)
    neighbours.npz     the training products' normalized TF-IDF rows, log prices, pack sizes,
                       brands and types (the nearest-neighbour features)
    price_tables.json  median log prices per type / sub-category / category / brand / brand×type,
                       usual log discounts per brand and type, feature names, config
    {text,list}_{p50,p10,p90}.txt   LightGBM boosters: without and with the vendor's list price
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
from scipy import sparse

from catalogist.errors import ModelError
from catalogist.models.price_features import (
    BASE_FEATURES,
    KNN_FEATURES,
    LIST_FEATURES,
    NeighbourIndex,
    PriceInput,
    feature_row,
    neighbour_features,
    price_text,
)
from catalogist.models.releases import Release
from catalogist.models.text_features import term_counts, tfidf, unpack_idf

QUANTILES = ("p50", "p10", "p90")
KIND = "price"
FILES = (
    "neighbours.npz",
    "ridge.npz",
    "price_tables.json",
    *(f"{mode}_{q}.txt" for mode in ("text", "list") for q in QUANTILES),
)


@dataclass(frozen=True)
class PriceSuggestion:
    price: float
    low: float  # 10th percentile
    high: float  # 90th percentile
    mode: str  # "text" or "list_price"


@dataclass(frozen=True)
class PriceModel:
    idf: np.ndarray
    ridge_weights: sparse.csr_matrix  # features × 1
    ridge_bias: float
    tables: dict[str, Any]
    boosters: dict[str, lgb.Booster]  # "text_p50", "list_p90", ...
    neighbours: NeighbourIndex
    release: Release | None = None  # None while training builds it

    @classmethod
    def open(cls, folder: Path) -> "PriceModel":
        return cls.load(Release.open(folder, KIND, FILES))

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
            arrays = np.load(directory / "ridge.npz")
            neighbours = load_neighbours(directory / "neighbours.npz")
            tables = json.loads((directory / "price_tables.json").read_text())
            boosters = {
                f"{mode}_{q}": lgb.Booster(model_file=str(directory / f"{mode}_{q}.txt"))
                for mode in ("text", "list")
                for q in QUANTILES
            }
        except (OSError, ValueError, KeyError, lgb.basic.LightGBMError) as error:
            raise ModelError(f"price model in {directory} is incomplete: {error}") from None
        weights = sparse.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=tuple(arrays["shape"]))
        return cls(unpack_idf(arrays), weights, float(arrays["bias"]), tables, boosters, neighbours, release)

    def text_features(self, rows: list[PriceInput]) -> sparse.csr_matrix:
        return tfidf(term_counts(price_text(r) for r in rows), self.idf)

    def features(self, rows: list[PriceInput], with_list_price: bool) -> np.ndarray:
        """Booster input: BASE_FEATURES, KNN_FEATURES, then LIST_FEATURES in list-price mode."""
        if not rows:
            width = len(BASE_FEATURES) + len(KNN_FEATURES) + (len(LIST_FEATURES) if with_list_price else 0)
            return np.empty((0, width))
        text = self.text_features(rows)
        ridge = np.asarray((text @ self.ridge_weights).todense()).ravel() + self.ridge_bias
        discounts = self.tables["discounts"] if with_list_price else None
        base = np.array(
            [
                feature_row(row, float(log_price), self.tables["medians"], discounts)
                for row, log_price in zip(rows, ridge, strict=True)
            ],
            dtype=np.float64,
        )
        knn = neighbour_features(rows, *self.neighbours.nearest(text), self.neighbours)
        return np.hstack([base[:, : len(BASE_FEATURES)], knn, base[:, len(BASE_FEATURES) :]])

    def suggest(self, rows: list[PriceInput]) -> list[PriceSuggestion]:
        """Rows with a list price use the list-price boosters; the others the text ones."""
        results: list[PriceSuggestion | None] = [None] * len(rows)
        for mode, with_list in (("text", False), ("list", True)):
            chosen = [i for i, r in enumerate(rows) if bool(r.list_price) == with_list]
            if not chosen:
                continue
            matrix = self.features([rows[i] for i in chosen], with_list)
            predicted = {q: self.boosters[f"{mode}_{q}"].predict(matrix, num_threads=1) for q in QUANTILES}
            # the quantile models' spread, widened by the factor that made validation cover 80%
            scale = float(self.tables["interval_scale"][mode])
            for position, i in enumerate(chosen):
                low, mid, high = sorted(predicted[q][position] for q in ("p10", "p50", "p90"))
                low, high = mid - scale * (mid - low), mid + scale * (high - mid)
                results[i] = PriceSuggestion(
                    round(math.exp(mid), 2),
                    round(math.exp(low), 2),
                    round(math.exp(high), 2),
                    "list_price" if with_list else "text",
                )
        return [r for r in results if r is not None]


def save_neighbours(path: Path, index: NeighbourIndex) -> None:
    matrix = index.matrix.tocsr()
    np.savez_compressed(
        path,
        data=matrix.data.astype(np.float16),
        indices=matrix.indices,
        indptr=matrix.indptr,
        shape=np.array(matrix.shape),
        log_price=index.log_price.astype(np.float32),
        log_quantity=index.log_quantity.astype(np.float32),
        unit=index.unit,
        brand=index.brand,
        type_key=index.type_key,
    )


def load_neighbours(path: Path) -> NeighbourIndex:
    arrays = np.load(path)
    matrix = sparse.csr_matrix(
        (arrays["data"].astype(np.float32), arrays["indices"], arrays["indptr"]), shape=tuple(arrays["shape"])
    )
    return NeighbourIndex(
        matrix,
        arrays["log_price"].astype(np.float64),
        arrays["log_quantity"].astype(np.float64),
        arrays["unit"],
        arrays["brand"],
        arrays["type_key"],
    )
