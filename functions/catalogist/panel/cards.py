"""The review queue, one card at a time: the queue's pages, a card, a decision and its undo, the
category search, and a product's photos (pinned to the generation that was scored)."""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass
from typing import Any

import flask

from catalogist.documents import products
from catalogist.documents.products import Product
from catalogist.documents.values import CategoryDecision
from catalogist.imaging import decode_photo
from catalogist.panel import queries, review
from catalogist.panel.context import context, document_id, json_body, revision_of, whole_number
from catalogist.panel.errors import BadRequest, NotFound
from catalogist.panel.trust import LEVELS

blueprint = flask.Blueprint("cards", __name__)

PHOTO_SIDES = (160, 360, 720)  # thumbnail sizes served; anything else is rounded up to one
PHOTO_MAX_BYTES = 25 * 1024 * 1024
SEARCH_LIMIT = 20


@dataclass(frozen=True)
class CardOption:
    path: str
    confidence: float
    tree: str


@dataclass(frozen=True)
class Card:
    """What one card shows, from the product document."""

    product: Product
    alternatives: list[CardOption]
    decisions: list[tuple[str, CategoryDecision]]  # (where it came from, the decision)
    enter_files: str  # the words beside Enter: exactly the category Enter files, at its level

    @classmethod
    def of(cls, product: Product) -> Card:
        alternatives: list[CardOption] = []
        for decision, tree in ((product.image_category, "image"), (product.text_category, "text")):
            for option in decision.alternatives if decision else ():
                if len(alternatives) < 5 and option.path_text not in {a.path for a in alternatives}:
                    alternatives.append(CardOption(option.path_text, option.confidence, tree))
        decisions = [
            (label, decision)
            for label, decision in (("photo", product.image_category), ("price list", product.text_category))
            if decision
        ]
        return cls(product, alternatives, decisions, _enter_files(product))

    @property
    def id(self) -> str:
        return self.product.id

    @property
    def data(self) -> str:
        """What the page script needs of the card (as JSON in an attribute Jinja escapes)."""
        return json.dumps(
            {
                "id": self.product.id,
                "revision": self.product.revision,
                "alternatives": [{"path": a.path, "tree": a.tree} for a in self.alternatives],
            }
        )


def _enter_files(product: Product) -> str:
    category = product.category
    if category is None:
        return ""
    shallow = category.needs_review and category.decided_level != "human"
    level = f" (only the {category.decided_level} level: pick a deeper one with 1–5 or /)" if shallow else ""
    return category.path_text + level


def load(product_id: str) -> Product:
    fields = context().documents.get(products.COLLECTION, document_id(product_id, "product id"))
    if fields is None:
        raise NotFound(f"no product {product_id}")
    return Product.from_fields(product_id, fields)


@blueprint.get("/")
def home() -> Any:
    return flask.redirect(flask.url_for("cards.queue"))


@blueprint.get("/queue")
def queue() -> Any:
    filters = queue_filters()
    items, next_after = queue_page(filters, flask.request.args.get("after", ""))
    return flask.render_template(
        "queue.html",
        items=items,
        first=Card.of(items[0]) if items else None,
        filters=filters,
        next_after=next_after,
        codes=["audit", *(f"{source} to {level}" for source in ("image", "text") for level in LEVELS[source][:-1])],
    )


@blueprint.get("/api/queue")
def queue_api() -> Any:
    items, next_after = queue_page(queue_filters(), flask.request.args.get("after", ""))
    return {"items": [{"id": p.id, "rank": p.review_rank} for p in items], "next_after": next_after}


def queue_filters() -> dict[str, str]:
    return {
        name: flask.request.args.get(name, "").strip()
        for name in queries.QUEUE_FILTERS
        if flask.request.args.get(name, "").strip()
    }


def queue_page(filters: dict[str, str], after: str) -> tuple[list[Product], str]:
    return queries.queue_page(context().documents, filters, after, context().panel.panel_page_size)


@blueprint.get("/card/<path:product_id>")
def card(product_id: str) -> Any:
    return flask.render_template("card.html", card=Card.of(load(product_id)))


@blueprint.post("/api/decide")
def decide() -> Any:
    panel = context()
    body = json_body()
    product_id = document_id(body.get("product_id"), "product_id")
    path = tuple(str(body.get("path", "")).split("/")) if body.get("path") else ()
    choice = review.Choice(
        action=str(body.get("action", "")),
        category_path=path,
        tree=tree_of(path, str(body.get("tree", ""))) if path else "",
        price=str(body.get("price") or ""),
        confirmed=body.get("confirmed") is True,
    )
    record = review.decide(
        panel.documents,
        product_id,
        choice,
        flask.g.reviewer,
        str(body.get("request_id") or uuid.uuid4().hex),
        panel.clock(),
        panel.settings.audit_rate,
        revision=revision_of(body),
    )
    return {
        "review_id": record["id"],
        "product_id": record["product_id"],
        "action": choice.action,
        "revision": record["revision"],
        "filed": (record["human"].get(products.HUMAN_CATEGORY) or {}).get("path_text", ""),
    }


@blueprint.post("/api/undo")
def undo() -> Any:
    panel = context()
    body = json_body()
    review_id = document_id(body.get("review_id"), "review_id")
    record = review.undo(
        panel.documents, review_id, flask.g.reviewer, panel.clock(), panel.settings.audit_rate, revision_of(body)
    )
    return {"product_id": record["product_id"], "undone": True, "revision": record["revision"]}


def tree_of(path: tuple[str, ...], asked: str) -> str:
    """The tree (image, text) the path is a category of, the one asked for first."""
    for tree in sorted(context().taxonomies, key=lambda tree: tree != asked):
        taxonomy = context().taxonomy(tree)
        if taxonomy is not None and path in {leaf[: len(path)] for leaf in taxonomy.leaves}:
            return tree
    raise BadRequest(f"{'/'.join(path)} is not a category of the store's trees")


@blueprint.get("/api/taxonomy")
def taxonomy_search() -> Any:
    words = flask.request.args.get("q", "").casefold().split()
    asked = flask.request.args.get("tree", "")
    found: list[dict[str, str]] = []
    for tree in [asked] if asked else list(context().taxonomies):
        taxonomy = context().taxonomy(tree)
        for leaf in taxonomy.leaves if taxonomy else ():
            text = "/".join(leaf)
            if all(word in text.casefold() for word in words):
                found.append({"path": text, "tree": tree})
                if len(found) >= SEARCH_LIMIT:
                    return {"paths": found}
    return {"paths": found}


@blueprint.get("/photo/<path:product_id>/<key>")
def photo(product_id: str, key: str) -> Any:
    product = load(product_id)
    record = product.photos.get(key)
    if record is None:
        raise NotFound("no such photo")
    asked = whole_number(flask.request.args.get("side", "360"), "side", 1, PHOTO_SIDES[-1] * 4)
    side = next((s for s in PHOTO_SIDES if s >= asked), PHOTO_SIDES[-1])
    source = record.object
    data = context().blobs.read_all(source.bucket, source.name, source.generation, PHOTO_MAX_BYTES)
    image = decode_photo(data, target_size=side, budget=context().budget)
    image.thumbnail((side, side))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    response = flask.make_response(buffer.getvalue())
    response.headers["Content-Type"] = "image/jpeg"
    # pinned to the scored generation: the same URL always shows the same photo
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
