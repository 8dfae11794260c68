"""Finding any product, decided or not, by SKU, name or vendor, or by the file its rows came from;
and a product's page: its card (decide or correct it there, with the same keys as the queue) and
its history, automatic and human, with undo for the decision that stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import flask

from catalogist.documents import products
from catalogist.documents.products import Product
from catalogist.documents.values import CategoryDecision, HumanPrice
from catalogist.intake import ledger
from catalogist.panel import queries, review, words
from catalogist.panel.cards import card_of, load
from catalogist.panel.context import context, document_id, whole_number
from catalogist.panel.errors import NotFound, PanelError

blueprint = flask.Blueprint("catalogue", __name__)
FILE_PRODUCTS_SHOWN = 100
ACTIONS = {
    "accept": "filed it as the card showed",
    "alternative": "chose one of the alternatives",
    "search": "chose a category from the search",
    "price": "set the price",
}


@dataclass(frozen=True)
class Found:
    """One product of a search, and where it stands."""

    product: Product

    @property
    def state(self) -> str:
        product = self.product
        if product.human_category is not None:
            return f"decided by {product.human_category.reviewed_by}"
        if product.review_rank:
            skipped = f", skipped by {product.skipped_by}" if product.skipped_by else ""
            return f"to review ({words.reason(product)}{skipped})"
        return "decided automatically" if product.category else "not categorized"


@dataclass(frozen=True)
class Event:
    """One line of a product's history."""

    when: datetime | None
    who: str
    what: str
    outcome: str = ""
    review_id: str = ""
    batch_id: str = ""
    current: bool = False


@blueprint.get("/products")
def search() -> Any:
    panel = context()
    typed = flask.request.args.get("q", "").strip()[:200]
    upload_id = flask.request.args.get("file", "").strip()
    title, found = "", []
    if upload_id:
        entry = panel.documents.get(ledger.COLLECTION, document_id(upload_id, "file"))
        if entry is None:
            raise NotFound(f"no upload {upload_id}")
        title = f"Products whose row comes from {entry['name']}"
        found = queries.products_of_file(panel.documents, entry["name"], FILE_PRODUCTS_SHOWN)
    elif typed:
        found = queries.search(panel.documents, typed)
        title = f"Products matching “{typed}”"
    return flask.render_template(
        "products.html",
        typed=typed,
        title=title,
        found=[Found(product) for product in found],
        upload_id=upload_id,
        capped=len(found) >= (FILE_PRODUCTS_SHOWN if upload_id else queries.SEARCH_LIMIT),
    )


@blueprint.get("/products/<path:product_id>")
def product(product_id: str) -> Any:
    return _product_page(load(product_id))


@blueprint.post("/products/<path:product_id>/undo")
def undo(product_id: str) -> Any:
    """Undo the decision that stands, from the product's page (a form: no script needed)."""
    panel = context()
    current = load(product_id)
    review_id = document_id(flask.request.form.get("review_id"), "review_id")
    revision = whole_number(flask.request.form.get("revision", ""), "revision", 0, 2**62)
    try:
        review.undo(panel.documents, review_id, flask.g.reviewer, panel.clock(), panel.settings.audit_rate, revision)
    except PanelError as refused:
        return _product_page(load(product_id), refused=refused.reason), refused.status
    return flask.redirect(flask.url_for("catalogue.product", product_id=current.id, undone=review_id))


def _product_page(item: Product, refused: str = "") -> str:
    panel = context()
    records = queries.history(panel.documents, item.id)
    return flask.render_template(
        "product.html",
        card=card_of(item),
        events=history(item, records),
        refused=refused,
        undone=flask.request.args.get("undone", ""),
    )


def history(item: Product, records: list[dict[str, Any]]) -> list[Event]:
    """What the models decided (as the product holds it now), then every human decision, refusal
    and undo, in order."""
    events: list[Event] = []
    for source, decision in (("image", item.image_category), ("text", item.text_category)):
        if decision is not None:
            events.append(_automatic(item, source, decision))
    standing = {field.review_id for field in (item.human_category, item.human_price) if field is not None}
    for record in records:
        events.append(_human(record, record.get("id", "") in standing))
        if record.get("undone"):
            events.append(Event(record.get("undone_at"), str(record.get("undone_by", "")), "undid that decision"))
    return events


def _automatic(item: Product, source: str, decision: CategoryDecision) -> Event:
    when = max((p.classified_at for p in item.photos.values() if p.classified_at), default=None)
    model = f"the {words.SOURCES[source]} model (release {decision.model_version or 'unknown'})"
    level = words.level_name(decision.decided_level)
    outcome = f"{decision.path_text}: " + (
        f"not sure enough below the {level}, so a person decides"
        if decision.needs_review
        else f"decided down to the {level}"
    )
    return Event(when if source == "image" else None, model, "categorized it automatically", outcome)


def _human(record: dict[str, Any], standing: bool) -> Event:
    human = record.get("human") or {}
    category = CategoryDecision.from_fields(human.get(products.HUMAN_CATEGORY))
    price = HumanPrice.from_fields(human.get(products.HUMAN_PRICE))
    said = category.path_text if category else (f"{price.price.amount:,.2f} {price.price.currency}" if price else "")
    if record.get("refused"):
        outcome = f"refused: {record.get('refusal', '')}"
    elif record.get("undone"):
        outcome = f"{said}; undone"
    elif standing:
        outcome = f"{said}; stands"
    else:
        outcome = f"{said}; replaced since"
    if (record.get("undo_refused") or {}).get("reason"):
        outcome += f" (an undo was refused: {record['undo_refused']['reason']})"
    return Event(
        record.get("reviewed_at"),
        str(record.get("reviewer", "")),
        ACTIONS.get(str(record.get("action")), str(record.get("action")))
        + (" in a batch" if record.get("batch_id") else ""),
        outcome,
        str(record.get("id", "")),
        str(record.get("batch_id", "")),
        standing and not record.get("undone") and not record.get("refused"),
    )
