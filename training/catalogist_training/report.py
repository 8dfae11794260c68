"""One self-contained HTML page of an evaluation: plots and photos embedded as base64 PNG.

Written by `evaluate_classifier.py` beside `metrics.json`: headline figures, the confusion
matrix, a reliability diagram, the robustness chart, and the worst categories with example
photos of what went wrong.
"""

import base64
import html
import io
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

WORST_CLASSES = 8
EXAMPLES_PER_CLASS = 4
THUMBNAIL = 128


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def _thumbnail(image: Image.Image) -> str:
    small = image.copy()
    small.thumbnail((THUMBNAIL, THUMBNAIL))
    buffer = io.BytesIO()
    small.save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def confusion_figure(truth, predicted, names):
    n = len(names)
    matrix = np.zeros((n, n))
    np.add.at(matrix, (truth, predicted), 1)
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    side = max(6, n * 0.16)
    figure, axes = plt.subplots(figsize=(side, side))
    axes.imshow(share, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(n), names, rotation=90, fontsize=6)
    axes.set_yticks(range(n), names, fontsize=6)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title("confusion (share of each true category's photos)")
    return figure


def reliability_figure(confidence, correct, bins=10):
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    centres, accuracy, counts = [], [], []
    for b in range(bins):
        members = which == b
        if members.any():
            centres.append(confidence[members].mean())
            accuracy.append(correct[members].mean())
            counts.append(int(members.sum()))
    figure, axes = plt.subplots(figsize=(5, 5))
    axes.plot([0, 1], [0, 1], "--", color="grey", label="perfectly calibrated")
    axes.plot(centres, accuracy, "o-", label="model")
    for x, y, c in zip(centres, accuracy, counts, strict=True):
        axes.annotate(str(c), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    axes.set_xlabel("confidence of the top fine category")
    axes.set_ylabel("accuracy")
    axes.set_title("reliability (labels: photos per bin)")
    axes.legend()
    return figure


def robustness_figure(clean: float, robustness: dict):
    names = ["clean", *robustness]
    values = [clean, *robustness.values()]
    figure, axes = plt.subplots(figsize=(8, 4))
    bars = axes.bar(names, values, color=["#4c72b0"] + ["#dd8452"] * len(robustness))
    axes.bar_label(bars, [f"{v:.0%}" for v in values], fontsize=8)
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("fine accuracy")
    axes.set_title("accuracy under shop-photo corruptions")
    axes.tick_params(axis="x", rotation=30)
    return figure


def _worst(probabilities, truth) -> list[tuple[int, float, int, list[int]]]:
    """(leaf, accuracy, photos, indices of up to EXAMPLES_PER_CLASS mistakes) of the worst leaves."""
    predicted = probabilities.argmax(axis=1)
    leaves_seen = sorted(set(truth.tolist()))
    scored = sorted(leaves_seen, key=lambda leaf: (predicted[truth == leaf] == leaf).mean())
    worst = []
    for leaf in scored[:WORST_CLASSES]:
        members = np.nonzero(truth == leaf)[0]
        wrong = [int(i) for i in members if predicted[i] != leaf][:EXAMPLES_PER_CLASS]
        worst.append((leaf, float((predicted[members] == leaf).mean()), len(members), wrong))
    return worst


def example_indices(probabilities, truth) -> list[int]:
    """The photos the report shows: a second pass over the split decodes only these."""
    return [i for *_, wrong in _worst(probabilities, truth) for i in wrong]


def _worst_classes_html(taxonomy, images, probabilities, truth) -> str:
    predicted = probabilities.argmax(axis=1)
    rows = []
    for leaf, accuracy, members, wrong in _worst(probabilities, truth):
        cells = "".join(
            f'<figure><img src="data:image/png;base64,{_thumbnail(images[i])}">'
            f"<figcaption>as {html.escape('/'.join(taxonomy.leaves[predicted[i]][1:]))} "
            f"({probabilities[i].max():.0%})</figcaption></figure>"
            for i in wrong
            if i in images
        )
        rows.append(
            f"<tr><td>{html.escape('/'.join(taxonomy.leaves[leaf]))}</td>"
            f"<td>{accuracy:.0%} of {members}</td><td>{cells}</td></tr>"
        )
    return "<table><tr><th>category</th><th>right</th><th>mistakes</th></tr>" + "".join(rows) + "</table>"


def write_report(path: Path, metrics, taxonomy, images: Mapping[int, Image.Image], probabilities, truth) -> None:
    """`images`: the decoded photos of `example_indices`, by index."""
    fine = taxonomy.levels[-1]
    predicted = probabilities.argmax(axis=1)
    names = ["/".join(leaf[1:]) for leaf in taxonomy.leaves]
    figures = {
        "Confusion matrix": confusion_figure(truth, predicted, names),
        "Reliability": reliability_figure(probabilities.max(axis=1), predicted == truth),
    }
    if "robustness" in metrics:
        figures["Robustness"] = robustness_figure(metrics["fine_accuracy"], metrics["robustness"])
    headline = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{v:.4f}</td></tr>"
        if isinstance(v, float)
        else f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in metrics.items()
        if k != "robustness"
    )
    plots = "".join(
        f'<h2>{title}</h2><img src="data:image/png;base64,{_png(figure)}">' for title, figure in figures.items()
    )
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Classifier evaluation: {html.escape(str(metrics["split"]))}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1400px}} td,th{{padding:2px 8px;
border-bottom:1px solid #ddd;text-align:left;vertical-align:top}} figure{{display:inline-block;
margin:4px;width:{THUMBNAIL}px;font-size:11px}} img{{max-width:100%}}</style></head><body>
<h1>Classifier evaluation on “{html.escape(str(metrics["split"]))}” ({metrics["photos"]} photos)</h1>
<p>Model {html.escape(str(metrics.get("model_version")))}, run through LiteRT with the functions'
own preprocessing. Level decided at: {html.escape(str(metrics.get("decided_levels")))};
fine level “{html.escape(fine)}”.</p>
<table>{headline}</table>
{plots}
<h2>Worst categories</h2>
{_worst_classes_html(taxonomy, images, probabilities, truth)}
</body></html>
"""
    path.write_text(page)
