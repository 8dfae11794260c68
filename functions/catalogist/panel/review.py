"""Human decisions on products: written apart from every model's fields, audited, undoable, and
never over a change the reviewer did not see.

A decision sets `human_category` (and `human_price` when the admin priced the product), fields
no pipeline writes, so re-imports, new photos and new model releases never undo it, and
`products.summary_fields` shows it first. Each decision appends `reviews/{id}`: what the models
said, what the human chose, who, when, the model versions and the photo generations or source
row it was made on. Its id comes from the product and the browser's request id, so a retried
POST is applied once.

A decision carries the product's `revision` as the card showed it; if the product changed since
(another reviewer decided it, a photo or a price list arrived) it is refused, saying who changed
it and when, and the refusal is recorded too. A decision on a card another reviewer has open
(`leases.py`) is refused and recorded the same way. Undo carries the revision the decision left
and restores the product's human fields from before it, only while that decision is still the
product's current one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from catalogist.documents import products, reviews
from catalogist.documents.products import Product
from catalogist.documents.values import CategoryDecision, HumanPrice, Money, PriceSuggestion
from catalogist.models.taxonomy import SEPARATOR
from catalogist.panel import leases
from catalogist.panel.errors import BadRequest, Conflict
from catalogist.ports import REVISION, DocumentStore
from catalogist.vendorfiles.prices import PriceError, parse_price

# A typed price this far from the vendor's own (either way) is asked about before it is saved.
PRICE_RATIO_TO_CONFIRM = 3.0


class ReviewError(BadRequest):
    """The decision cannot be applied as asked: the message says why (shown to the admin)."""


class StaleDecision(Conflict):
    """The product changed after the card was shown: the message says who changed it and when."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, stale=True)


class NeedsConfirmation(Conflict):
    """A price far from the suggestion or the vendor's: saved only when the admin confirms it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, confirm=True)


@dataclass(frozen=True)
class Choice:
    """What the admin decided on one card."""

    action: str  # accept | alternative | search | price
    category_path: tuple[str, ...] = ()  # for alternative and search
    tree: str = ""  # the tree the path is from: image (the classifier's) or text (the catalogue's)
    price: str = ""  # for price: as typed ("12,50", "1 299.00", "₹ 120")
    confirmed: bool = False  # a price the panel asked about, confirmed


ACTIONS = ("accept", "alternative", "search", "price")


def review_id(product_id: str, request_id: str) -> str:
    return hashlib.sha256(f"{product_id}\n{request_id}".encode()).hexdigest()[:32]


def shown_category(product: Mapping[str, Any]) -> tuple[tuple[str, ...], str]:
    """What the card says Enter files: the category the product is shown under, at the level the
    models decided (a top level alone when nothing deeper was sure), and its tree."""
    category = product.get("category") or {}
    path = tuple(category.get("path") or ())
    if not path:
        raise ReviewError("the product has no model decision to accept: choose a category with 1–5 or /")
    # a category joined from a photo and a row is in the store's tree whatever its source
    return path, category.get("tree") or {"image": "image", "text": "text"}.get(category.get("source", ""), "")


ALTERNATIVES_SHOWN = 5  # keys 1–5


@dataclass(frozen=True)
class Alternative:
    path: tuple[str, ...]
    confidence: float
    tree: str  # the tree the path is from: what filing it records


def alternatives(product: Product) -> list[Alternative]:
    """The categories a card offers (keys 1–5), best first: the photo's best leaves, then the
    price list's. A product filed from a photo and a row (`products.joined_category`) is listed
    in the store's tree, so it is offered the photo's node there, then the row's leaves, and
    never the photo model's own leaves: choosing one would file it under a second tree."""
    photo, row = product.image_category, product.text_category
    if photo is not None and row is not None and photo.store_path is not None:
        placed = Alternative(photo.store_path, photo.confidence.get(photo.decided_level, 0.0), "text")
        offered = [placed, *(Alternative(o.path, o.confidence, "text") for o in row.alternatives)]
    elif photo is not None and row is not None and photo.store_unmapped:  # the photo's node is not in the store
        offered = [Alternative(o.path, o.confidence, "text") for o in row.alternatives]
    else:
        offered = [
            Alternative(option.path, option.confidence, tree)
            for decision, tree in ((photo, "image"), (row, "text"))
            for option in (decision.alternatives if decision else ())
        ]
    distinct: dict[tuple[str, ...], Alternative] = {}
    for option in offered:
        distinct.setdefault(option.path, option)
    return list(distinct.values())[:ALTERNATIVES_SHOWN]


def first_alternative(product: Product) -> tuple[tuple[str, ...], str]:
    """The card's first alternative (key 1)."""
    offered = alternatives(product)
    if not offered:
        raise ReviewError("the product has no alternatives: choose a category with /")
    return offered[0].path, offered[0].tree


def decide(
    documents: DocumentStore,
    product_id: str,
    choice: Choice,
    reviewer: str,
    request_id: str,
    now: datetime,
    audit_rate: float = products.DEFAULT_AUDIT_RATE,
    revision: int | None = None,
) -> dict[str, Any]:
    """Apply `choice` to the product as it was at `revision` (None: as it is now); the review
    record (the earlier one if this request was applied already). `StaleDecision` if the
    product changed since, `NeedsConfirmation` for a price to confirm."""
    if choice.action not in ACTIONS:
        raise ReviewError(f"unknown action {choice.action!r}: one of {', '.join(ACTIONS)}")
    identifier = review_id(product_id, request_id)
    earlier = documents.get(reviews.COLLECTION, identifier)
    if earlier is not None and not earlier.get("refused"):
        return earlier
    try:
        leases.check_free(documents, product_id, reviewer, now)
    except leases.Leased as leased:
        stored = documents.get(products.COLLECTION, product_id) or {}
        _record_refusal(documents, identifier, product_id, stored, choice, reviewer, now, leased.reason)
        raise
    before: dict[str, Any] = {}

    def apply(_: str, stored: dict[str, Any] | None) -> dict[str, Any] | None:
        if stored is None:
            raise ReviewError(f"no product {product_id}")
        before.clear()
        before.update(stored)
        if any((stored.get(name) or {}).get("review_id") == identifier for name in HUMAN_FIELDS):
            return None  # this request's decision landed; only its record is missing
        _check_revision(stored, revision)
        return _human_fields(stored, choice, reviewer, now, identifier)

    try:
        written = products.update(documents, [product_id], apply, reviewer, now, audit_rate)
    except StaleDecision as stale:
        _record_refusal(documents, identifier, product_id, before, choice, reviewer, now, stale.reason)
        raise
    human = {name: value for name, value in written.get(product_id, {}).items() if name in HUMAN_FIELDS}
    if not human:  # landed before: the product holds it
        human = {name: before[name] for name in HUMAN_FIELDS if (before.get(name) or {}).get("review_id") == identifier}
    record = reviews.record(identifier, product_id, before, choice.action, human, reviewer, now)
    record["revision"] = (written.get(product_id) or before).get(REVISION, 0)
    if not documents.create(reviews.COLLECTION, identifier, record):
        documents.update(reviews.COLLECTION, identifier, record)  # a refused attempt of the same request, now applied
    return record


def undo(
    documents: DocumentStore,
    identifier: str,
    reviewer: str,
    now: datetime,
    audit_rate: float = products.DEFAULT_AUDIT_RATE,
    revision: int | None = None,
) -> dict[str, Any]:
    """Put the product's human fields back as they were before the review, if the product is as
    the decision left it (`revision`, None: not checked) and the decision is still its current
    one; the review, undone."""
    review = documents.get(reviews.COLLECTION, identifier)
    if review is None:
        raise ReviewError(f"no review {identifier}")
    if review.get("refused"):
        raise ReviewError("that decision was refused, so there is nothing to undo")
    if review.get("undone"):
        return review
    product_id = review["product_id"]
    try:
        leases.check_free(documents, product_id, reviewer, now)
    except leases.Leased as leased:
        documents.update(
            reviews.COLLECTION, identifier, {"undo_refused": {"by": reviewer, "at": now, "reason": leased.reason}}
        )
        raise

    def revert(_: str, stored: dict[str, Any] | None) -> dict[str, Any]:
        if stored is None:
            raise ReviewError(f"no product {product_id}")
        for name in review["changed"]:
            current = stored.get(name) or {}
            if current.get("review_id") != identifier:
                who = current.get("reviewed_by") or stored.get("changed_by") or "someone"
                raise StaleDecision(
                    f"this decision is no longer the product's: {who} changed its {name.removeprefix('human_')} "
                    f"at {_when(current.get('reviewed_at') or stored.get('changed_at'))}; nothing was undone"
                )
        _check_revision(stored, revision)
        return {name: review["previous"].get(name) for name in review["changed"]}

    try:
        written = products.update(documents, [product_id], revert, reviewer, now, audit_rate)
    except StaleDecision as stale:
        documents.update(
            reviews.COLLECTION, identifier, {"undo_refused": {"by": reviewer, "at": now, "reason": stale.reason}}
        )
        raise
    undone = {"undone": True, "undone_by": reviewer, "undone_at": now}
    documents.update(reviews.COLLECTION, identifier, undone)
    return {**review, **undone, "revision": written[product_id][REVISION]}


def skip(
    documents: DocumentStore,
    product_id: str,
    reviewer: str,
    now: datetime,
    audit_rate: float = products.DEFAULT_AUDIT_RATE,
) -> int:
    """Not now: a queued card moves to the skipped band, for another look (status "skipped");
    a card no longer queued is left as it is. The product's revision after it."""
    leases.check_free(documents, product_id, reviewer, now)
    seen: list[int] = []

    def mark(_: str, stored: dict[str, Any] | None) -> dict[str, Any] | None:
        if stored is None:
            raise ReviewError(f"no product {product_id}")
        seen[:] = [int(stored.get(REVISION) or 0)]
        if not stored.get(products.REVIEW_RANK):
            return None
        return {products.SKIPPED: {"by": reviewer, "at": now}}

    written = products.update(documents, [product_id], mark, reviewer, now, audit_rate)
    return int(written[product_id][REVISION]) if product_id in written else seen[0]


HUMAN_FIELDS = products.HUMAN_FIELDS


def _check_revision(stored: Mapping[str, Any], revision: int | None) -> None:
    current = int(stored.get(REVISION) or 0)
    if revision is not None and current != revision:
        raise StaleDecision(
            f"the product changed after this card was shown: {stored.get('changed_by') or 'someone'} changed it "
            f"at {_when(stored.get('changed_at'))}; the card shows it as it is now"
        )


def _human_fields(
    product: dict[str, Any], choice: Choice, reviewer: str, now: datetime, identifier: str
) -> dict[str, Any]:
    if choice.action == "price":
        price = HumanPrice(_human_price(Product.from_fields("", product), choice), reviewer, now, identifier)
        return {products.HUMAN_PRICE: price.to_fields()}
    path, tree = shown_category(product) if choice.action == "accept" else (choice.category_path, choice.tree)
    if not path or any(not part for part in path):
        raise ReviewError("choose a category")
    return {products.HUMAN_CATEGORY: CategoryDecision.by_human(path, tree, reviewer, now, identifier).to_fields()}


def _human_price(product: Product, choice: Choice) -> Money:
    """The typed price read as vendor files are (a decimal comma or point, grouping, a currency
    sign), in the suggestion's currency; far from the suggestion's P10–P90 or 3× from the
    vendor's price, only once confirmed."""
    suggested, vendor = product.shown_price, product.vendor_price
    currency = (suggested.currency if suggested else "") or (vendor.currency if vendor else "")
    try:
        price = parse_price(str(choice.price), currency)
    except PriceError as error:
        raise ReviewError(f"not a price: {error}") from None
    if not price.amount > 0:
        raise ReviewError("a price must be a positive number")
    if currency and price.currency and price.currency != currency:
        raise ReviewError(f"the price is in {price.currency}; this product is priced in {currency}")
    amount = float(price.amount.quantize(Decimal("0.01")))
    if not choice.confirmed:
        doubts = _price_doubts(amount, suggested, vendor)
        if doubts:
            raise NeedsConfirmation(f"{amount:,.2f} {currency} is {' and '.join(doubts)}: confirm to save it")
    return Money(amount, currency)


def _price_doubts(amount: float, suggested: PriceSuggestion | None, vendor: Money | None) -> list[str]:
    doubts = []
    if suggested and amount < suggested.low:
        doubts.append(f"below the suggested P10 of {suggested.low:,.2f}")
    if suggested and amount > suggested.high:
        doubts.append(f"above the suggested P90 of {suggested.high:,.2f}")
    if vendor and vendor.amount > 0:
        ratio = amount / vendor.amount
        if ratio >= PRICE_RATIO_TO_CONFIRM or ratio <= 1 / PRICE_RATIO_TO_CONFIRM:
            doubts.append(f"{ratio:,.1f}× the vendor's price of {vendor.amount:,.2f}")
    return doubts


def _record_refusal(
    documents: DocumentStore,
    identifier: str,
    product_id: str,
    product: dict[str, Any],
    choice: Choice,
    reviewer: str,
    now: datetime,
    reason: str,
) -> None:
    """A refused decision is kept as a review that changed nothing (never counted as an audit or
    exported), so the audit trail shows who tried what, and why it was not applied."""
    record = reviews.record(identifier, product_id, product, choice.action, {}, reviewer, now)
    record.update(refused=True, refusal=reason, revision=int(product.get(REVISION) or 0))
    if choice.category_path:
        record["asked"] = {"path_text": SEPARATOR.join(choice.category_path), "tree": choice.tree}
    documents.create(reviews.COLLECTION, identifier, record)


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if isinstance(value, datetime) else "an unknown time"
