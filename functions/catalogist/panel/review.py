"""Human decisions on products: written apart from every model's fields, audited, undoable.

A decision sets `human_category` (and `human_price` when the admin priced the product), fields
no pipeline writes, so re-imports, new photos and new model releases never undo it, and
`products.summary_fields` shows it first. Each decision appends `reviews/{id}`: what the models
said, what the human chose, who, when, the model versions and the photo generations or source
row it was made on. Its id comes from the product and the browser's request id, so a retried
POST is applied once. Undo restores the product's human fields from before the decision and
marks the review undone (kept, for the audit trail).

The local emulator's transactions do not isolate, so, like the pipelines, a decision writes
its fields with the summary it computed and then settles the summary again (`DECIDED_AT`
tells a running import to do the same).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from catalogist import products
from catalogist.errors import PermanentError
from catalogist.ports import SERVER_TIME, DocumentStore, Write

REVIEWS = "reviews"
SEPARATOR = "/"


class ReviewError(PermanentError):
    """The decision cannot be applied as asked: the message says why (shown to the admin)."""


@dataclass(frozen=True)
class Choice:
    """What the admin decided on one card."""

    action: str  # accept | alternative | search | price
    category_path: tuple[str, ...] = ()  # for alternative and search
    tree: str = ""  # the tree the path is from: image (the classifier's) or text (the catalogue's)
    price: float | None = None  # for price


def review_id(product_id: str, request_id: str) -> str:
    return hashlib.sha256(f"{product_id}\n{request_id}".encode()).hexdigest()[:32]


def model_guess(product: dict[str, Any]) -> tuple[tuple[str, ...], str]:
    """The models' best leaf and its tree: what Enter accepts (the image decision's first, else
    the text's)."""
    for source, tree in (("image_category", "image"), ("text_category", "text")):
        decision = product.get(source) or {}
        if decision.get("alternatives"):
            return tuple(decision["alternatives"][0]["path_text"].split(SEPARATOR)), tree
    raise ReviewError("the product has no model decision to accept")


def decide(
    documents: DocumentStore,
    product_id: str,
    choice: Choice,
    reviewer: str,
    request_id: str,
    now: datetime,
    audit_rate: float = products.DEFAULT_AUDIT_RATE,
) -> dict[str, Any]:
    """Apply `choice` to the product; the review record (the earlier one if this request was
    applied already)."""
    identifier = review_id(product_id, request_id)
    earlier = documents.get(REVIEWS, identifier)
    product = documents.get(products.COLLECTION, product_id)
    if product is None:
        raise ReviewError(f"no product {product_id}")
    if earlier is not None:
        # Retried: the review was recorded; finish the product's write if it did not land.
        landed = any((product.get(name) or {}).get("review_id") == identifier for name in earlier["changed"])
        if not landed and not earlier.get("undone"):
            _write_human(documents, product_id, product, earlier["human"], now, audit_rate)
        return earlier
    human: dict[str, Any] = {}
    if choice.action == "price":
        if choice.price is None or not choice.price > 0:
            raise ReviewError("a price must be a positive number")
        suggested = products.shown_price(product) or product.get("vendor_price") or {}
        currency = suggested.get("currency")
        human["human_price"] = {"amount": round(float(choice.price), 2), "currency": currency or ""}
    else:
        path, tree = model_guess(product) if choice.action == "accept" else (tuple(choice.category_path), choice.tree)
        if not path or any(not part for part in path):
            raise ReviewError("choose a category")
        human["human_category"] = {
            "path": list(path),
            "path_text": SEPARATOR.join(path),
            "tree": tree,
            "decided_level": "human",
            "confidence": {},
        }
    for fields in human.values():
        fields.update(reviewed_by=reviewer, reviewed_at=now, review_id=identifier)

    review = review_record(identifier, product_id, product, choice, human, reviewer, now)
    if not documents.create(REVIEWS, identifier, review):
        return documents.get(REVIEWS, identifier) or review
    _write_human(documents, product_id, product, human, now, audit_rate)
    return review


def undo(
    documents: DocumentStore,
    identifier: str,
    reviewer: str,
    now: datetime,
    audit_rate: float = products.DEFAULT_AUDIT_RATE,
) -> dict[str, Any]:
    """Put the product's human fields back as they were before the review; the review, undone."""
    review = documents.get(REVIEWS, identifier)
    if review is None:
        raise ReviewError(f"no review {identifier}")
    if review.get("undone"):
        return review
    product_id = review["product_id"]
    product = documents.get(products.COLLECTION, product_id) or {}
    restored = {name: review["previous"].get(name) for name in review["changed"]}
    documents.update(REVIEWS, identifier, {"undone": True, "undone_by": reviewer, "undone_at": now})
    _write_human(documents, product_id, product, restored, now, audit_rate)
    return {**review, "undone": True}


def _write_human(
    documents: DocumentStore,
    product_id: str,
    product: dict[str, Any],
    human: dict[str, Any],
    now: datetime,
    audit_rate: float,
) -> None:
    updated = {**product, **human}
    fields = {**human, products.DECIDED_AT: SERVER_TIME, **products.summary_fields(updated, audit_rate)}
    documents.commit([Write(products.COLLECTION, product_id, fields)])
    products.settle_summaries(documents, [product_id], audit_rate)


def review_record(
    identifier: str,
    product_id: str,
    product: dict[str, Any],
    choice: Choice,
    human: dict[str, Any],
    reviewer: str,
    now: datetime,
) -> dict[str, Any]:
    """The audit record: flat top-level fields where the panel counts and filters on them."""
    automatic = product.get("category") or {}
    audit = bool(product.get("audit")) and "human_category" in human
    human_path = human.get("human_category", {}).get("path", [])
    record: dict[str, Any] = {
        "id": identifier,
        "product_id": product_id,
        "vendor": product.get("vendor", ""),
        "sku": product.get("sku", ""),
        "kind": product.get("kind", ""),
        "action": choice.action,
        "reviewer": reviewer,
        "reviewed_at": now,
        "changed": sorted(human),
        "previous": {name: product.get(name) for name in human},
        "human": human,
        "model": {
            "category": automatic,
            "image_category": _decision(product.get("image_category")),
            "text_category": _decision(product.get("text_category")),
            "price": products.shown_price(product),
            "versions": product.get("model_versions", {}),
        },
        "photos": {key: photo.get("object") for key, photo in (product.get("photos") or {}).items()},
        "source_file": product.get("source_file"),
        "audit": audit,
        "undone": False,
    }
    if audit:
        decided = list(automatic.get("path", []))
        record["audit_source"] = automatic.get("source", "")
        record["audit_level"] = automatic.get("decided_level", "")
        record["audit_correct"] = human_path[: len(decided)] == decided
    if "human_category" in human:
        record["model_guess_correct"] = list(_safe_guess(product)) == human_path
    return record


def _decision(decision: dict[str, Any] | None) -> dict[str, Any] | None:
    if not decision:
        return None
    keep = ("path_text", "decided_level", "confidence", "alternatives", "needs_review", "model_version")
    return {key: decision.get(key) for key in keep}


def _safe_guess(product: dict[str, Any]) -> Sequence[str]:
    try:
        return model_guess(product)[0]
    except ReviewError:
        return ()
