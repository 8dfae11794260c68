"""Review records: `reviews/{id}`, one per human decision, refusal or bulk batch, what the
models said, what the human chose, who and when, the model versions and the photo generations or
source row it was made on. Flat top-level fields where the panel counts and filters on them
(the audit's figures); exported as training data (`catalogist export reviews`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from catalogist.documents import products
from catalogist.documents.values import PriceSuggestion, decision_sure
from catalogist.models.taxonomy import SEPARATOR
from catalogist.ports import DocumentStore, Write

COLLECTION = "reviews"
JOINED = "joined"  # the audit source of decisions made from a photo and a row together
# what the overview's counts and the export filter and order on
AUDIT, UNDONE, AUDIT_CORRECT = "audit", "undone", "audit_correct"
AUDIT_SOURCE, AUDIT_LEVEL, AUDIT_VERSION = "audit_source", "audit_level", "audit_version"
REVIEWED_AT = "reviewed_at"
PRODUCT_ID = "product_id"
WRITES_PER_COMMIT = 500  # what one `DocumentStore.commit` takes


def record(
    identifier: str,
    product_id: str,
    product: dict[str, Any],
    action: str,
    human: dict[str, Any],
    reviewer: str,
    now: datetime,
) -> dict[str, Any]:
    """The audit record: flat top-level fields where the panel counts and filters on them."""
    automatic = product.get("category") or {}
    # A review checks an automatic decision when the product was sampled for an audit, and when
    # a model was sure of part of the path and left the rest to this reviewer: that part was
    # filed without a human (what a release's promise counts), and the choice says if it was right.
    source, needs_review = automatic.get("source"), bool(automatic.get("needs_review"))
    sure_part = source not in (None, "human") and needs_review and decision_sure(automatic)
    audit = (bool(product.get("audit")) or sure_part) and products.HUMAN_CATEGORY in human
    human_path = human.get(products.HUMAN_CATEGORY, {}).get("path", [])
    record: dict[str, Any] = {
        "id": identifier,
        "product_id": product_id,
        "vendor": product.get("vendor", ""),
        "sku": product.get("sku", ""),
        "kind": product.get("kind", ""),
        "action": action,
        "reviewer": reviewer,
        "reviewed_at": now,
        "changed": sorted(human),
        "previous": {name: product.get(name) for name in human},
        "human": human,
        "model": {
            "category": automatic,
            "image_category": _decision(product.get("image_category")),
            "text_category": _decision(product.get("text_category")),
            "price": _price_fields(products.shown_price(product)),
            "versions": product.get("model_versions", {}),
        },
        "photos": {key: photo.get("object") for key, photo in (product.get("photos") or {}).items()},
        "source_file": product.get("source_file"),
        "audit": audit,
        "undone": False,
        "refused": False,
    }
    if audit:
        decided = list(automatic.get("path", []))
        # a decision made from a photo and a row together (`products.joined_category`) is its own
        # kind of automatic decision, in the store's tree whichever side led
        record["audit_source"] = JOINED if automatic.get("joined") else automatic.get("source", "")
        record["audit_level"] = automatic.get("decided_level", "")
        # the release that decided: the overview measures the releases in service, not all ever
        record[AUDIT_VERSION] = checked_version(record)
        record["audit_correct"] = human_path[: len(decided)] == decided
    if products.HUMAN_CATEGORY in human:
        record["model_guess_correct"] = list(_best_leaf(product)) == human_path
    return record


def _price_fields(price: PriceSuggestion | None) -> dict[str, Any] | None:
    return price.to_fields() if price else None


def _decision(decision: dict[str, Any] | None) -> dict[str, Any] | None:
    if not decision:
        return None
    keep = ("path_text", "decided_level", "confidence", "alternatives", "needs_review", "model_version")
    return {key: decision.get(key) for key in keep}


def _best_leaf(product: Mapping[str, Any]) -> tuple[str, ...]:
    """The models' most likely leaf (the first alternative of the image decision, else the
    text's): what `model_guess_correct` compares the human's choice with."""
    for source in ("image_category", "text_category"):
        alternatives = (product.get(source) or {}).get("alternatives")
        if alternatives:
            return tuple(alternatives[0]["path_text"].split(SEPARATOR))
    return ()


def checked_version(review: Mapping[str, Any]) -> str:
    """The release whose automatic decision a review recorded (the category it saw)."""
    return str(((review.get("model") or {}).get("category") or {}).get("model_version") or "")


def backfill_audit_versions(documents: DocumentStore) -> tuple[int, int]:
    """Audits recorded before reviews stored `audit_version` (Catalogist before 2026-12-07 23:42
    UTC) get it from the decision they recorded: the overview counts the releases in service
    only, by that field, and would leave them out. A decision that recorded no release gets ""
    (no release in service matches it) and is not counted as given. (audits given their release,
    audits read); a second run gives none."""
    given, read, writes = 0, 0, []
    for review_id, review in documents.scan(COLLECTION, [(AUDIT, "==", True)]):
        read += 1
        if AUDIT_VERSION not in review:
            version = checked_version(review)
            given += bool(version)
            writes.append(Write(COLLECTION, review_id, {AUDIT_VERSION: version}))
        if len(writes) == WRITES_PER_COMMIT:
            documents.commit(writes)
            writes = []
    if writes:
        documents.commit(writes)
    return given, read
