"""Train and evaluate the text categorizer (name + brand → category › sub_category › type).

    catalogist train textcat --data products.csv --out models/textcat
    catalogist evaluate textcat --model models/textcat --data products.csv --out reports/textcat

Training: hashed TF-IDF (catalogist.models.text_features) → one linear SVM per level
(each level fitted directly on its own labels, C=1 chosen on validation); their scores are
chained into leaf probabilities (catalogist.models.textcat). Calibration is cross-fitted
over the train and validation splits: each row is scored by a model fitted on the other four
folds, and those out-of-fold scores fit the softmax temperature and, per level, the lowest
threshold whose decisions stay ≥ 98% precise; the released model is then fitted on all those
rows (about 18% more than the train split alone, and 6.7× the rows to calibrate on). The test
split is never touched here. Evaluation scores every row of --data the model was not trained
on (for products.csv: the test split).
"""

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from scipy import sparse
from sklearn.metrics import f1_score
from sklearn.svm import LinearSVC
from tqdm import tqdm

from catalogist.models.taxonomy import Taxonomy
from catalogist.models.text_features import (
    N_FEATURES,
    fit_idf,
    pack_idf,
    term_counts,
    tfidf,
)
from catalogist.models.textcat import (
    FEATURE_VERSION,
    LevelWeights,
    TextCategorizer,
    chain_probabilities,
    save_level_weights,
)
from catalogist_training.release_manifest import write_manifest
from catalogist_training.vendor_data import LEVELS, Product, load_products, name_group, split
from catalogist_training.vendor_report import figure_png, plt, write_report

FOLDS = 5


def train(
    data: Path,
    out: Path,
    c: float = 1.0,
    target_precision: float = 0.98,
    prune: float = 0.02,
    limit: int = 0,
    folds: int = FOLDS,
) -> dict[str, Any]:
    started = time.time()
    parts = split(load_products(data))
    rows = parts["train"] + parts["validation"]  # the test split is never touched here
    if limit:
        rows = rows[:limit]
    taxonomy = Taxonomy.from_paths([p.category_path for p in rows], LEVELS)
    truth = np.array([taxonomy.leaf_index(p.category_path) for p in rows])

    # Each row scored by a model fitted on the other folds: calibration data as large as the
    # training data, and the released model then learns from every row. The fits (folds, then
    # all rows) are independent single-threaded SVMs: one process per core.
    fold = np.arange(len(rows)) % folds
    np.random.default_rng(7).shuffle(fold)
    subsets = [[rows[i] for i in np.nonzero(fold != k)[0]] for k in range(folds)] + [rows]
    *fold_models, fitted = Parallel(n_jobs=-1)(
        delayed(_fit)(taxonomy, subset, c, prune) for subset in tqdm(subsets, desc="textcat fits")
    )
    scores = [np.zeros((len(rows), len(taxonomy.nodes(level)))) for level in LEVELS]
    for k, fold_model in enumerate(fold_models):
        outside = np.nonzero(fold == k)[0]
        for level_scores, fold_scores in zip(
            scores, fold_model.level_scores([rows[i].text for i in outside]), strict=True
        ):
            level_scores[outside] = fold_scores
    temperature = _fit_temperature(taxonomy, scores, truth)
    temperatures = (temperature,) * len(LEVELS)
    probabilities = chain_probabilities(taxonomy, scores, temperatures)
    thresholds = tuple(_threshold(taxonomy, level, probabilities, truth, target_precision) for level in LEVELS)
    taxonomy = taxonomy.with_thresholds(thresholds)
    out_of_fold = _metrics(taxonomy, rows, probabilities)  # thresholds fitted on these: optimistic
    model = TextCategorizer(taxonomy, fitted.idf, fitted.levels, temperatures)

    out.mkdir(parents=True, exist_ok=True)
    taxonomy.save(out / "taxonomy.json")
    np.savez_compressed(out / "textcat.npz", **pack_idf(model.idf), **save_level_weights(list(model.levels)))
    config = {
        "kind": "textcat",
        "feature_version": FEATURE_VERSION,
        "n_features": N_FEATURES,
        "temperatures": list(temperatures),
        "thresholds": dict(zip(LEVELS, thresholds, strict=True)),
        "target_precision": target_precision,
        "svm_c": c,
        "prune": prune,
        "data": str(data),
        "folds": folds,
        "train_rows": len(rows),
        "out_of_fold": {k: out_of_fold[k] for k in ("accuracy_by_level", "auto_accept_rate", "auto_accept_precision")},
        "seconds": round(time.time() - started, 1),
    }
    (out / "textcat.json").write_text(json.dumps(config, indent=2) + "\n")
    (out / "trained_on.json").write_text(json.dumps(sorted(p.index for p in rows)))
    write_manifest(
        out,
        "textcat",
        ["taxonomy.json", "textcat.npz", "textcat.json"],
        metrics={"out_of_fold": config["out_of_fold"]},
        config=config,
    )
    return config


def _fit(taxonomy: Taxonomy, rows: list[Product], c: float, prune: float) -> TextCategorizer:
    """Features and one linear SVM per level, fitted on `rows` (temperatures left at 1)."""
    counts = term_counts(p.text for p in rows)
    idf = fit_idf(counts)
    # fit on the buckets seen in training only: 1M hashed columns × 500 leaves would not fit
    columns = np.unique(counts.indices)
    features = tfidf(counts, idf)[:, columns]
    levels = tuple(_fit_level(taxonomy, level, features, columns, rows, c, prune) for level in LEVELS)
    return TextCategorizer(taxonomy, idf, levels, (1.0,) * len(LEVELS))


def _fit_level(
    taxonomy: Taxonomy,
    level: str,
    features: sparse.csr_matrix,
    columns: np.ndarray,
    rows: list[Product],
    c: float,
    prune: float,
) -> LevelWeights:
    depth = LEVELS.index(level) + 1
    nodes = taxonomy.nodes(level)
    labels = np.array([nodes.index(p.category_path[:depth]) for p in rows])
    bias = np.full(len(nodes), -1.0, np.float32)
    if len(set(labels)) == 1:
        bias[labels[0]] = 1.0
        return LevelWeights(sparse.csr_matrix((N_FEATURES, len(nodes)), dtype=np.float32), bias)
    svm = LinearSVC(C=c, random_state=0).fit(features, labels)
    coef = svm.coef_ if len(svm.classes_) > 2 else np.vstack([-svm.coef_[0], svm.coef_[0]])
    intercept = svm.intercept_ if len(svm.classes_) > 2 else np.array([-svm.intercept_[0], svm.intercept_[0]])
    coef = np.where(np.abs(coef) >= prune, coef, 0.0)  # |w| < 0.02: 1/3 of the file, no accuracy
    matrix = sparse.coo_matrix(coef.T.astype(np.float32))  # seen columns × classes present
    full = sparse.csr_matrix(
        (matrix.data, (columns[matrix.row], svm.classes_[matrix.col])), shape=(N_FEATURES, len(nodes)), dtype=np.float32
    )
    bias[svm.classes_] = intercept
    return LevelWeights(full, bias)


def _fit_temperature(taxonomy: Taxonomy, scores: list[np.ndarray], truth: np.ndarray) -> float:
    """The softmax sharpness (shared by the levels) with the lowest validation log-loss."""
    best, best_loss = 1.0, np.inf
    for temperature in np.geomspace(0.5, 50, 25):
        p = chain_probabilities(taxonomy, scores, (float(temperature),) * len(scores))
        p = p[np.arange(len(truth)), truth]
        loss = -np.log(np.clip(p, 1e-12, None)).mean()
        if loss < best_loss:
            best, best_loss = float(temperature), loss
    return best


def _threshold(
    taxonomy: Taxonomy, level: str, leaf_probabilities: np.ndarray, truth: np.ndarray, target: float
) -> float:
    """Lowest confidence at which the decisions kept at this level are `target` precise."""
    node_probabilities = taxonomy.level_probabilities(leaf_probabilities, level)
    mapping = taxonomy.leaf_to_node(level)
    confidence = node_probabilities.max(axis=1)
    correct = node_probabilities.argmax(axis=1) == mapping[truth]
    order = np.argsort(-confidence)
    precision = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    ok = np.nonzero(precision >= target)[0]
    if len(ok) == 0:
        return 1.0
    return float(confidence[order][ok[-1]])


def evaluate(model_dir: Path, data: Path, out: Path) -> dict[str, Any]:
    model = TextCategorizer.open(model_dir)
    trained_on = set(json.loads((model_dir / "trained_on.json").read_text()))
    seen = trained_on | calibrated_on(model_dir)
    all_rows = load_products(data)
    training_groups = {name_group(p) for p in all_rows if p.index in trained_on}
    rows = [p for p in all_rows if p.index not in seen]
    probabilities = np.vstack(
        [
            model.leaf_probabilities([p.text for p in rows[i : i + 2000]])
            for i in tqdm(range(0, len(rows), 2000), desc="scoring")
        ]
    )
    unseen = np.array([name_group(p) not in training_groups for p in rows])
    metrics = _metrics(model.taxonomy, rows, probabilities)
    metrics["unseen_name_groups"] = _metrics(
        model.taxonomy, [p for p, u in zip(rows, unseen, strict=True) if u], probabilities[unseen]
    )
    metrics["baseline_majority_class_accuracy"] = _majority(rows, all_rows, trained_on)
    metrics["exact_copies"] = _exact_copies(model.taxonomy, rows, all_rows, trained_on, probabilities)
    metrics["model"] = json.loads((model_dir / "textcat.json").read_text())
    write_report(out, "Text categorizer", metrics, _figures(model.taxonomy, rows, probabilities))
    return metrics


def calibrated_on(model_dir: Path) -> set[str]:
    """Rows that tuned the model (temperature, thresholds, early stopping): not held out."""
    path = model_dir / "calibrated_on.json"
    return set(json.loads(path.read_text())) if path.exists() else set()


def _metrics(taxonomy: Taxonomy, rows: list[Product], probabilities: np.ndarray) -> dict[str, Any]:
    if not rows:
        return {"rows": 0}
    result: dict[str, Any] = {"rows": len(rows), "accuracy_by_level": {}, "macro_f1_by_level": {}}
    for depth, level in enumerate(LEVELS, start=1):
        nodes = taxonomy.nodes(level)
        predicted = [nodes[i] for i in taxonomy.level_probabilities(probabilities, level).argmax(1)]
        truth = [p.category_path[:depth] for p in rows]
        result["accuracy_by_level"][level] = float(np.mean([a == b for a, b in zip(predicted, truth, strict=True)]))
        result["macro_f1_by_level"][level] = float(
            f1_score(["/".join(t) for t in truth], ["/".join(t) for t in predicted], average="macro", zero_division=0)
        )
    decisions = taxonomy.decide_many(probabilities)
    leaf = [d.decided_level == LEVELS[-1] for d in decisions]
    right = [d.category_path == p.category_path for d, p in zip(decisions, rows, strict=True)]
    accepted = [r for r, is_leaf in zip(right, leaf, strict=True) if is_leaf]
    result["auto_accept_rate"] = float(np.mean(leaf))
    result["auto_accept_precision"] = float(np.mean(accepted)) if accepted else 0.0
    result["needs_review_rate"] = float(np.mean([d.needs_review for d in decisions]))
    result["decided_level_share"] = {
        level: float(np.mean([d.decided_level == level for d in decisions])) for level in LEVELS
    }
    return result


def _exact_copies(
    taxonomy: Taxonomy,
    rows: list[Product],
    all_rows: list[Product],
    trained_on: set[str],
    probabilities: np.ndarray,
) -> dict[str, Any]:
    """The rows whose name and brand appear verbatim in training: how often the label training
    gave that very product is theirs too. An upper bound of sorts for any text model, since
    both rows read the same; below 1.0 it measures how the catalogue's own labels disagree."""

    def same_product(p: Product) -> tuple[str, str]:
        return (p.name.casefold(), p.brand.casefold())

    training: dict[tuple[str, str], Counter] = {}
    for p in all_rows:
        if p.index in trained_on:
            training.setdefault(same_product(p), Counter())[p.category_path] += 1
    copies = [i for i, p in enumerate(rows) if same_product(p) in training]
    result: dict[str, Any] = {"rows": len(copies), "share": len(copies) / max(len(rows), 1)}
    if not copies:
        return result
    looked_up = [training[same_product(rows[i])].most_common(1)[0][0] for i in copies]
    truth = [rows[i].category_path for i in copies]
    result["label_of_the_training_copy"] = {
        level: float(np.mean([a[:depth] == t[:depth] for a, t in zip(looked_up, truth, strict=True)]))
        for depth, level in enumerate(LEVELS, start=1)
    }
    result["model"] = _metrics(taxonomy, [rows[i] for i in copies], probabilities[copies])["accuracy_by_level"]
    return result


def _majority(rows: list[Product], all_rows: list[Product], trained_on: set[str]) -> dict[str, float]:
    result = {}
    for depth, level in enumerate(LEVELS, start=1):
        train_labels = [p.category_path[:depth] for p in all_rows if p.index in trained_on]
        if not train_labels or not rows:
            continue
        majority = max(set(train_labels), key=train_labels.count)
        result[level] = float(np.mean([p.category_path[:depth] == majority for p in rows]))
    return result


def _figures(taxonomy: Taxonomy, rows: list[Product], probabilities: np.ndarray) -> dict[str, str]:
    figures = {}
    nodes = taxonomy.nodes("category")
    truth = np.array([nodes.index(p.category_path[:1]) if p.category_path[:1] in nodes else -1 for p in rows])
    predicted = taxonomy.level_probabilities(probabilities, "category").argmax(1)
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
    figures["Category confusion matrix (row-normalized)"] = figure_png(figure)

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
