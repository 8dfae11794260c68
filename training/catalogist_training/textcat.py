"""Train and evaluate the text categorizer (name + brand → a path of the store's tree, of any depth).

    catalogist train textcat --data products.csv --out models/textcat [--extra reviews.csv ...]
    catalogist evaluate textcat --model models/textcat --data products.csv --out reports/textcat
    catalogist train textcat --data export.tsv --columns columns.json --out models/textcat

--data is any catalogue the vendor-file readers take, its columns named or guessed
(catalogist_training.catalogue); the tree's levels are the store's.

Training (the experts and how they are combined: catalogist.models.textcat): the train and
validation splits (vendor_data: split by product, so no product is on both sides) and any
extra rows are cut into folds by product. Each product (its first listing) is answered by
experts fitted on the other folds' products; those out-of-fold answers fit the weights of the
combination and, per level, the lowest threshold whose decisions stay ≥ 98% precise — on
products the experts never saw, as a vendor's new product is; each level on the rows the
deeper levels left undecided, the rows it will decide (`catalogist_training.calibrate`). The
released experts are then fitted on every row. The test split stays out, unless `--include-test-split`: a recipe is
chosen by its figures on the test split, and the release then shipped is the same recipe fitted
on every row as well (models/textcat), since the products a store will be sent are none of these.

Evaluation scores every row of --data whose product the model was not trained on (for
products.csv: the test split, or none after `--include-test-split`), and beside it a plain
baseline fitted in the same run on the model's own training rows: scikit-learn's
LogisticRegression (C=20) per level on TF-IDF word 1–2-grams and char_wb 2–5-grams of "name |
brand". Its auto-accept figure is in hindsight (the threshold that would have kept 98%
precision on these very rows); the model's thresholds come from training.
"""

import hashlib
import json
import logging
import time
import warnings
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from scipy import sparse
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import f1_score
from tqdm import tqdm

from catalogist.models.kinds import TEXTCAT, ReleaseKind
from catalogist.models.taxonomy import Taxonomy
from catalogist.models.text_features import N_FEATURES, fit_idf, pack_idf, product_keys
from catalogist.models.textcat import (
    FEATURE_VERSION,
    FITTED,
    Combination,
    ExpertAnswers,
    LevelWeights,
    NameNeighbours,
    TextCategorizer,
    Twins,
    combine,
    expert_summary,
    level_answers,
    softmax,
)
from catalogist_training.calibrate import calibrate
from catalogist_training.catalogue import GUESSED, CatalogueColumns
from catalogist_training.release_manifest import write_manifest
from catalogist_training.row_pages import PAGE_ROWS, counts_of, weighted
from catalogist_training.vendor_data import (
    LEVELS,
    Product,
    TrainingRows,
    load_products,
    name_group,
    product_key,
    split_key,
    training_rows,
)
from catalogist_training.vendor_report import figure_png, plt, write_report

log = logging.getLogger(__name__)

FOLDS = 5
COMMON_WORDS = 300  # NameNeighbours drops words found in more products than this
EPOCHS = 10
LEARNING_RATE = 0.1
L2 = 1e-6
BATCH = 256
# At catalogue scale (issue #25): limits that 16,033 rows never reach.
ROW_VISITS = 1_000_000  # a regression sees at most this many rows (EPOCHS passes over the products at most)
CALIBRATION_ROWS = 50_000  # products whose out-of-fold answers fit the combination and the thresholds
ANSWER_ROWS = 2_000  # rows answered at once: the vote's similarities grow with the rows indexed


# -- the regression -----------------------------------------------------------------------------


def fit_softmax(
    features: sparse.csr_matrix,
    labels: np.ndarray,
    classes: int,
    visits: int | None = None,
    seed: int = 0,
) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Multinomial logistic regression by mini-batch Adam, a weight only where a feature met a
    class in training (`support`). `visits`: rows seen in all, in passes of a fresh random
    order (default EPOCHS passes). Returns (features × classes weights, bias).

    Adam with a cosine-decaying rate reaches in 10 passes what L-BFGS needs ~200 full passes
    for; restricting the weights to the support makes the file 60× smaller than dense weights
    at the same validation accuracy (docs/experiments.md)."""
    features = sparse.csr_matrix(features, dtype=np.float32)
    n = features.shape[0]
    onehot = sparse.csr_matrix((np.ones(n, np.float32), (np.arange(n), labels)), shape=(n, classes))
    support = _support(features, onehot)
    theta = np.zeros(support.nnz, np.float32)
    first, second = np.zeros_like(theta), np.zeros_like(theta)
    bias = np.zeros(classes, np.float64)
    bias_first, bias_second = np.zeros_like(bias), np.zeros_like(bias)
    beta1, beta2, epsilon = 0.9, 0.999, 1e-8
    rng = np.random.default_rng(seed)
    visits = EPOCHS * n if visits is None else visits
    passes = [min(n, visits - start) for start in range(0, visits, n)]  # rows seen in each pass
    steps = sum(-(-count // BATCH) for count in passes)
    step = 0
    progress = tqdm(total=steps, desc=f"regression over {classes} classes", leave=False, mininterval=10)
    for seen_in_pass in passes:
        order = rng.permutation(n)[:seen_in_pass]
        for start in range(0, len(order), BATCH):
            progress.update()
            rows = order[start : start + BATCH]
            batch = features[rows]
            columns, local = np.unique(batch.indices, return_inverse=True)
            batch = sparse.csr_matrix((batch.data, local, batch.indptr), shape=(len(rows), len(columns)))
            lengths = support.indptr[columns + 1] - support.indptr[columns]
            entries = np.repeat(support.indptr[columns] - np.cumsum(lengths) + lengths, lengths) + np.arange(
                lengths.sum()
            )
            entry_class = support.indices[entries]
            weights = sparse.csr_matrix(
                (theta[entries], entry_class, np.concatenate([[0], np.cumsum(lengths)])),
                shape=(len(columns), classes),
            )
            probabilities = softmax((batch @ weights).toarray() + bias)
            gradient = probabilities.copy()
            gradient[np.arange(len(rows)), labels[rows]] -= 1.0
            gradient /= len(rows)
            by_column = np.asarray(batch.T @ gradient)
            entry_gradient = by_column[np.repeat(np.arange(len(columns)), lengths), entry_class] + L2 * theta[entries]
            rate = LEARNING_RATE * 0.5 * (1 + np.cos(np.pi * step / steps))
            step += 1
            correction1, correction2 = 1 - beta1**step, 1 - beta2**step
            m = beta1 * first[entries] + (1 - beta1) * entry_gradient
            v = beta2 * second[entries] + (1 - beta2) * entry_gradient**2
            first[entries], second[entries] = m, v
            theta[entries] -= rate * (m / correction1) / (np.sqrt(v / correction2) + epsilon)
            bias_gradient = gradient.sum(axis=0)
            bias_first[:] = beta1 * bias_first + (1 - beta1) * bias_gradient
            bias_second[:] = beta2 * bias_second + (1 - beta2) * bias_gradient**2
            bias -= rate * (bias_first / correction1) / (np.sqrt(bias_second / correction2) + epsilon)
    progress.close()
    weights = sparse.csr_matrix((theta, support.indices, support.indptr), shape=support.shape)
    return weights, bias


def _support(features: sparse.csr_matrix, onehot: sparse.csr_matrix, page: int = 5 * PAGE_ROWS) -> sparse.csr_matrix:
    """Features × classes, nonzero where a feature met a class: summed over pages of rows, as
    the pattern of one page is the size of its features (1 GB over a million rows, twice)."""
    support = None
    for start in range(0, features.shape[0], page):
        chunk = features[start : start + page]
        met = ((chunk != 0).astype(np.float32).T @ onehot[start : start + page]).tocsr()
        support = met if support is None else support + met
    assert support is not None, "no rows to fit"
    support.sort_indices()
    return support


def visits_for(products: int) -> int:
    """Rows a regression sees: EPOCHS passes' worth of the products, not of the rows (a product
    listed seventy times is one product: ten passes over its listings would be seven hundred
    over it), and ROW_VISITS at most: a million products are seen once each, not ten times,
    which would take hours."""
    return min(EPOCHS * products, ROW_VISITS)


# -- the experts --------------------------------------------------------------------------------


def fit_experts(
    taxonomy: Taxonomy,
    rows: list[Product],
    combination: Combination | None = None,
    counts: sparse.csr_matrix | None = None,
) -> TextCategorizer:
    """Features, one regression per level and the name neighbours, fitted on `rows` (`counts`:
    their term counts, when the caller has them already). The neighbours are each product's
    first listing (`first_listings`): a product listed 70 times would otherwise fill a row's
    20 nearest with itself, and the vote would be one product's, not twenty's."""
    counts = counts_of([p.text for p in rows]) if counts is None else counts
    idf = fit_idf(counts)
    seen = np.flatnonzero(np.bincount(counts.indices, minlength=N_FEATURES))  # fit on the buckets seen only
    features = weighted(counts, idf, seen)
    leaf = np.array([taxonomy.leaf_index(p.category_path) for p in rows])
    first = first_listings(rows)
    levels = []
    names = taxonomy.levels
    for depth, level in enumerate(names):
        to_node = taxonomy.leaf_to_node(level)
        weights, bias = fit_softmax(
            features, to_node[leaf], len(taxonomy.nodes(level)), visits=visits_for(len(first)), seed=depth
        )
        weights = weights.tocoo()
        full = sparse.csr_matrix(
            (weights.data, (seen[weights.row], weights.col)), shape=(N_FEATURES, weights.shape[1]), dtype=np.float32
        )
        levels.append(LevelWeights(full, bias))
    del features  # the largest array: gone before the neighbours' vectors are made
    neighbours = NameNeighbours.build(weighted(counts[first], idf, words_only=True), leaf[first], COMMON_WORDS)
    combination = combination or Combination.initial(len(names))
    return TextCategorizer(taxonomy, idf, tuple(levels), neighbours, combination)


def fold_of(product: Product, folds: int) -> int:
    """Folds by product, like the split: a product's listings, and a generated row's source
    and its other copies (`split_key`), answer for each other nowhere."""
    return zlib.crc32(f"fold:{split_key(product)}".encode()) % folds


def first_listings(rows: list[Product]) -> np.ndarray:
    """Index of each product's first row (`split_key`: a generated copy is its source's row).
    A catalogue lists a product once per vendor, and a generated one lists each real product
    with dozens of perturbed copies after it; the regressions' passes, the vote and the
    calibration count a product once, by the listing that comes first (in a generated
    catalogue, the real one)."""
    seen: set[str] = set()
    first = []
    for index, product in enumerate(rows):
        key = split_key(product)
        if key not in seen:
            seen.add(key)
            first.append(index)
    return np.array(first, dtype=np.int64)


def calibration_rows(fold: np.ndarray, folds: int) -> np.ndarray:
    """The products whose out-of-fold answers are kept, given each one's fold: all of them up
    to CALIBRATION_ROWS; above, a seeded sample of that many from the fewest folds that hold
    them (at a million products, fold 0 alone). 50,000 answers fit a dozen weights and three
    thresholds as well as a million's would, whose answers would be 10 GB; and every fold
    without a sampled product is a model of 80% of the rows that need not be fitted."""
    if len(fold) <= CALIBRATION_ROWS:
        return np.arange(len(fold))
    needed = int(np.searchsorted(np.cumsum(np.bincount(fold, minlength=folds)), CALIBRATION_ROWS)) + 1
    candidates = np.nonzero(fold < needed)[0]
    return np.sort(np.random.default_rng(0).choice(candidates, CALIBRATION_ROWS, replace=False))


def out_of_fold(taxonomy: Taxonomy, rows: list[Product], folds: int, asked: np.ndarray | None = None) -> ExpertAnswers:
    """The experts' answers for `rows[asked]` (default: every row), each from experts fitted
    on the folds without it; a fold none of them is in is not fitted. The rows are hashed
    once; each fold's experts take their rows'."""
    asked = np.arange(len(rows)) if asked is None else asked
    fold = np.array([fold_of(p, folds) for p in rows])
    counts = counts_of([p.text for p in rows])
    regressions = [np.zeros((len(asked), len(taxonomy.nodes(level)))) for level in taxonomy.levels]
    votes = np.zeros((len(asked), len(taxonomy.leaves)))
    for k in tqdm(range(folds), desc="textcat folds"):
        inside = np.nonzero(fold != k)[0]
        outside = np.nonzero(fold[asked] == k)[0]  # places in `asked`
        if not len(outside) and len(asked) < len(rows):
            continue
        model = fit_experts(taxonomy, [rows[i] for i in inside], counts=counts[inside])
        answers = answers_in_pages(model, [rows[i].text for i in asked[outside]])
        for level_answers_, fold_answers in zip(regressions, answers.regressions, strict=True):
            level_answers_[outside] = fold_answers
        votes[outside] = answers.votes
    return ExpertAnswers(regressions, votes)


def answers_in_pages(model: TextCategorizer, texts: list[tuple[str, str, str]]) -> ExpertAnswers:
    """`model.answers(texts)`, ANSWER_ROWS at a time; each row's answers are its own."""
    pages = [model.answers(texts[start : start + ANSWER_ROWS]) for start in range(0, len(texts), ANSWER_ROWS)]
    if not pages:
        return model.answers(texts)
    return ExpertAnswers(
        [np.vstack([page.regressions[depth] for page in pages]) for depth in range(len(model.taxonomy.levels))],
        np.vstack([page.votes for page in pages]),
    )


def fit_combination(taxonomy: Taxonomy, answers: ExpertAnswers, leaf: np.ndarray) -> Combination:
    """The weights with the lowest out-of-fold log-loss: each level's, root first, then the
    leaves'."""
    rows = np.arange(len(leaf))

    def loss(probabilities: np.ndarray, truth: np.ndarray) -> float:
        return float(-np.mean(np.log(np.maximum(probabilities[rows, truth], 1e-12))))

    def log_loss(logs: np.ndarray, truth: np.ndarray) -> float:
        return float(-np.mean(np.maximum(logs[rows, truth], np.log(1e-12))))

    def fitted(combination: Combination, depth: int | None, score: Callable[[Combination], float]) -> Combination:
        """`combination` with the weights of the level at `depth` (None: the leaves') at their
        best for `score`."""

        def weighed(weights: Iterable[float]) -> Combination:
            if depth is None:
                return replace(combination, leaf=tuple(weights))
            levels = list(combination.levels)
            levels[depth] = tuple(weights)
            return replace(combination, levels=tuple(levels))

        start = np.array(combination.leaf if depth is None else combination.levels[depth])
        found = minimize(
            lambda weights: score(weighed(float(w) for w in weights)),
            start,
            method="L-BFGS-B",
            bounds=[(0.0, 5.0)] * len(start),
        )
        return weighed(round(float(w), 4) for w in found.x)

    combination = Combination.initial(len(taxonomy.levels))
    for depth, level in enumerate(taxonomy.levels):
        truth = taxonomy.leaf_to_node(level)[leaf]

        def level_loss(trial: Combination, depth: int = depth, truth: np.ndarray = truth) -> float:
            return log_loss(level_answers(taxonomy, answers, trial, FITTED)[depth], truth)

        combination = fitted(combination, depth, level_loss)
    return fitted(combination, None, lambda trial: loss(combine(taxonomy, answers, trial, FITTED), leaf))


def fit_twins(taxonomy: Taxonomy, rows: list[Product], reviewed: list[Product]) -> tuple[Twins, float]:
    """Each product's label in training: the majority of its listings, at the weight that a
    listing's label agrees with another listing of the same product in the catalogue; a
    reviewed product's label (the last review) at weight 1."""
    by_product: dict[str, Counter] = {}
    for p in rows:
        by_product.setdefault(product_key(p), Counter())[p.category_path] += 1
    pairs = sum(n * (n - 1) for labels in by_product.values() for n in [sum(labels.values())])
    agreeing = sum(c * (c - 1) for labels in by_product.values() for c in labels.values())
    agreement = float(np.clip(agreeing / pairs if pairs else 0.9, 0.5, 0.99))
    label = {key: labels.most_common(1)[0][0] for key, labels in by_product.items()}
    weight = dict.fromkeys(label, agreement)
    for p in reviewed:
        label[product_key(p)], weight[product_key(p)] = p.category_path, 1.0
    representative = {product_key(p): p for p in rows + reviewed}
    texts = [representative[key].text for key in label]
    keys = np.concatenate(
        [np.empty(0, np.uint64)]
        + [product_keys(texts[start : start + PAGE_ROWS]) for start in range(0, len(texts), PAGE_ROWS)]
    )
    order = np.argsort(keys)
    leaf = np.array([taxonomy.leaf_index(path) for path in label.values()])
    return Twins(keys[order], leaf[order], np.array(list(weight.values()))[order]), agreement


# -- training ------------------------------------------------------------------------------------


def train(
    data: Path,
    out: Path,
    extras: list[Path] | None = None,
    target_precision: float = 0.98,
    limit: int = 0,
    folds: int = FOLDS,
    columns: CatalogueColumns = GUESSED,
    include_test: bool = False,
) -> dict[str, Any]:
    """`columns`: which columns of `data` hold what (`catalogist_training.catalogue`); what
    reading it found is written beside the release (`catalogue.json`). `include_test`: learn
    from the test split too, for the release shipped once the recipe was chosen without it
    (`vendor_data.training_rows`)."""
    started = time.time()
    out = Path(out) / "release"  # the release; a trainer's --out may hold more beside it
    extras = list(extras or [])
    found = training_rows(data, extras, columns, include_test)
    write_catalogue_report(out.parent, found)
    rows = found.all  # the test split only when `include_test`
    if limit:  # a smoke run: the first rows, and every extra row still
        kept = set(rows[:limit])
        rows = rows[:limit] + [p for p in found.extra if p not in kept]
    taxonomy = Taxonomy.from_paths([p.category_path for p in rows], found.levels)
    # calibrated on each product's first listing, answered by experts fitted on the other
    # folds' first listings: a generated copy borrows words and brands of other products
    # (scale_rows), so experts fitted on copies have seen the held-out fold's words
    products = [rows[i] for i in first_listings(rows)]
    asked = calibration_rows(np.array([fold_of(p, folds) for p in products]), folds)
    leaf = np.array([taxonomy.leaf_index(products[i].category_path) for i in asked])

    answers = out_of_fold(taxonomy, products, folds, asked)
    combination = fit_combination(taxonomy, answers, leaf)
    probabilities = combine(taxonomy, answers, combination)
    # the photo classifier's rule (point estimate): deepest level first, each on the rows the
    # deeper ones left undecided, a group of equal confidences never split
    taxonomy = calibrate(taxonomy, probabilities, leaf, target_precision)
    # thresholds fitted on these: optimistic
    out_of_fold_metrics = metrics_of(taxonomy, [products[i] for i in asked], probabilities)
    del answers, probabilities

    fitted = fit_experts(taxonomy, rows, combination)
    twins, agreement = fit_twins(taxonomy, rows, found.extra)
    model = TextCategorizer(taxonomy, fitted.idf, fitted.levels, fitted.neighbours, combination, twins)

    out.mkdir(parents=True, exist_ok=True)
    taxonomy.save(out / "taxonomy.json")
    # dict[str, Any]: numpy's stub would match a **dict of arrays against `allow_pickle: bool` too
    idf_arrays: dict[str, Any] = pack_idf(model.idf)
    model_arrays: dict[str, Any] = model.save_arrays()
    np.savez_compressed(out / "textcat.npz", **idf_arrays, **model_arrays)
    config = {
        "kind": "textcat",
        "feature_version": FEATURE_VERSION,
        "vote_power": model.neighbours.power,
        "n_features": N_FEATURES,
        "combination": combination.to_json(taxonomy.levels),
        "thresholds": dict(zip(taxonomy.levels, taxonomy.thresholds, strict=True)),
        "target_precision": target_precision,
        "twin_agreement": agreement,
        "experts": expert_summary(model),
        "data": str(data),
        **({"columns": columns.to_json()} if columns.to_json() else {}),
        "extra": [str(path) for path in extras],
        "include_test_split": include_test,
        "folds": folds,
        "row_visits": visits_for(len(products)),
        "calibration_rows": len(asked),
        "train_rows": len(rows),
        "extra_rows": len(found.extra),
        "out_of_fold": {
            k: out_of_fold_metrics[k] for k in ("accuracy_by_level", "auto_accept_rate", "auto_accept_precision")
        },
        "seconds": round(time.time() - started, 1),
    }
    (out / "textcat.json").write_text(json.dumps(config, indent=2) + "\n")
    write_trained_on(out, rows)
    write_manifest(out, TEXTCAT, metrics={"out_of_fold": config["out_of_fold"]}, config=config)
    return config


def product_digest(product: Product) -> str:
    return hashlib.sha256(product_key(product).encode()).hexdigest()[:16]


def write_trained_on(out: Path, rows: list[Product]) -> None:
    """The products a release learnt from, as digests of `product_key` (not the names): what
    evaluation keeps out, and what tells it the training file it finds is the one used."""
    (out / "trained_on.json").write_text(json.dumps(sorted({product_digest(p) for p in rows})) + "\n")


def trained_on(model_dir: Path) -> set[str]:
    return set(json.loads((model_dir / "trained_on.json").read_text()))


def write_catalogue_report(folder: Path, found: TrainingRows) -> None:
    """What reading the training files found, rows left out and why, beside the release; and
    in the log, so a trainer sees it."""
    folder.mkdir(parents=True, exist_ok=True)
    reports = [report.to_json() for report in found.reports]
    (folder / "catalogue.json").write_text(json.dumps(reports, indent=2, ensure_ascii=False) + "\n")
    for report in found.reports:
        left_out = sum(report.rejected.values())
        log.log(
            logging.WARNING if left_out else logging.INFO,
            "%s: %d rows read, %d kept, %d left out%s (examples in catalogue.json)",
            report.source,
            report.rows_read,
            report.rows_kept,
            left_out,
            "".join(f"; {n} × {reason}" for reason, n in report.rejected.most_common()),
        )


def columns_of(config: dict[str, Any]) -> CatalogueColumns:
    """The columns a release read its training data with."""
    return CatalogueColumns.from_json(config.get("columns", {}))


def training_rows_of(model_dir: Path, config: dict[str, Any]) -> tuple[list[Product], str | None]:
    """The release's training rows, read again from the files its config names, or why not."""
    data, extras = Path(config.get("data", "")), [Path(p) for p in config.get("extra", [])]
    missing = [str(p) for p in [data, *extras] if not p.is_file()]
    if missing:
        return [], f"the training data ({', '.join(missing)}) is not on this machine"
    rows = training_rows(data, extras, columns_of(config), bool(config.get("include_test_split"))).all
    if {product_digest(p) for p in rows} != trained_on(model_dir):
        return [], f"{data} is not the file the model was trained on (its products differ)"
    return rows, None


# -- evaluation ----------------------------------------------------------------------------------


class NothingToScore(ValueError):
    """Nothing in the file can be scored: every product in it is one the release learnt (`of`),
    or, for the price model, none has a sale price to compare with."""

    @classmethod
    def of(cls, data: Path, config: dict[str, Any]) -> "NothingToScore":
        built = " (it was trained with --include-test-split)" if config.get("include_test_split") else ""
        return cls(f"every product of {data} is one the release learnt from{built}: nothing to score")


def evaluate(
    model_dir: Path, data: Path, out: Path, with_baseline: bool = True, columns: CatalogueColumns | None = None
) -> dict[str, Any]:
    """Metrics and report of the release in `model_dir` on the rows of `data` it did not learn
    (read with `columns`, by default those the release was trained with); `with_baseline=False`
    skips the baseline, which on a million training rows takes hours."""
    model_dir = ReleaseKind.release_in(model_dir)
    model = TextCategorizer.open(model_dir)
    config = json.loads((model_dir / "textcat.json").read_text())
    seen = trained_on(model_dir)
    all_rows = load_products(data, columns_of(config) if columns is None else columns)
    rows = [p for p in all_rows if product_digest(p) not in seen]
    if all_rows and not rows:
        raise NothingToScore.of(data, config)
    probabilities = np.vstack(
        [np.empty((0, len(model.taxonomy.leaves)))]
        + [
            model.leaf_probabilities([p.text for p in rows[i : i + 400]])
            for i in tqdm(range(0, len(rows), 400), desc="scoring")
        ]
    )
    metrics: dict[str, Any] = metrics_of(model.taxonomy, rows, probabilities)
    metrics["rows_of_a_type_unknown_to_the_model"] = sum(p.category_path not in model.taxonomy.leaves for p in rows)
    training, reason = training_rows_of(model_dir, config)
    if training:
        groups = {name_group(p) for p in training}
        unseen = np.array([name_group(p) not in groups for p in rows], bool)
        metrics["unseen_name_groups"] = metrics_of(
            model.taxonomy, [p for p, u in zip(rows, unseen, strict=True) if u], probabilities[unseen]
        )
    levels = model.taxonomy.levels
    baseline = baseline_metrics(training, rows, levels) if with_baseline and training and rows else None
    if baseline is not None:
        metrics["baseline"] = baseline
        metrics["model_minus_baseline"] = {
            level: round(metrics["accuracy_by_level"][level] - baseline["accuracy_by_level"][level], 4)
            for level in levels
        }
    else:
        metrics["baseline_omitted"] = (
            "not asked for (--no-baseline)" if not with_baseline else reason or "no rows to score"
        )
    metrics["model"] = config
    write_report(out, "Text categorizer", metrics, _figures(model.taxonomy, rows, probabilities))
    return metrics


def metrics_of(taxonomy: Taxonomy, rows: list[Product], probabilities: np.ndarray) -> dict[str, Any]:
    if not rows:
        return {"rows": 0}
    result: dict[str, Any] = {"rows": len(rows), "accuracy_by_level": {}, "macro_f1_by_level": {}}
    for depth, level in enumerate(taxonomy.levels, start=1):
        nodes = taxonomy.nodes(level)
        predicted = [nodes[i] for i in taxonomy.level_probabilities(probabilities, level).argmax(1)]
        truth = [p.category_path[:depth] for p in rows]
        result["accuracy_by_level"][level] = float(np.mean([a == b for a, b in zip(predicted, truth, strict=True)]))
        result["macro_f1_by_level"][level] = float(
            f1_score(["/".join(t) for t in truth], ["/".join(t) for t in predicted], average="macro", zero_division=0)
        )
    found = taxonomy.decide_many(probabilities)
    leaves = set(taxonomy.leaves)
    leaf = [d.category_path in leaves for d in found]  # a leaf at whatever depth it sits
    right = [d.category_path == p.category_path for d, p in zip(found, rows, strict=True)]
    accepted = [r for r, is_leaf in zip(right, leaf, strict=True) if is_leaf]
    result["auto_accept_rate"] = float(np.mean(leaf))
    result["auto_accept_precision"] = float(np.mean(accepted)) if accepted else None
    result["needs_review_rate"] = float(np.mean([d.needs_review for d in found]))
    result["decided_level_share"] = {
        level: float(np.mean([d.decided_level == level for d in found])) for level in taxonomy.levels
    }
    best = [taxonomy.leaves[i] for i in probabilities.argmax(1)]
    result["hindsight_auto_accept_at_98"] = hindsight_share(
        probabilities.max(1), np.array([b == p.category_path for b, p in zip(best, rows, strict=True)])
    )
    return result


def hindsight_share(confidence: np.ndarray, correct: np.ndarray, target: float = 0.98) -> float:
    """The largest share of rows, most confident first, whose decisions are `target` precise:
    what a threshold chosen on these very rows would auto-accept."""
    order = np.argsort(-confidence, kind="stable")
    precision = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    ok = np.nonzero(precision >= target)[0]
    return float((ok[-1] + 1) / len(order)) if len(ok) else 0.0


# -- the baseline --------------------------------------------------------------------------------

BASELINE_C = 20.0
BASELINE_TOL = 1e-4  # scikit-learn's default: converged when the gradient's largest entry is below it
LBFGS_MAX_ITER = 2_000
SAGA_MAX_PASSES = 300
# lbfgs (scikit-learn's default) keeps its last 10 steps and gradients and more copies of the
# weights in float64: the evaluation with BigBasket's type level (536 types × 110,894 n-grams,
# 59.4M weights) fitted by lbfgs peaked at 17.4 GB, ~290 bytes a weight.
LBFGS_BYTES_PER_WEIGHT = 300


def baseline_solver(weights: int, available: int | None = None) -> str:
    """lbfgs when its memory fits in 80% of what the machine has free now, else saga (a few
    copies of the weights, but many more passes to converge on the same objective)."""
    available = psutil.virtual_memory().available if available is None else available
    return "lbfgs" if weights * LBFGS_BYTES_PER_WEIGHT <= 0.8 * available else "saga"


def baseline_metrics(training: list[Product], rows: list[Product], levels: tuple[str, ...] = LEVELS) -> dict[str, Any]:
    """scikit-learn's LogisticRegression (C=20) per level on TF-IDF word 1–2-grams + char_wb
    2–5-grams of "name | brand", fitted on `training`, scored on `rows`. At a level deeper
    than a leaf, the leaf is its own class, as it is the taxonomy's own node there."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_union

    def text(products: list[Product]) -> list[str]:
        return [f"{p.name} | {p.brand}" for p in products]

    vectorizer = make_union(
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2)), TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5))
    )
    features = vectorizer.fit_transform(text(training))
    scored = vectorizer.transform(text(rows))
    result: dict[str, Any] = {"rows": len(rows), "accuracy_by_level": {}, "macro_f1_by_level": {}, "solver": {}}
    for depth, level in enumerate(levels, start=1):
        labels = ["/".join(p.category_path[:depth]) for p in training]
        truth = np.array(["/".join(p.category_path[:depth]) for p in rows])
        classes = len(set(labels))
        if classes < 2:
            predicted, confidence = np.array([labels[0]] * len(rows)), np.ones(len(rows))
            result["solver"][level] = "one class"
        else:
            solver = baseline_solver(features.shape[1] * classes)
            limit = LBFGS_MAX_ITER if solver == "lbfgs" else SAGA_MAX_PASSES
            regression = LogisticRegression(C=BASELINE_C, solver=solver, tol=BASELINE_TOL, max_iter=limit)
            started = time.time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                regression.fit(features, labels)
            probabilities = regression.predict_proba(scored)
            predicted, confidence = regression.classes_[probabilities.argmax(1)], probabilities.max(1)
            iterations = int(regression.n_iter_.max())
            result["solver"][level] = {
                "solver": solver,
                "iterations": iterations,
                "max_iter": limit,
                "tol": BASELINE_TOL,
                "converged": iterations < limit,
                "seconds": round(time.time() - started, 1),
            }
        result["accuracy_by_level"][level] = float(np.mean(predicted == truth))
        result["macro_f1_by_level"][level] = float(f1_score(truth, predicted, average="macro", zero_division=0))
        if depth == len(levels):
            result["hindsight_auto_accept_at_98"] = hindsight_share(confidence, predicted == truth)
    return result


def _figures(taxonomy: Taxonomy, rows: list[Product], probabilities: np.ndarray) -> dict[str, str]:
    if not rows:
        return {}
    figures = {}
    top = taxonomy.levels[0]
    nodes = taxonomy.nodes(top)
    truth = np.array([nodes.index(p.category_path[:1]) if p.category_path[:1] in nodes else -1 for p in rows])
    predicted = taxonomy.level_probabilities(probabilities, top).argmax(1)
    matrix = np.zeros((len(nodes), len(nodes)))
    for t, p in zip(truth, predicted, strict=True):
        if t >= 0:
            matrix[t, p] += 1
    matrix = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    figure, axis = plt.subplots(figsize=(8, 7))
    axis.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    labels = [n[0][:22] for n in nodes]
    axis.set_xticks(range(len(nodes)), labels, rotation=90)
    axis.set_yticks(range(len(nodes)), labels)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    figures[f"{top.replace('_', ' ').capitalize()} confusion matrix (row-normalized)"] = figure_png(figure)

    leaf_truth = [p.category_path for p in rows]
    confidence = probabilities.max(1)
    correct = np.array([taxonomy.leaves[i] == t for i, t in zip(probabilities.argmax(1), leaf_truth, strict=True)])
    bins = np.linspace(0, 1, 11)
    which = np.clip(np.digitize(confidence, bins) - 1, 0, 9)
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    centers = [(bins[i] + bins[i + 1]) / 2 for i in range(10) if (which == i).any()]
    accuracy = [correct[which == i].mean() for i in range(10) if (which == i).any()]
    left.plot([0, 1], [0, 1], "--", color="grey")
    left.plot(centers, accuracy, "o-")
    left.set_xlabel("leaf confidence")
    left.set_ylabel("accuracy")
    left.set_title("Reliability (leaf)")
    order = np.argsort(-confidence)
    coverage = np.arange(1, len(order) + 1) / len(order)
    right.plot(coverage, np.cumsum(correct[order]) / np.arange(1, len(order) + 1))
    right.axhline(0.98, color="red", linestyle="--")
    right.set_xlabel("share of rows auto-accepted at leaf level")
    right.set_ylabel("precision")
    right.set_title("Coverage vs precision (leaf)")
    figures["Reliability and coverage"] = figure_png(figure)
    return figures
