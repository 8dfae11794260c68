"""Product documents: `products/{vendor}:{sku}`, where photos, file rows and admins meet.

Each source writes its own part (`image_category` and a rough `photo_price` from photos,
`text_category`, name, brand and prices from vendor files, `human_category` and `human_price`
from an admin in the review panel, fields no pipeline writes) and `summary_fields` derives what
the shop and the panel read: the category (a human's word first, then a confident image or text
decision, else the image or text guess with `needs_review`) and the review queue's keys; the
price shown is the row's, else the photo's (`shown_price`).

Every writer goes through `update`: it reads the product, applies the writer's change and the
summary that follows from the result, and writes both unless another writer got there first
(the store's `modify`), so the summary always follows from the sources it is stored with.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from catalogist.errors import PermanentError
from catalogist.ports import DocumentStore

COLLECTION = "products"
# Share of automatically decided products routed to the review queue as an audit, so the
# precision of automatic decisions is measured on live data (`CATALOGIST_AUDIT_RATE`).
DEFAULT_AUDIT_RATE = 0.02
_UNSAFE_ID = re.compile(r"[/\x00-\x1f]")


def product_id(vendor: str, sku: str) -> str:
    """Firestore-safe id; SKUs are vendor data, so `/` and control characters are replaced."""
    if not vendor or not sku:
        raise PermanentError("a product needs a vendor and a SKU")
    identity = f"{vendor}:{sku}"
    if len(identity.encode()) > 1500:  # Firestore's limit on document ids
        raise PermanentError(f"the SKU {sku[:40]!r}… is too long")
    return _UNSAFE_ID.sub("_", identity)


def effective_category(product: dict[str, Any]) -> dict[str, Any] | None:
    """The category the shop files the product under, with its source."""
    human = product.get("human_category")
    if human:
        return {**human, "source": "human", "needs_review": False, "review_reason": None}
    candidates: list[tuple[str, dict[str, Any]]] = [
        (source, product[f"{source}_category"]) for source in ("image", "text") if product.get(f"{source}_category")
    ]
    for source, decision in candidates:
        if not decision["needs_review"]:
            return {**decision, "source": source}
    if candidates:
        source, decision = candidates[0]
        return {**decision, "source": source}
    return None


def shown_price(product: Mapping[str, Any]) -> dict[str, Any] | None:
    """The suggested price the shop sees: the price-list row's (`price`) when there is one,
    else the rough one from the product's photos (`photo_price`). Each writer owns its field,
    so neither can overwrite the other whatever order they land in."""
    return product.get("price") or product.get("photo_price")


def kind_of(product: dict[str, Any]) -> str:
    """Which sources describe the product: photo, row or both."""
    photo, row = bool(product.get("image_category")), bool(product.get("text_category"))
    return "both" if photo and row else "photo" if photo else "row" if row else ""


def audited(product_id: str, audit_rate: float) -> bool:
    """Whether an automatic decision of this product is sampled for a human audit. A hash of the
    id, so the sample is uniform over products and the same on every writer."""
    bucket = int.from_bytes(hashlib.sha256(product_id.encode()).digest()[:4], "big") / 2**32
    return bucket < audit_rate


def review_rank(confidence: float, first_seen_at: datetime | None, product_id: str) -> str:
    """The queue's sort key, a string so one range filter pages through it (`> last seen`):
    least confident first, oldest first among equals, the id making every key unique."""
    seen = first_seen_at.strftime("%Y%m%dT%H%M%S.%f") if first_seen_at else "0"
    return f"{round(confidence * 10_000):05d}|{seen}|{product_id}"


def summary_fields(product: dict[str, Any], audit_rate: float = DEFAULT_AUDIT_RATE) -> dict[str, Any]:
    """Top-level copies of what the shop and the panel read, filter and sort on (the local
    emulator cannot filter nested fields): the effective category, and the review queue's keys.

    A product is in the queue (`review_rank` set) when a model was unsure of it, or when it was
    decided automatically and falls in the audit sample; a human decision takes it out. Outside
    the queue `review_rank` is None, which no string range filter matches.
    """
    category = effective_category(product)
    if category is None:
        return {}
    product_id = f"{product.get('vendor', '')}:{product.get('sku', '')}"
    needs_review = bool(category["needs_review"])
    audit = category["source"] != "human" and not needs_review and audited(product_id, audit_rate)
    best = (category.get("alternatives") or [{}])[0].get("confidence", category.get("confidence", {}).get("fine", 0.0))
    first_seen_at = product.get("first_seen_at") or product.get("updated_at")
    in_queue = needs_review or audit
    return {
        "category": category,
        "category_path": category["path_text"],
        "top_category": category["path"][0] if category.get("path") else category["path_text"].split("/")[0],
        "needs_review": needs_review,
        "review_reason": category.get("review_reason") if needs_review else ("audit" if audit else None),
        # the reason in a word, to filter the queue by: how far the models got, or an audit
        "review_code": f"{category['source']} to {category['decided_level']}"
        if needs_review
        else ("audit" if audit else None),
        "kind": kind_of(product),
        "audit": audit,
        "first_seen_at": first_seen_at,
        "review_rank": review_rank(float(best or 0.0), first_seen_at, product_id) if in_queue else None,
    }


# What a source changes on one product: (product id, the product as stored or None) -> the
# fields it sets, or None to leave the product alone. Called again if another writer wins the race.
SourceChange = Callable[[str, dict[str, Any] | None], Mapping[str, Any] | None]


def update(
    documents: DocumentStore,
    product_ids: Sequence[str],
    change: SourceChange,
    by: str,
    now: datetime,
    audit_rate: float = DEFAULT_AUDIT_RATE,
    known: Mapping[str, dict[str, Any] | None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Apply a source's `change` to each product, with the summary that follows and who changed
    it (`by`, shown to a reviewer whose decision the change made stale) and when. The fields
    written, by product id."""

    def with_summary(product_id: str, stored: dict[str, Any] | None) -> dict[str, Any] | None:
        fields = change(product_id, stored)
        if fields is None:
            return None
        changed = {**(stored or {}), **fields}
        return {**fields, **summary_fields(changed, audit_rate), "changed_by": by, "changed_at": now}

    return documents.modify(COLLECTION, product_ids, with_summary, known)
