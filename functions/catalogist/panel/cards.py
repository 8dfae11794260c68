"""The review queue, one card at a time: the queue's pages and counts, a card, its lease, a
decision, a skip and an undo, the category search, and a product's photos (pinned to the
generation that was scored)."""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass
from typing import Any

import flask

from catalogist.documents import products
from catalogist.documents.leases import Lease
from catalogist.documents.products import DISAGREE, Product
from catalogist.documents.values import Money, PriceSuggestion
from catalogist.imaging import decode_photo
from catalogist.intake import ledger
from catalogist.models.taxonomy import SEPARATOR
from catalogist.panel import leases, queries, review, words
from catalogist.panel.context import context, document_id, json_body, revision_of, whole_number
from catalogist.panel.errors import BadRequest, NotFound
from catalogist.panel.filters import FilterForm, queue_form

blueprint = flask.Blueprint("cards", __name__)

PHOTO_SIDES = (160, 360, 720)  # thumbnail sizes served; anything else is rounded up to one
PHOTO_MAX_BYTES = 25 * 1024 * 1024
SEARCH_LIMIT = 20


def review_codes() -> list[str]:
    """The queue's reasons a filter can pick: audits, and each tree's levels a decision can stop
    above its leaves at (`products.summary_fields`' `review_code`), in the trees in service, and
    a photo and a row that disagree where both trees are."""
    levels = context().levels()
    disagree = [DISAGREE] if {"image", "text"} <= set(levels) else []
    return ["audit", *disagree, *(f"{source} to {level}" for source, names in levels.items() for level in names[:-1])]


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
    enter_files: str  # the words beside Enter: exactly the category Enter files, at its level
    store_currency: str = ""

    @classmethod
    def of(cls, product: Product, store_currency: str = "") -> Card:
        alternatives = [CardOption(SEPARATOR.join(a.path), a.confidence, a.tree) for a in review.alternatives(product)]
        return cls(product, alternatives, _enter_files(product), store_currency)

    @property
    def id(self) -> str:
        return self.product.id

    @property
    def confidence_line(self) -> str:
        return words.confidence_line(self.product)

    @property
    def other_source(self) -> tuple[str, str] | None:
        """The source the shown category did not come from, and what it says (no percentages:
        the card has one confidence line)."""
        shown = self.product.category_source
        for source, decision in (("image", self.product.image_category), ("text", self.product.text_category)):
            if decision and source != shown:
                return words.SOURCES[source], decision.path_text
        return None

    @property
    def reason(self) -> str:
        return words.reason(self.product) if self.product.review_rank else ""

    @property
    def vendor_price(self) -> Money | None:
        """The vendor's price in its currency: a row that named none was read in the store's."""
        price = self.product.vendor_price
        if price is not None and not price.currency:
            return Money(price.amount, self.store_currency)
        return price

    @property
    def price_flag(self) -> str:
        return words.price_flag(self.vendor_price, self.product.shown_price)

    @property
    def price_source(self) -> str:
        price = self.product.shown_price
        return words.price_source(price) if price else ""

    @property
    def source_import(self) -> str:
        """The import report of the file the row fields came from (its id is the upload's)."""
        source = self.product.source_file
        return ledger.upload_id(source.object.bucket, source.object.name, source.object.generation) if source else ""

    @property
    def photo_alt(self) -> str:
        """What the photo is, for someone who cannot see it."""
        named = self.product.name or f"the product with SKU {self.product.sku}"
        guess = self.product.category.path_text if self.product.category else ""
        said = f"; the model's best guess is {words.node_name(guess)}" if guess and not self.product.name else ""
        return f"Photo of {named} from {self.product.vendor}{said}"

    @property
    def data(self) -> str:
        """What the page script needs of the card (as JSON in an attribute Jinja escapes)."""
        return json.dumps(
            {
                "id": self.product.id,
                "revision": self.product.revision,
                "alternatives": [{"path": a.path, "tree": a.tree} for a in self.alternatives],
                "queued": bool(self.product.review_rank),
            }
        )


def _enter_files(product: Product) -> str:
    category = product.category
    if category is None:
        return ""
    shallow = category.needs_review and category.decided_level != "human"
    level = words.level_name(category.decided_level)
    return category.path_text + (f" (only the {level}: pick a deeper one with 1–5 or /)" if shallow else "")


def load(product_id: str) -> Product:
    fields = context().documents.get(products.COLLECTION, document_id(product_id, "product id"))
    if fields is None:
        raise NotFound(f"no product {product_id}")
    return Product.from_fields(product_id, fields)


def card_of(product: Product) -> Card:
    return Card.of(product, context().settings.currency)


@dataclass(frozen=True)
class Row:
    """One row of the queue's list."""

    product: Product
    leased_by: str = ""

    @property
    def confidence(self) -> float | None:
        if self.product.review_rank:
            return self.product.queue_confidence
        decision = self.product.image_category or self.product.text_category
        return decision.alternatives[0].confidence if decision and decision.alternatives else None

    @property
    def label(self) -> str:
        product = self.product
        return product.name or (words.node_name(product.category.path_text) if product.category else product.sku)

    @property
    def state(self) -> str:
        human = self.product.human_category
        if human is not None:
            return f"filed by {human.reviewed_by}"
        return words.reason(self.product) if self.product.review_rank else ""


def filter_form() -> FilterForm:
    panel = context()
    return queue_form(
        flask.request.args,
        flask.g.reviewer,
        panel.vendor_names,
        top_categories(),
        words.KINDS,
        review_codes(),
    )


def top_categories() -> list[str]:
    """The top categories of the trees in service (the category pick-list)."""
    names: dict[str, None] = {}
    for tree in context().taxonomies:
        taxonomy = context().taxonomy(tree)
        for leaf in taxonomy.leaves if taxonomy else ():
            names[leaf[0]] = None
    return sorted(names, key=str.casefold)


def queue_rows(form: FilterForm, after: str) -> tuple[list[Row], str]:
    panel = context()
    page, next_after = queries.queue_page(panel.documents, form.view, after, panel.panel.panel_page_size)
    held = leases.held_by_others(panel.documents, [p.id for p in page], flask.g.reviewer, panel.clock())
    return [Row(product, held[product.id].reviewer if product.id in held else "") for product in page], next_after


@blueprint.get("/")
def home() -> Any:
    return flask.redirect(flask.url_for("cards.queue"))


@blueprint.get("/queue")
def queue() -> Any:
    form = filter_form()
    rows, next_after = queue_rows(form, flask.request.args.get("after", ""))
    first = next((row.product for row in rows if not row.leased_by), None)
    return flask.render_template(
        "queue.html",
        rows=rows,
        first=card_of(first) if first else None,
        form=form,
        view=form.view,
        next_after=next_after,
        statuses=queries.STATUSES,
        order=queries.ORDER_WORDS[form.view.status],
        codes={code: words.code_words(code) for code in review_codes()},
        categories=top_categories(),
    )


@blueprint.get("/api/queue")
def queue_api() -> Any:
    form = filter_form()
    rows, next_after = queue_rows(form, flask.request.args.get("after", ""))
    html = flask.render_template("rows.html", rows=rows)
    return {
        "items": [{"id": row.product.id, "leased_by": row.leased_by} for row in rows],
        "rows": html,
        "next_after": next_after,
    }


@blueprint.get("/api/queue/count")
def queue_count() -> Any:
    """How many cards the view holds: asked after the page shows, as Firestore counts from its
    index but the local emulator reads every product to count them."""
    counted = queries.queue_count(context().documents, filter_form().view)
    return {"count": counted, "capped": counted is not None and counted >= queries.COUNT_CAP}


@blueprint.get("/api/vendors")
def vendor_names() -> Any:
    return {"vendors": context().vendor_names.names()}


@blueprint.get("/card/<path:product_id>")
def card(product_id: str) -> Any:
    return flask.render_template("card.html", card=card_of(load(product_id)))


@blueprint.post("/api/lease")
def lease() -> Any:
    """Take or renew the card's lease for the reviewer; 409 with who holds it otherwise."""
    panel = context()
    product_id = document_id(json_body().get("product_id"), "product_id")
    load(product_id)
    taken = leases.take(panel.documents, product_id, flask.g.reviewer, panel.clock())
    return lease_answer(taken)


def lease_answer(taken: Lease) -> dict[str, Any]:
    return {"leased_to": taken.reviewer, "until": taken.until.isoformat(), "renew_seconds": leases.RENEW_SECONDS}


@blueprint.post("/api/lease/release")
def release() -> Any:
    panel = context()
    product_id = document_id(json_body().get("product_id"), "product_id")
    leases.release(panel.documents, product_id, flask.g.reviewer, panel.clock())
    return {"released": True}


@blueprint.post("/api/skip")
def skip() -> Any:
    """Not now: the card goes to the skipped band (status "skipped"), and its lease ends."""
    panel = context()
    product_id = document_id(json_body().get("product_id"), "product_id")
    revision = review.skip(panel.documents, product_id, flask.g.reviewer, panel.clock(), panel.settings.audit_rate)
    leases.release(panel.documents, product_id, flask.g.reviewer, panel.clock())
    return {"product_id": product_id, "revision": revision}


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
    if choice.action != "price":  # the card is done: free it (a price keeps it open)
        leases.release(panel.documents, product_id, flask.g.reviewer, panel.clock())
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
    wanted = flask.request.args.get("q", "").casefold().split()
    asked = flask.request.args.get("tree", "")
    found: list[dict[str, str]] = []
    for tree in [asked] if asked else list(context().taxonomies):
        taxonomy = context().taxonomy(tree)
        for leaf in taxonomy.leaves if taxonomy else ():
            text = "/".join(leaf)
            if all(word in text.casefold() for word in wanted):
                found.append({"path": text, "tree": tree, "source": words.SOURCES.get(tree, tree)})
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


def price_range(price: PriceSuggestion) -> str:
    return f"{price.low:,.2f}–{price.high:,.2f} {price.currency}".strip()
