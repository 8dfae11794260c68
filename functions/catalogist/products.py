"""Product documents: `products/{vendor}:{sku}`, where photos and file rows of one product meet.

Each source writes its own part (`image_category` from photos, `text_category`, name, brand and
prices from vendor files, `human_category` from an admin) and `effective_category` decides which
of them the shop shows: a human's word first, then a confident image or text decision, else the
image or text guess with `needs_review`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from catalogist.errors import PermanentError
from catalogist.ports import DocumentStore

COLLECTION = "products"
# The store's clock at the last image decision written; a file import settles the summaries of
# the products it finds here changed after its own read (`imports.PageWriter`).
IMAGE_WRITTEN_AT = "image_written_at"
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


def summary_fields(product: dict[str, Any]) -> dict[str, Any]:
    """Top-level copies of what admins filter on (the emulator cannot filter nested fields)."""
    category = effective_category(product)
    if category is None:
        return {}
    return {
        "category": category,
        "category_path": category["path_text"],
        "needs_review": bool(category["needs_review"]),
        "review_reason": category.get("review_reason"),
    }


def settle_summaries(documents: DocumentStore, product_ids: Sequence[str]) -> int:
    """Rewrite the summary of each product whose stored one no longer follows from its sources.

    Photos and file rows of one product are written by different invocations, each computing
    the summary from what it read before writing; without isolating transactions (the local
    emulator has none) the later write can carry a stale summary. Each writer calls this after
    its own write, so whichever finishes last leaves the summary right. (A file import only needs
    this for products a photo wrote after the import read them: `IMAGE_WRITTEN_AT`.) Returns how
    many it fixed.
    """
    fixed = 0
    for product_id, product in documents.get_many(COLLECTION, list(product_ids)).items():
        wanted = summary_fields(product)
        if wanted and any(product.get(name) != value for name, value in wanted.items()):
            documents.update(COLLECTION, product_id, wanted)
            fixed += 1
    return fixed
