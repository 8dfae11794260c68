"""What the panel says, in the shop's words: one confidence line per card, the reason a card is
in the queue, where a suggested price came from, the measured precision as a sentence, and each
model's figures at release. Field names, level ids and statistics' names stay in the code."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from catalogist.documents.products import DISAGREE, Product, on_one_path
from catalogist.documents.values import CategoryDecision, Money, PriceSuggestion
from catalogist.models.bounds import lower_bound

KINDS = {"photo": "photo only", "row": "price-list row only", "both": "photo and row"}
SOURCES = {"image": "photo", "text": "price list", "human": "reviewer", "joined": "photo and price list together"}
TREE_NAMES = {"image": "photos", "text": "price lists"}
# Each tree's levels as a person names them (the ids are the taxonomies' own)
LEVELS = {
    "top": "top level",
    "coarse": "kind",
    "fine": "product",
    "category": "category",
    "sub_category": "sub-category",
    "type": "type",
}
PRICE_MODES = {
    "text": "from the product's name and details",
    "list_price": "from the vendor's price",
    "category": "from the photo's category alone (rough)",
    "category_text": "from the photo's category and the product's name (rough)",
    "category_vendor": "from the photo's category and the vendor's price (rough)",
}
SURE = 0.95  # how sure the overview's precision sentence is


def percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def target_percent(value: float) -> str:
    """A precision target as set, not rounded to whole points: 0.975 is "97.5%"."""
    return f"{value * 100:g}%"


def targets_sentence(targets: Mapping[str, float], default: float) -> str:
    """How often the releases in service were set to be right: "98% of the time", or each
    tree's where they differ ("99% of the time for photos and 98% for price lists")."""
    own = [(TREE_NAMES[tree], target) for tree, target in targets.items() if tree in TREE_NAMES]
    if len({target for _, target in own}) <= 1:
        return f"{target_percent(own[0][1] if own else default)} of the time"
    (first, first_target), *rest = own
    later = " and ".join(f"{target_percent(target)} for {name}" for name, target in rest)
    return f"{target_percent(first_target)} of the time for {first} and {later}"


def node_name(path_text: str) -> str:
    """The last part of a category path as words: "Fruit/Apple/Granny-Smith" -> "Granny Smith"."""
    return path_text.rsplit("/", 1)[-1].replace("-", " ").replace("_", " ")


def level_name(level: str) -> str:
    return LEVELS.get(level, level.replace("_", "-"))


def confidence_line(product: Product) -> str:
    """One line for the card: what the models think, and how sure they are of it."""
    decision = product.category
    if decision is None:
        return "No model has categorized this product yet."
    if decision.decided_level == "human":
        return f"Filed by {decision.reviewed_by}: {decision.path_text}."
    photo, row = product.image_category, product.text_category
    if photo is not None and row is not None and photo.store_path is not None:
        return joined_line(photo, row, decision)
    if photo is not None and row is not None and photo.store_unmapped:
        elsewhere = f" The photo's {node_name(photo.path_text)} has no place in the store's tree."
        return model_line(decision) + elsewhere
    return model_line(decision)


def joined_line(photo: CategoryDecision, row: CategoryDecision, decision: CategoryDecision) -> str:
    """A product filed from a photo and a row (`products.joined_category`): what each says."""
    placed = photo.store_path or ()
    photo_says = f"the photo {node_name(photo.path_text)} ({percent(photo.confidence.get(photo.decided_level, 0.0))})"
    row_says = f"the price list {node_name(row.path_text)}" + (" (not sure below it)" if row.needs_review else "")
    if not on_one_path(placed, row.path):
        return f"Photo and price list disagree: {photo_says}, which is {'/'.join(placed)} here; {row_says}."
    return f"Photo and price list agree on {node_name(decision.path_text)}: {photo_says}, {row_says}."


def model_line(decision: CategoryDecision) -> str:
    sure = decision.confidence.get(decision.decided_level)
    node = node_name(decision.path_text)
    if not decision.alternatives:
        return f"Model is {percent(sure or 0)} sure it is {node}."
    best = decision.alternatives[0]
    if best.path_text == decision.path_text or sure is None:
        return f"Model thinks {node_name(best.path_text)} ({percent(best.confidence)})."
    return (
        f"Model thinks {node_name(best.path_text)} ({percent(best.confidence)}); sure it is {node} ({percent(sure)})."
    )


def reason(product: Product) -> str:
    """Why the card is in the queue."""
    if product.audit:
        return "a check of an automatic decision"
    return code_words(product.review_code or "")


def code_words(code: str) -> str:
    """A queue reason code ("image to top") as words."""
    if code == "audit":
        return "checks of automatic decisions"
    if code == DISAGREE:
        return "photo and price list disagree"
    source, _, level = code.partition(" to ")
    if not level:
        return code
    return f"{SOURCES.get(source, source)}: not sure below the {level_name(level)}"


def price_source(price: PriceSuggestion) -> str:
    return PRICE_MODES.get(price.mode, "from the price model")


def price_flag(vendor: Money | None, suggested: PriceSuggestion | None) -> str:
    """ "above"/"below" when the vendor's price is outside the suggestion's P10–P90 (in the same
    currency), else ""."""
    if vendor is None or suggested is None or (vendor.currency and vendor.currency != suggested.currency):
        return ""
    if vendor.amount > suggested.high:
        return "above"
    if vendor.amount < suggested.low:
        return "below"
    return ""


def precision_sentence(source: str, level: str, right: int, checked: int) -> str:
    """ "Of 40 automatic decisions checked, 39 were right; we are 95% sure the true rate is at
    least 88%." The bound is the exact one-sided one, rounded down: never more than the counts
    allow."""
    bound = math.floor(100 * float(lower_bound(right, checked, SURE)))
    what = f"automatic decisions from the {SOURCES.get(source, source)} to the {level_name(level)}"
    return (
        f"Of {checked:,} {what} checked, {right:,} {'was' if right == 1 else 'were'} right; "
        f"we are {percent(SURE)} sure the true rate is at least {bound}%."
    )


def model_figures(kind: str, metrics: Mapping[str, Any], target: float | None = None) -> str:
    """A release's figures at release, as sentences."""
    if kind == "image-classifier":
        return _classifier(metrics, target)
    if kind == "textcat":
        return _textcat(metrics)
    if kind == "price":
        return _price(metrics)
    return _any(metrics)


def _classifier(metrics: Mapping[str, Any], target: float | None) -> str:
    said = []
    if "val_int8_fine_accuracy" in metrics:
        said.append(f"names the right product for {percent(metrics['val_int8_fine_accuracy'])} of validation photos")
    if "holdout_int8_fine_accuracy" in metrics:
        said.append(f"{percent(metrics['holdout_int8_fine_accuracy'])} of held-out training photos")
    sentences = [_sentence("It " + ", ".join(said)) if said else _sentence(_any(metrics))]
    if target:
        sentences.append(_sentence(f"What it decides alone is meant to be right {target_percent(target)} of the time"))
    return " ".join(sentences)


def _textcat(metrics: Mapping[str, Any]) -> str:
    folds = metrics.get("out_of_fold") or {}
    levels = folds.get("accuracy_by_level") or {}
    said = []
    if levels:
        right = ", ".join(f"the {level_name(level)} {percent(value)}" for level, value in levels.items())
        said.append(f"On products it did not train on it gets {right} right")
    if "auto_accept_rate" in folds and "auto_accept_precision" in folds:
        said.append(
            f"it files {percent(folds['auto_accept_rate'])} of rows alone, "
            f"and {percent(folds['auto_accept_precision'])} of those are right"
        )
    return _sentence("; ".join(said)) if said else _any(metrics)


def _price(metrics: Mapping[str, Any]) -> str:
    said = []
    for mode, words in (("text", "from the name alone"), ("list", "with the vendor's price")):
        figures = (metrics.get("validation") or {}).get(mode) or {}
        if "mdape" in figures and "within_20pct" in figures:
            said.append(
                f"{words}, half its prices are within {percent(figures['mdape'])} of the shop's "
                f"and {percent(figures['within_20pct'])} within 20%"
            )
    rows = ((metrics.get("validation") or {}).get("text") or {}).get("rows")
    if said and rows:
        said[-1] += f" ({rows:,} products it did not train on)"
    return _sentence("; ".join(said)) if said else _any(metrics)


def _any(metrics: Mapping[str, Any], prefix: str = "") -> str:
    """Figures of a shape this page does not know: each number, its name in words."""
    parts = []
    for name, value in metrics.items():
        words = (prefix + " " + name.replace("_", " ")).strip()
        if isinstance(value, Mapping):
            parts.append(_any(value, words))
        elif isinstance(value, float):
            parts.append(f"{words} {value:.3g}")
        elif isinstance(value, int) and not isinstance(value, bool):
            parts.append(f"{words} {value:,}")
    return "; ".join(part for part in parts if part) or "no figures were recorded with this release"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."
