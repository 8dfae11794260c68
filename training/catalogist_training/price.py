"""Train and evaluate the price model (retail price of a new product, with a P10–P90 range).

    catalogist train price --data products.csv --out models/price
    catalogist evaluate price --model models/price --data products.csv --out reports/price

Stacking, all in log price: a ridge on the hashed text and the group medians are computed
out-of-fold on the train split (5 folds) so LightGBM learns how far to trust them; the
nearest-neighbour features of a training row leave the row itself out. Boosters for P50 (the
median: more rows within 20% than a squared-error fit, same rmsle on validation), P10 and P90
stop early on the validation split, which also fits how much to widen the range to cover 80%.
Then everything is fitted again on train + validation with the tree counts found, and that is
the model served. Two sets of boosters: `text` (no price in the row) and `list` (the vendor's
list price — BigBasket's market_price — is known). The test split is never used here.
"""

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.linear_model import Ridge
from tqdm import tqdm

from catalogist.models.price_features import (
    BASE_FEATURES,
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
from catalogist.models.price_model import QUANTILES, PriceModel, save_neighbours
from catalogist.models.text_features import fit_idf, pack_idf, term_counts, tfidf
from catalogist.vendorfiles.packsize import parse_pack_size
from catalogist_training.release_manifest import write_manifest
from catalogist_training.textcat import calibrated_on
from catalogist_training.vendor_data import CURRENCY, Product, load_products, name_group, split
from catalogist_training.vendor_report import figure_png, plt, write_report

FOLDS = 5
_ALPHAS = {"p50": 0.5, "p10": 0.1, "p90": 0.9}
# the P50 objective per mode, chosen on validation (docs/experiments.md)
_P50_IS_MEDIAN = {"text": True, "list": False}


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


def _tables(rows: list[Product]) -> dict[str, Any]:
    values: dict[str, dict[str, list[float]]] = {g: {} for g in GROUPS}
    discounts: dict[str, dict[str, list[float]]] = {"brand": {}, "type": {}}
    for p in rows:
        keys = group_keys(price_input(p, False))
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


def _texts(rows: list[Product]) -> list[tuple[str, str, str]]:
    return [price_text(price_input(p, False)) for p in rows]


def _ridge(rows: list[Product], alpha: float) -> tuple[np.ndarray, Any, float]:
    counts = term_counts(_texts(rows))
    idf = fit_idf(counts)
    target = np.log([p.sale_price for p in rows])
    model = Ridge(alpha=alpha, solver="sparse_cg").fit(tfidf(counts, idf), target - target.mean())
    return idf, model.coef_.astype(np.float32), float(target.mean() + model.intercept_)


def _ridge_predict(rows: list[Product], idf: np.ndarray, coef: np.ndarray, bias: float) -> np.ndarray:
    return tfidf(term_counts(_texts(rows)), idf) @ coef + bias


def _neighbour_index(rows: list[Product], idf: np.ndarray) -> NeighbourIndex:
    inputs = [price_input(p, False) for p in rows]
    return NeighbourIndex(
        tfidf(term_counts(_texts(rows)), idf),
        np.log([p.sale_price for p in rows]),
        np.array([pack_log_quantity(r) for r in inputs]),
        np.array([r.pack_unit for r in inputs]),
        np.array([group_keys(r)["brand"] for r in inputs]),
        np.array([group_keys(r)["type"] for r in inputs]),
    )


def _neighbour_features(
    rows: list[Product], index: NeighbourIndex, idf: np.ndarray, leave_self_out: bool
) -> np.ndarray:
    queries = tfidf(term_counts(_texts(rows)), idf)
    exclude = np.arange(len(rows)) if leave_self_out else None
    return neighbour_features([price_input(p, False) for p in rows], *index.nearest(queries, exclude), index)


def _features(
    rows: list[Product], ridge: np.ndarray, tables: dict[str, Any], with_list: bool, neighbours: np.ndarray
) -> np.ndarray:
    discounts = tables["discounts"] if with_list else None
    base = np.array(
        [
            feature_row(price_input(p, with_list), float(r), tables["medians"], discounts)
            for p, r in zip(rows, ridge, strict=True)
        ]
    )
    list_columns = len(LIST_FEATURES) if with_list else 0
    # booster column order: BASE_FEATURES, KNN_FEATURES, then LIST_FEATURES
    return np.hstack(
        [
            base[:, : len(BASE_FEATURES)],
            neighbours,
            base[:, len(BASE_FEATURES) :] if list_columns else np.empty((len(rows), 0)),
        ]
    )


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


def _stack(rows: list[Product], ridge_alpha: float) -> _Stack:
    fold = np.arange(len(rows)) % FOLDS
    np.random.default_rng(7).shuffle(fold)
    idf, coef, bias = _ridge(rows, ridge_alpha)
    index = _neighbour_index(rows, idf)
    all_neighbours = _neighbour_features(rows, index, idf, leave_self_out=True)
    width = len(BASE_FEATURES) + len(KNN_FEATURES)
    oof = {
        mode: np.zeros((len(rows), width + len(LIST_FEATURES) * with_list))
        for mode, with_list in (("text", False), ("list", True))
    }
    for k in tqdm(range(FOLDS), desc="price folds"):
        inside = [p for p, f in zip(rows, fold, strict=True) if f != k]
        outside_index = np.nonzero(fold == k)[0]
        outside = [rows[i] for i in outside_index]
        fold_idf, fold_coef, fold_bias = _ridge(inside, ridge_alpha)
        ridge = _ridge_predict(outside, fold_idf, fold_coef, fold_bias)
        tables = _tables(inside)
        neighbours = all_neighbours[outside_index]
        oof["text"][outside_index] = _features(outside, ridge, tables, False, neighbours)
        oof["list"][outside_index] = _features(outside, ridge, tables, True, neighbours)
    return _Stack(idf, coef, bias, index, _tables(rows), oof)


def train(data: Path, out: Path, ridge_alpha: float = 0.3, limit: int = 0) -> dict[str, Any]:
    """Fit on train with early stopping and the range's widening measured on validation, then
    fit the same number of trees again on train + validation: the served model knows 18% more
    products, its neighbours above all. The test split is never used."""
    started = time.time()
    parts = split([p for p in load_products(data) if p.sale_price])
    train_rows, validation = parts["train"], parts["validation"]
    if limit:
        train_rows, validation = train_rows[:limit], validation[: max(limit // 4, 50)]
    first = _stack(train_rows, ridge_alpha)
    target = np.log([p.sale_price for p in train_rows])
    val_target = np.log([p.sale_price for p in validation])
    val_ridge = _ridge_predict(validation, first.idf, first.coef, first.bias)
    val_neighbours = _neighbour_features(validation, first.index, first.idf, leave_self_out=False)
    scales, validation_metrics, rounds = {}, {}, {}
    for mode, with_list in (("text", False), ("list", True)):
        val_features = _features(validation, val_ridge, first.tables, with_list, val_neighbours)
        predictions = {}
        for quantile in QUANTILES:
            booster = _boost(
                first.features[mode], target, _names(mode), quantile, _P50_IS_MEDIAN[mode], (val_features, val_target)
            )
            rounds[f"{mode}_{quantile}"] = booster.best_iteration
            predictions[quantile] = booster.predict(val_features)
        scales[mode] = _interval_scale(predictions, val_target)
        validation_metrics[mode] = price_metrics(val_target, predictions["p50"])

    final_rows = train_rows + validation
    final = _stack(final_rows, ridge_alpha)
    final_target = np.log([p.sale_price for p in final_rows])
    out.mkdir(parents=True, exist_ok=True)
    for mode in ("text", "list"):
        for quantile in QUANTILES:
            booster = _boost(
                final.features[mode],
                final_target,
                _names(mode),
                quantile,
                _P50_IS_MEDIAN[mode],
                rounds=rounds[f"{mode}_{quantile}"],
            )
            booster.save_model(str(out / f"{mode}_{quantile}.txt"))
    save_neighbours(out / "neighbours.npz", final.index)
    coef = final.coef
    np.savez_compressed(
        out / "ridge.npz",
        **pack_idf(final.idf),
        data=coef[coef != 0],
        indices=np.zeros(int((coef != 0).sum()), np.int32),
        indptr=_column_indptr(coef),
        shape=np.array([len(coef), 1]),
        bias=np.float32(final.bias),
    )
    tables = final.tables | {
        "currency": CURRENCY,
        "interval_scale": scales,
        "features": {"text": _names("text"), "list": _names("list")},
    }
    (out / "price_tables.json").write_text(json.dumps(tables, ensure_ascii=False))
    config = {
        "kind": "price",
        "ridge_alpha": ridge_alpha,
        "folds": FOLDS,
        "data": str(data),
        "train_rows": len(train_rows),
        "validation_rows": len(validation),
        "final_rows": len(final_rows),
        "trees": rounds,
        "validation": validation_metrics,
        "interval_scale": scales,
        "seconds": round(time.time() - started, 1),
    }
    (out / "price.json").write_text(json.dumps(config, indent=2) + "\n")
    (out / "trained_on.json").write_text(json.dumps(sorted(p.index for p in final_rows)))
    (out / "calibrated_on.json").write_text(json.dumps(sorted(p.index for p in validation)))
    boosters = [f"{mode}_{quantile}.txt" for mode in ("text", "list") for quantile in QUANTILES]
    write_manifest(
        out,
        "price",
        ["neighbours.npz", "ridge.npz", "price_tables.json", "price.json", *boosters],
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
    names: list[str],
    quantile: str,
    p50_is_median: bool,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    rounds: int = 3000,
) -> lgb.Booster:
    """One quantile booster; with `validation`, stopped 100 trees after its best score there."""
    alpha = _ALPHAS[quantile] if quantile != "p50" or p50_is_median else None
    params = {
        "objective": "regression" if alpha is None else "quantile",
        "learning_rate": 0.03,
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
    train_set = lgb.Dataset(features, target, feature_name=names)
    if validation is None:
        return lgb.train(params, train_set, num_boost_round=rounds)
    valid_set = lgb.Dataset(*validation, reference=train_set)
    return lgb.train(
        params,
        train_set,
        num_boost_round=rounds,
        valid_sets=[valid_set],
        callbacks=[lgb.early_stopping(100, verbose=False)],
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
) -> dict[str, float]:
    truth, predicted = np.exp(log_truth), np.exp(log_predicted)
    error = np.abs(predicted - truth) / truth
    result = {
        "rmsle": float(np.sqrt(np.mean((np.log1p(predicted) - np.log1p(truth)) ** 2))),
        "mdape": float(np.median(error)),
        "within_20pct": float(np.mean(error <= 0.2)),
    }
    if log_low is not None and log_high is not None:
        result["interval_coverage"] = float(np.mean((log_truth >= log_low) & (log_truth <= log_high)))
    return result


def evaluate(model_dir: Path, data: Path, out: Path) -> dict[str, Any]:
    model = PriceModel.open(model_dir)
    trained_on = set(json.loads((model_dir / "trained_on.json").read_text()))
    all_rows = [p for p in load_products(data) if p.sale_price]
    train_rows = [p for p in all_rows if p.index in trained_on]
    seen = trained_on | calibrated_on(model_dir)
    rows = [p for p in all_rows if p.index not in seen]
    truth = np.log([p.sale_price for p in rows])
    metrics: dict[str, Any] = {"rows": len(rows)}
    suggestions = {}
    for mode, with_list in (("text", False), ("list_price", True)):
        usable = [p for p in rows if p.market_price] if with_list else rows
        found = model.suggest([price_input(p, with_list) for p in tqdm(usable, desc=mode)])
        suggestions[mode] = (usable, found)
        log_truth = np.log([p.sale_price for p in usable])
        metrics[mode] = price_metrics(
            log_truth, np.log([s.price for s in found]), np.log([s.low for s in found]), np.log([s.high for s in found])
        )
    groups = {name_group(p) for p in train_rows}
    unseen = np.array([name_group(p) not in groups for p in rows])
    usable, found = suggestions["text"]
    metrics["text_unseen_name_groups"] = price_metrics(
        truth[unseen],
        np.log([s.price for s in found])[unseen],
        np.log([s.low for s in found])[unseen],
        np.log([s.high for s in found])[unseen],
    )
    metrics["text_unseen_name_groups"]["rows"] = int(unseen.sum())
    metrics["baselines"] = _baselines(train_rows, rows)
    # The headline figures are the mode without a list price (a new product's row, name only).
    metrics = {**{k: metrics["text"][k] for k in ("rmsle", "mdape", "within_20pct", "interval_coverage")}, **metrics}
    metrics["model"] = json.loads((model_dir / "price.json").read_text())
    write_report(out, "Price model", metrics, _figures(suggestions))
    return metrics


def _baselines(train_rows: list[Product], rows: list[Product]) -> dict[str, dict[str, float]]:
    """Median of type; median of brand × type (type when unseen); per-brand discount ratio."""
    tables = _tables(train_rows)
    medians, discounts = tables["medians"], tables["discounts"]
    overall = float(np.median(np.log([p.sale_price for p in train_rows])))
    truth = np.log([p.sale_price for p in rows])
    by_type, by_brand_type = [], []
    for p in rows:
        keys = group_keys(price_input(p, False))
        type_median = medians["type"].get(keys["type"], (overall, 0))[0]
        by_type.append(type_median)
        by_brand_type.append(medians["brand_type"].get(keys["brand_type"], (type_median, 0))[0])
    listed = [p for p in rows if p.market_price]
    overall_discount = float(np.median([v[0] for v in discounts["brand"].values()]))
    discount = [
        math.log(p.market_price)
        + discounts["brand"].get(  # type: ignore[arg-type]
            group_keys(price_input(p, False))["brand"], (overall_discount, 0)
        )[0]
        for p in listed
    ]
    return {
        "median_of_type": price_metrics(truth, np.array(by_type)),
        "median_of_brand_type": price_metrics(truth, np.array(by_brand_type)),
        "list_price_brand_discount": price_metrics(np.log([p.sale_price for p in listed]), np.array(discount)),
    }


def _figures(suggestions: dict[str, Any]) -> dict[str, str]:
    figures = {}
    for mode, (rows, found) in suggestions.items():
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
