"""Train and evaluate the price model (retail price of a new product, with a P10–P90 range).

    catalogist train price --data products.csv --out models/price [--extra reviews.csv ...]
    catalogist evaluate price --model models/price --data products.csv --out reports/price
    catalogist train price --data export.tsv --columns columns.json --out models/price

Stacking, all in log price: a ridge on the hashed text and the group medians are computed
out-of-fold on the train split (5 folds, by product) so LightGBM learns how far to trust them;
the nearest-neighbour features of a training row leave out every listing of its own product,
as a new product has none. A product counts once, however many rows list it (`_Rows.first`,
`listing_weights`): the ridge and the boosters weigh each of its rows 1 / its listings, and the
neighbours, the group medians, the category prices and the validation figures read its first
listing only; a generated catalogue's seventy perturbed copies of one product would otherwise
fill a new product's neighbours with that one product and pull every median and split towards
it. Boosters for P50 (the median: more rows within 20% than a squared-error fit, same rmsle on
validation), P10 and P90 stop early on the validation split, which also fits how much to widen
the range to cover 80%. Then everything is fitted again on train + validation with the tree
counts found, and that is the model served. Two sets of boosters: `text` (no price in the row)
and `list` (the vendor's list price — BigBasket's market_price — is known). The photos'
category prices are the spread of sale prices per category node. The test split stays out,
unless `--include-test-split` (the release shipped once the recipe was chosen on it: its rows
join train, as catalogist_training.textcat explains).

Evaluation scores every row of --data whose product the model was not trained on; the
baselines (group medians, a list-price discount) are fitted on the model's own training rows,
read again from the files its config names, and left out, with the reason, when those are not
there. `photo` reports the rough prices of those rows known by their category path alone.
"""

import json
import lzma
import math
import time
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import lightgbm as lgb
import numpy as np
from sklearn.linear_model import Ridge
from tqdm import tqdm

from catalogist.errors import BadFile
from catalogist.models.kinds import PRICE, ReleaseKind
from catalogist.models.neighbours import WordNeighbours
from catalogist.models.price_features import (
    BASE_FEATURES,
    COMMON_WORDS,
    GROUPS,
    KNN_FEATURES,
    LIST_FEATURES,
    NeighbourIndex,
    PriceInput,
    feature_row,
    group_keys,
    neighbour_features,
    pack_log_quantity,
    price_text,
)
from catalogist.models.price_model import (
    CATEGORY_LEVELS,
    MODES,
    QUANTILES,
    PriceModel,
    PriceSuggestion,
    save_neighbours,
)
from catalogist.models.text_features import fit_idf, pack_idf
from catalogist.vendorfiles.packsize import parse_pack_size
from catalogist_training.catalogue import GUESSED, CatalogueColumns, read_catalogue
from catalogist_training.release_manifest import write_manifest
from catalogist_training.row_pages import counts_of, stack_rows, weighted
from catalogist_training.textcat import (
    NothingToScore,
    columns_of,
    product_digest,
    trained_on,
    write_catalogue_report,
    write_trained_on,
)
from catalogist_training.vendor_data import (
    Product,
    name_group,
    product_key,
    products_of,
    split_key,
    training_rows,
)
from catalogist_training.vendor_report import figure_png, plt, write_report

FOLDS = 5
LEARNING_RATE = 0.1  # 0.03 took 3× the trees for the same validation figures, and trees are serving time
_ALPHAS = {"p50": 0.5, "p10": 0.1, "p90": 0.9}
# the P50 objective per mode, chosen on validation (docs/experiments.md)
_P50_IS_MEDIAN = {"text": True, "list": False}
SEARCH_ROWS = 2_000  # rows searched for neighbours at once: the similarities grow with the rows indexed


def price_input(product: Product, with_list_price: bool) -> PriceInput:
    pack = parse_pack_size(product.name)
    return PriceInput(
        product.name,
        product.brand,
        product.category_path,
        pack.quantity if pack else None,
        pack.unit if pack else "",
        pack.count if pack else 1,
        product.market_price if with_list_price else None,
    )


def _tables(rows: list[Product], inputs: list[PriceInput] | None = None) -> dict[str, Any]:
    """The group medians and discounts of `rows` (`inputs`: their `price_input(p, False)`)."""
    values: dict[str, dict[str, list[float]]] = {g: {} for g in GROUPS}
    discounts: dict[str, dict[str, list[float]]] = {"brand": {}, "type": {}}
    for p, row in zip(rows, inputs or [price_input(p, False) for p in rows], strict=True):
        keys = group_keys(row)
        for g in GROUPS:
            values[g].setdefault(keys[g], []).append(math.log(p.sale_price))  # type: ignore[arg-type]
        if p.market_price:
            ratio = math.log(p.sale_price / p.market_price)  # type: ignore[operator]
            discounts["brand"].setdefault(keys["brand"], []).append(ratio)
            discounts["type"].setdefault(keys["type"], []).append(ratio)
    summarize = lambda groups: {k: (float(np.median(v)), len(v)) for k, v in groups.items()}  # noqa: E731
    return {
        "medians": {g: summarize(values[g]) for g in GROUPS},
        "discounts": {g: summarize(discounts[g]) for g in discounts},
    }


def category_prices(rows: list[Product], inputs: list[PriceInput] | None = None) -> dict[str, Any]:
    """P10, median, P90 of log sale price and the count, per type, sub-category and category;
    and the shop's median log discount off list prices (for a vendor's own prices)."""
    spreads: dict[str, dict[str, list[float]]] = {level: {} for level in CATEGORY_LEVELS}
    for p, row in zip(rows, inputs or [price_input(p, False) for p in rows], strict=True):
        keys = group_keys(row)
        for level in CATEGORY_LEVELS:
            spreads[level].setdefault(keys[level], []).append(math.log(p.sale_price))  # type: ignore[arg-type]
    result: dict[str, Any] = {
        level: {
            key: [*(round(float(q), 4) for q in np.quantile(prices, [0.1, 0.5, 0.9])), len(prices)]
            for key, prices in nodes.items()
        }
        for level, nodes in spreads.items()
    }
    ratios = [math.log(p.sale_price / p.market_price) for p in rows if p.market_price and p.sale_price]
    result["log_discount"] = float(np.median(ratios)) if ratios else 0.0
    return result


def _sale_price(product: Product) -> float:
    """The sale price of a row kept for having one: every caller's rows passed `if p.sale_price`."""
    assert product.sale_price is not None, product
    return product.sale_price


def _texts(inputs: list[PriceInput]) -> list[tuple[str, str, str]]:
    return [price_text(row) for row in inputs]


def product_ids(products: list[Product]) -> np.ndarray:
    """Each row's product as a number (`split_key`: a generated copy is its source's product)."""
    return np.unique([split_key(p) for p in products], return_inverse=True)[1].astype(np.int64).reshape(-1)


def listing_weights(product: np.ndarray) -> np.ndarray:
    """1 / the rows listing each row's product (`product_ids`): a product's rows weigh 1 in all."""
    return 1.0 / np.bincount(product)[product] if len(product) else np.ones(0)


@dataclass(frozen=True)
class _Rows:
    """Priced rows and what every step reads of them, worked out once: the price inputs
    (without a list price), the hashed text, the log sale price, each row's product
    (`product_ids`) and weight (`listing_weights`; a product's listings never straddle a fold
    or the split, so a part keeps the whole's weights)."""

    products: list[Product]
    inputs: list[PriceInput]
    counts: Any  # csr_matrix, rows × hashed features
    log_price: np.ndarray
    product: np.ndarray
    weight: np.ndarray

    @classmethod
    def of(cls, products: list[Product]) -> "_Rows":
        inputs = [price_input(p, False) for p in products]
        log_price = np.log([_sale_price(p) for p in products])
        product = product_ids(products)
        return cls(products, inputs, counts_of(_texts(inputs)), log_price, product, listing_weights(product))

    def __len__(self) -> int:
        return len(self.products)

    def take(self, at: np.ndarray) -> "_Rows":
        return _Rows(
            [self.products[i] for i in at],
            [self.inputs[i] for i in at],
            self.counts[at],
            self.log_price[at],
            self.product[at],
            self.weight[at],
        )

    def first_rows(self) -> np.ndarray:
        """Where each product's first listing is, in row order (`first_listings`)."""
        return np.sort(np.unique(self.product, return_index=True)[1])

    def first(self) -> "_Rows":
        """Each product's first listing."""
        return self.take(self.first_rows())

    def plus(self, other: "_Rows") -> "_Rows":
        """Both sets; they list no product in common (the split is by product)."""
        offset = int(self.product.max()) + 1 if len(self) else 0
        return _Rows(
            self.products + other.products,
            self.inputs + other.inputs,
            stack_rows([self.counts, other.counts], self.counts.shape[1]),
            np.concatenate([self.log_price, other.log_price]),
            np.concatenate([self.product, other.product + offset]),
            np.concatenate([self.weight, other.weight]),
        )


def _ridge(rows: _Rows, alpha: float) -> tuple[np.ndarray, Any, float]:
    idf = fit_idf(rows.counts)
    target = rows.log_price
    mean = float(np.average(target, weights=rows.weight))
    model = Ridge(alpha=alpha, solver="sparse_cg").fit(
        weighted(rows.counts, idf), target - mean, sample_weight=rows.weight
    )
    return idf, model.coef_.astype(np.float32), float(mean + model.intercept_)


def _ridge_predict(rows: _Rows, idf: np.ndarray, coef: np.ndarray, bias: float) -> np.ndarray:
    return weighted(rows.counts, idf) @ coef + bias


def _neighbour_index(first: _Rows, idf: np.ndarray) -> NeighbourIndex:
    """The neighbours: each product's first listing (`_Rows.first`)."""
    inputs = first.inputs
    return NeighbourIndex(
        WordNeighbours.build(weighted(first.counts, idf, words_only=True), COMMON_WORDS),
        first.log_price,
        np.array([pack_log_quantity(r) for r in inputs]),
        np.array([r.pack_unit for r in inputs], dtype=object),
        np.array([group_keys(r)["brand"] for r in inputs], dtype=object),
        np.array([group_keys(r)["type"] for r in inputs], dtype=object),
    )


def _neighbour_features(rows: _Rows, index: NeighbourIndex, idf: np.ndarray, leave_own_product_out: bool) -> np.ndarray:
    """KNN_FEATURES of `rows`, SEARCH_ROWS at a time (each row's are its own). With
    `leave_own_product_out` the index is `_neighbour_index(rows.first())`, and no row sees its own
    product, nor the source it was copied from (`split_key`): a new product has neither."""
    group = rows.product if leave_own_product_out else None
    index_group = group[rows.first_rows()] if group is not None else None
    pages = [np.empty((0, len(KNN_FEATURES)))]
    starts = range(0, len(rows), SEARCH_ROWS)
    for start in tqdm(starts, desc="neighbours", leave=False, mininterval=10, disable=len(starts) <= 1):
        page = slice(start, start + SEARCH_ROWS)
        queries = weighted(rows.counts[page], idf, words_only=True)
        nearest = index.nearest(queries, index_group, group[page]) if group is not None else index.nearest(queries)
        pages.append(neighbour_features(rows.inputs[page], *nearest, index))
    return np.vstack(pages)


def _features(
    rows: _Rows, ridge: np.ndarray, tables: dict[str, Any], with_list: bool, neighbours: np.ndarray
) -> np.ndarray:
    discounts = tables["discounts"] if with_list else None
    base = np.array(
        [
            feature_row(
                replace(row, list_price=p.market_price) if with_list else row,
                float(r),
                tables["medians"],
                discounts,
            )
            for p, row, r in zip(rows.products, rows.inputs, ridge, strict=True)
        ]
    ).reshape(len(rows), -1)
    list_columns = len(LIST_FEATURES) if with_list else 0
    # booster column order: BASE_FEATURES, KNN_FEATURES, then LIST_FEATURES
    return np.hstack(
        [
            base[:, : len(BASE_FEATURES)],
            neighbours,
            base[:, len(BASE_FEATURES) :] if list_columns else np.empty((len(rows), 0)),
        ]
    )


def fold_of(product: Product) -> int:
    """Folds by product, and a generated row with its source (`split_key`), like the split."""
    return zlib.crc32(f"fold:{split_key(product)}".encode()) % FOLDS


@dataclass(frozen=True)
class _Stack:
    """What the boosters stand on, fitted on one set of rows: ridge, neighbour index, group
    tables, and each row's out-of-fold features per mode."""

    idf: np.ndarray
    coef: np.ndarray
    bias: float
    index: NeighbourIndex
    tables: dict[str, Any]
    features: dict[str, np.ndarray]


def _stack(rows: _Rows, ridge_alpha: float) -> _Stack:
    fold = np.array([fold_of(p) for p in rows.products])
    idf, coef, bias = _ridge(rows, ridge_alpha)
    first = rows.first()  # the index and the group tables
    index = _neighbour_index(first, idf)
    all_neighbours = _neighbour_features(rows, index, idf, leave_own_product_out=True)
    width = len(BASE_FEATURES) + len(KNN_FEATURES)
    oof = {
        mode: np.zeros((len(rows), width + len(LIST_FEATURES) * with_list))
        for mode, with_list in (("text", False), ("list", True))
    }
    for k in tqdm(range(FOLDS), desc="price folds"):
        inside_index = np.nonzero(fold != k)[0]
        outside_index = np.nonzero(fold == k)[0]
        if not len(outside_index) or not len(inside_index):
            continue
        inside, outside = rows.take(inside_index), rows.take(outside_index)
        fold_idf, fold_coef, fold_bias = _ridge(inside, ridge_alpha)
        ridge = _ridge_predict(outside, fold_idf, fold_coef, fold_bias)
        inside_first = inside.first()
        tables = _tables(inside_first.products, inside_first.inputs)
        del inside, inside_first  # its hashed text is as large as the fold
        neighbours = all_neighbours[outside_index]
        oof["text"][outside_index] = _features(outside, ridge, tables, False, neighbours)
        oof["list"][outside_index] = _features(outside, ridge, tables, True, neighbours)
    return _Stack(idf, coef, bias, index, _tables(first.products, first.inputs), oof)


def train(
    data: Path,
    out: Path,
    extras: list[Path] | None = None,
    ridge_alpha: float = 0.3,
    limit: int = 0,
    columns: CatalogueColumns = GUESSED,
    include_test: bool = False,
) -> dict[str, Any]:
    """Fit on train with early stopping and the range's widening measured on validation, then
    fit the same number of trees again on train + validation: the served model knows 18% more
    products, its neighbours above all. The test split is used only when `include_test`, as
    part of train. `columns` name the price the model learns (`price`), the vendor's list price
    (`list_price`) and the rest (`catalogist_training.catalogue`); the release predicts in the
    catalogue's currency."""
    started = time.time()
    out = Path(out) / "release"  # the release; a trainer's --out may hold more beside it
    extras = list(extras or [])
    found = training_rows(data, extras, columns, include_test)
    write_catalogue_report(out.parent, found)
    train_rows = [p for p in found.train if p.sale_price]
    validation = [p for p in found.validation if p.sale_price]
    if limit:
        train_rows, validation = train_rows[:limit], validation[: max(limit // 4, 50)]
    train_set, validation_set = _Rows.of(train_rows), _Rows.of(validation)
    # early stopping, the range's widening and the figures: each validation product once
    checked = validation_set.first()
    first = _stack(train_set, ridge_alpha)
    target, val_target = train_set.log_price, checked.log_price
    val_ridge = _ridge_predict(checked, first.idf, first.coef, first.bias)
    val_neighbours = _neighbour_features(checked, first.index, first.idf, leave_own_product_out=False)
    scales, validation_metrics, rounds = {}, {}, {}
    for mode, with_list in (("text", False), ("list", True)):
        val_features = _features(checked, val_ridge, first.tables, with_list, val_neighbours)
        predictions: dict[str, np.ndarray] = {}
        for quantile in QUANTILES:
            booster = _boost(
                first.features[mode],
                target,
                train_set.weight,
                _names(mode),
                quantile,
                _P50_IS_MEDIAN[mode],
                (val_features, val_target),
            )
            rounds[f"{mode}_{quantile}"] = booster.best_iteration
            # a dense matrix without pred_contrib: predict returns an ndarray, never a sparse one
            predictions[quantile] = cast(np.ndarray, booster.predict(val_features))
        scales[mode] = _interval_scale(predictions, val_target)
        validation_metrics[mode] = price_metrics(val_target, predictions["p50"])

    final_rows = train_rows + validation
    del first  # the first stack's index and features are not served
    final_set = train_set.plus(validation_set)
    del train_set, validation_set, checked
    final = _stack(final_set, ridge_alpha)
    final_target = final_set.log_price
    out.mkdir(parents=True, exist_ok=True)
    for mode in MODES:
        for quantile in QUANTILES:
            booster = _boost(
                final.features[mode],
                final_target,
                final_set.weight,
                _names(mode),
                quantile,
                _P50_IS_MEDIAN[mode],
                rounds=rounds[f"{mode}_{quantile}"],
            )
            (out / f"{mode}_{quantile}.txt.xz").write_bytes(lzma.compress(booster.model_to_string().encode()))
    save_neighbours(out / "neighbours.npz", final.index)
    final_first = final_set.first()
    coef = final.coef
    # dict[str, Any]: numpy's stub would match a **dict of arrays against `allow_pickle: bool` too
    idf_arrays: dict[str, Any] = pack_idf(final.idf)
    np.savez_compressed(
        out / "ridge.npz",
        **idf_arrays,
        data=coef[coef != 0],
        indices=np.zeros(int((coef != 0).sum()), np.int32),
        indptr=_column_indptr(coef),
        shape=np.array([len(coef), 1]),
        bias=np.float32(final.bias),
    )
    tables = final.tables | {
        "currency": found.currency,
        "interval_scale": scales,
        "features": {"text": _names("text"), "list": _names("list")},
        "category_prices": category_prices(final_first.products, final_first.inputs),
    }
    (out / "price_tables.json").write_text(json.dumps(tables, ensure_ascii=False))
    config = {
        "kind": "price",
        "ridge_alpha": ridge_alpha,
        "learning_rate": LEARNING_RATE,
        "folds": FOLDS,
        "data": str(data),
        **({"columns": columns.to_json()} if columns.to_json() else {}),
        "extra": [str(path) for path in extras],
        "include_test_split": include_test,
        "train_rows": len(train_rows),
        "validation_rows": len(validation),
        "final_rows": len(final_rows),
        "final_products": len(final_first),
        "trees": rounds,
        "validation": validation_metrics,
        "interval_scale": scales,
        "seconds": round(time.time() - started, 1),
    }
    (out / "price.json").write_text(json.dumps(config, indent=2) + "\n")
    write_trained_on(out, final_rows)
    write_manifest(
        out,
        PRICE,
        metrics={"validation": validation_metrics},
        config=config,
    )
    return config


def _names(mode: str) -> list[str]:
    """Booster column order: BASE_FEATURES, KNN_FEATURES, then LIST_FEATURES with a list price."""
    return [*BASE_FEATURES, *KNN_FEATURES, *(LIST_FEATURES if mode == "list" else ())]


def _column_indptr(coef: np.ndarray) -> np.ndarray:
    """CSR index pointer of a features × 1 matrix holding the nonzero weights."""
    return np.concatenate([[0], np.cumsum(coef != 0)]).astype(np.int64)


def _boost(
    features: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray,
    names: list[str],
    quantile: str,
    p50_is_median: bool,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    rounds: int = 3000,
) -> lgb.Booster:
    """One quantile booster; with `validation`, stopped 50 trees after its best score there."""
    alpha = _ALPHAS[quantile] if quantile != "p50" or p50_is_median else None
    params = {
        "objective": "regression" if alpha is None else "quantile",
        "learning_rate": LEARNING_RATE,
        "num_leaves": 31,
        "min_data_in_leaf": 20,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.9,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "num_threads": 1,
        "verbose": -1,
        "seed": 7,
    }
    if alpha is not None:
        params["alpha"] = alpha
    train_set = lgb.Dataset(features, target, weight=weight, feature_name=names)
    if validation is None:
        return lgb.train(params, train_set, num_boost_round=max(rounds, 1))
    valid_set = lgb.Dataset(*validation, reference=train_set)
    return lgb.train(
        params,
        train_set,
        num_boost_round=rounds,
        valid_sets=[valid_set],
        callbacks=[lgb.early_stopping(50, verbose=False)],
    )


def _interval_scale(predictions: dict[str, np.ndarray], truth: np.ndarray) -> float:
    """Smallest widening of the P10–P90 range that covers 80% of validation prices."""
    mid = predictions["p50"]
    low = np.minimum(predictions["p10"], mid)
    high = np.maximum(predictions["p90"], mid)
    for scale in np.arange(0.5, 3.01, 0.02):
        covered = (truth >= mid - scale * (mid - low)) & (truth <= mid + scale * (high - mid))
        if covered.mean() >= 0.80:
            return float(round(scale, 2))
    return 3.0


def price_metrics(
    log_truth: np.ndarray,
    log_predicted: np.ndarray,
    log_low: np.ndarray | None = None,
    log_high: np.ndarray | None = None,
) -> dict[str, float | int]:
    """rmsle, median and within-20% relative error, and with a range its coverage and median
    width (high / low); {"rows": 0} for no rows, never NaN."""
    if not len(log_truth):
        return {"rows": 0}
    truth, predicted = np.exp(log_truth), np.exp(log_predicted)
    error = np.abs(predicted - truth) / truth
    result: dict[str, float | int] = {
        "rows": len(log_truth),
        "rmsle": float(np.sqrt(np.mean((np.log1p(predicted) - np.log1p(truth)) ** 2))),
        "mdape": float(np.median(error)),
        "within_20pct": float(np.mean(error <= 0.2)),
    }
    if log_low is not None and log_high is not None:
        result["interval_coverage"] = float(np.mean((log_truth >= log_low) & (log_truth <= log_high)))
        result["median_range_ratio"] = float(np.median(np.exp(log_high - log_low)))
    return result


def _suggestion_metrics(log_truth: np.ndarray, found: list[PriceSuggestion]) -> dict[str, float | int]:
    return price_metrics(
        log_truth,
        np.log([s.price for s in found]),
        np.log([s.low for s in found]),
        np.log([s.high for s in found]),
    )


def evaluate(model_dir: Path, data: Path, out: Path, columns: CatalogueColumns | None = None) -> dict[str, Any]:
    """Metrics and report of the release on the priced rows of `data` it did not learn, read
    with `columns` (by default those it was trained with); prices in the release's currency."""
    model_dir = ReleaseKind.release_in(model_dir)
    model = PriceModel.open(model_dir)
    config = json.loads((model_dir / "price.json").read_text())
    seen = trained_on(model_dir)
    catalogue = read_catalogue(data, columns_of(config) if columns is None else columns)
    if catalogue.currency != model.currency:
        raise BadFile(f"{data} is priced in {catalogue.currency}; the price release learnt {model.currency}")
    priced = [p for p in products_of(catalogue) if p.sale_price]
    rows = [p for p in priced if product_digest(p) not in seen]
    if not rows:
        if priced:
            raise NothingToScore.of(data, config)
        raise NothingToScore(f"no product of {data} has a sale price to score the release against")
    truth = np.log([_sale_price(p) for p in rows])
    metrics: dict[str, Any] = {"rows": len(rows), "currency": model.currency}
    suggestions = {}
    for mode, with_list in (("text", False), ("list_price", True)):
        usable = [p for p in rows if p.market_price] if with_list else rows
        found = model.suggest([price_input(p, with_list) for p in tqdm(usable, desc=mode)])
        suggestions[mode] = (usable, found)
        metrics[mode] = _suggestion_metrics(np.log([_sale_price(p) for p in usable]), found)
    training, reason = _training_rows_of(model_dir, config)
    if training:
        groups = {name_group(p) for p in training}
        unseen = np.array([name_group(p) not in groups for p in rows], bool)
        usable, found = suggestions["text"]
        metrics["text_unseen_name_groups"] = _suggestion_metrics(
            truth[unseen], [f for f, u in zip(found, unseen, strict=True) if u]
        )
        metrics["baselines"] = _baselines(training, rows)
    else:
        metrics["baselines_omitted"] = reason
    metrics["photo"] = photo_metrics(model, rows)
    # The headline figures are the mode without a list price (a new product's row, name only).
    headline = ("rmsle", "mdape", "within_20pct", "interval_coverage")
    metrics = {**{k: metrics["text"][k] for k in headline if k in metrics["text"]}, **metrics}
    metrics["model"] = config
    write_report(out, "Price model", metrics, _figures(suggestions))
    return metrics


def _training_rows_of(model_dir: Path, config: dict[str, Any]) -> tuple[list[Product], str | None]:
    from catalogist_training.textcat import training_rows_of

    rows, reason = training_rows_of(model_dir, config)
    return [p for p in rows if p.sale_price], reason


def photo_metrics(model: PriceModel, rows: list[Product]) -> dict[str, Any]:
    """The rough price of each row known only by its category path: on this shop's own tree
    (`category`), with the vendor's other list prices in that type (`category_vendor`, the
    brand's other rows here standing in for a vendor's price list), and through the words of
    the type alone (`category_text`, as a path of another tree is read)."""
    result: dict[str, Any] = {}
    truth = np.log([_sale_price(p) for p in rows])
    by_brand_type: dict[tuple[str, tuple[str, ...]], list[Product]] = {}
    for p in rows:
        by_brand_type.setdefault((p.brand.casefold(), p.category_path), []).append(p)
    for mode in ("category", "category_vendor", "category_text"):
        chosen, found = [], []
        for i, p in enumerate(rows):
            if mode == "category_text":
                suggestion = model.suggest_for_category((p.category_path[-1],))
            elif mode == "category_vendor":
                others = [  # the brand's other products: not this one in another listing
                    o.market_price
                    for o in by_brand_type[(p.brand.casefold(), p.category_path)]
                    if o.market_price and product_key(o) != product_key(p)
                ]
                suggestion = model.suggest_for_category(p.category_path, others) if others else None
            else:
                suggestion = model.suggest_for_category(p.category_path)
            if suggestion is not None and suggestion.mode == mode:
                chosen.append(i)
                found.append(suggestion)
        result[mode] = _suggestion_metrics(truth[chosen], found) | {"share_of_rows": len(chosen) / max(len(rows), 1)}
    return result


def _baselines(train_rows: list[Product], rows: list[Product]) -> dict[str, dict[str, float | int]]:
    """Median of type; median of brand × type (type when unseen); per-brand discount ratio."""
    tables = _tables(train_rows)
    medians, discounts = tables["medians"], tables["discounts"]
    overall = float(np.median(np.log([_sale_price(p) for p in train_rows])))
    truth = np.log([_sale_price(p) for p in rows])
    by_type, by_brand_type = [], []
    for p in rows:
        keys = group_keys(price_input(p, False))
        type_median = medians["type"].get(keys["type"], (overall, 0))[0]
        by_type.append(type_median)
        by_brand_type.append(medians["brand_type"].get(keys["brand_type"], (type_median, 0))[0])
    listed = [p for p in rows if p.market_price]
    overall_discount = float(np.median([v[0] for v in discounts["brand"].values()])) if discounts["brand"] else 0.0
    discount = [
        math.log(p.market_price)  # type: ignore[arg-type]
        + discounts["brand"].get(group_keys(price_input(p, False))["brand"], (overall_discount, 0))[0]
        for p in listed
    ]
    return {
        "median_of_type": price_metrics(truth, np.array(by_type)),
        "median_of_brand_type": price_metrics(truth, np.array(by_brand_type)),
        "list_price_brand_discount": price_metrics(np.log([_sale_price(p) for p in listed]), np.array(discount)),
    }


def _figures(suggestions: dict[str, Any]) -> dict[str, str]:
    figures = {}
    for mode, (rows, found) in suggestions.items():
        if not rows:
            continue
        truth = np.array([p.sale_price for p in rows])
        predicted = np.array([s.price for s in found])
        figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
        left.loglog(truth, predicted, ".", alpha=0.3, markersize=3)
        low, high = truth.min(), truth.max()
        left.plot([low, high], [low, high], "--", color="grey")
        left.set_xlabel("true sale price")
        left.set_ylabel("suggested price")
        right.hist(np.clip((predicted - truth) / truth, -1, 2), bins=60)
        right.set_xlabel("relative error (clipped to -100%..+200%)")
        figures[f"Suggested vs true price ({mode})"] = figure_png(figure)
    return figures
