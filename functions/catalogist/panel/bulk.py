"""Decisions on many cards at once, previewed first and undone as one.

A reviewer narrows the queue (a vendor, a category, a confidence range, …), sees every card a
bulk action would file and under what, and confirms. The confirmation carries each card's
revision as the preview showed it: a card that changed since (or that another reviewer has open,
or that is an audit, which a person checks one at a time) is refused and named, the rest are
filed in one `modify` of their products. Each product gets its own review record (with the
batch's id) and the batch one more (`documents/batches.py`); undoing the batch reverts, in one
`modify`, every product the batch's decision still stands on and names the others.

A confirmation has a request id: sent twice (a double click, a retried POST) it is applied once,
and a batch interrupted half way is finished by sending it again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from catalogist.documents import batches, products, reviews
from catalogist.documents.batches import Batch
from catalogist.documents.products import Product
from catalogist.documents.values import CategoryDecision
from catalogist.panel import leases, queries
from catalogist.panel.errors import BadRequest, NotFound
from catalogist.panel.review import ReviewError, first_alternative, review_id, shown_category
from catalogist.ports import REVISION, DocumentStore, Write

BATCH_MAX = 200  # cards in one batch (one `modify`; Firestore commits 500 writes at most)
PREVIEW_READ = 3 * BATCH_MAX  # cards read at most for one preview
ACTIONS = {
    "accept": "file each card as it shows (Enter on each)",
    "first": "file each card under its first alternative (1 on each)",
}
RECORDED_ACTION = {"accept": "accept", "first": "alternative"}  # as a single decision records it


@dataclass(frozen=True)
class Planned:
    """A card of a preview, what the batch would file it under, or why it is left out."""

    product: Product
    files: str = ""
    left_out: str = ""


def target(product: Product, action: str) -> tuple[tuple[str, ...], str]:
    """(path, tree) the action files the product under; `ReviewError` when it has none."""
    if action == "accept":
        return shown_category(_fields_of(product))
    if action == "first":
        return first_alternative(product)
    raise BadRequest(f"unknown bulk action {action!r}: one of {', '.join(ACTIONS)}")


def _fields_of(product: Product) -> dict[str, Any]:
    category = product.category
    source = product.category_source
    return {"category": {"path": list(category.path), "source": source} if category else None}


def preview(
    documents: DocumentStore, view: queries.QueueView, action: str, reviewer: str, now: datetime
) -> list[Planned]:
    """The cards of the view the action would file (at most `BATCH_MAX`), and those it leaves out."""
    if not view.in_queue:
        raise BadRequest("bulk decisions are made on cards to review or skipped ones")
    planned: list[Planned] = []
    after, read = "", 0
    while read < PREVIEW_READ and sum(1 for p in planned if not p.left_out) < BATCH_MAX:
        page, after = queries.queue_page(documents, view, after, 100)
        read += len(page)
        held = leases.held_by_others(documents, [p.id for p in page], reviewer, now)
        for product in page:
            planned.append(_plan(product, action, held.get(product.id)))
        if not after:
            break
    chosen = [p for p in planned if not p.left_out][:BATCH_MAX]
    return chosen + [p for p in planned if p.left_out]


def _plan(product: Product, action: str, lease: Any) -> Planned:
    if product.audit:
        return Planned(product, left_out="a check of an automatic decision: decided one at a time")
    if lease is not None:
        return Planned(product, left_out=f"being reviewed by {lease.reviewer}")
    try:
        path, _ = target(product, action)
    except ReviewError as error:
        return Planned(product, left_out=error.reason)
    return Planned(product, files="/".join(path))


def batch_id(reviewer: str, request_id: str) -> str:
    return "b" + hashlib.sha256(f"batch\n{reviewer}\n{request_id}".encode()).hexdigest()[:31]


def load(documents: DocumentStore, identifier: str) -> Batch:
    fields = documents.get(batches.COLLECTION, identifier)
    if fields is None:
        raise NotFound(f"no batch {identifier}")
    return Batch.from_fields(identifier, fields)


def apply(
    documents: DocumentStore,
    action: str,
    asked: Mapping[str, int],
    reviewer: str,
    request_id: str,
    now: datetime,
    audit_rate: float = products.DEFAULT_AUDIT_RATE,
    criteria: Mapping[str, str] | None = None,
) -> Batch:
    """File each asked card (product id -> the revision it was previewed at) as `action` says;
    the batch as recorded."""
    if action not in ACTIONS:
        raise BadRequest(f"unknown bulk action {action!r}: one of {', '.join(ACTIONS)}")
    if not asked or len(asked) > BATCH_MAX:
        raise BadRequest(f"a batch holds 1 to {BATCH_MAX} cards, got {len(asked)}")
    identifier = batch_id(reviewer, request_id)
    existing = documents.get(batches.COLLECTION, identifier)
    if existing is not None and existing.get("status") == batches.DONE:
        return Batch.from_fields(identifier, existing)
    documents.create(
        batches.COLLECTION,
        identifier,
        Batch(identifier, action, reviewer, now, dict(asked), criteria=criteria or {}).to_fields(),
    )
    ids = list(asked)
    record_ids = {pid: review_id(pid, identifier) for pid in ids}
    # a microsecond apart in the batch's order: every record's time is its own (readers page by it)
    stamps = {pid: now + timedelta(microseconds=i) for i, pid in enumerate(ids)}
    held = leases.held_by_others(documents, ids, reviewer, now)
    before: dict[str, dict[str, Any]] = {}
    refused: dict[str, str] = {}

    def file(pid: str, stored: dict[str, Any] | None) -> dict[str, Any] | None:
        refused.pop(pid, None)  # called again when another writer won the race: decided afresh
        if stored is None:
            refused[pid] = "the product no longer exists"
            return None
        before[pid] = stored
        if (stored.get(products.HUMAN_CATEGORY) or {}).get("review_id") == record_ids[pid]:
            return None  # filed by this batch already (it is being sent again)
        why = _refusal(pid, stored, asked[pid], held.get(pid))
        if not why:
            try:
                path, tree = target(Product.from_fields(pid, stored), action)
            except ReviewError as error:
                why = error.reason
        if why:
            refused[pid] = why
            return None
        human = CategoryDecision.by_human(path, tree, reviewer, stamps[pid], record_ids[pid])
        return {products.HUMAN_CATEGORY: human.to_fields()}

    written = products.update(documents, ids, file, reviewer, now, audit_rate)
    applied: dict[str, dict[str, Any]] = {}
    records: list[Write] = []
    recorded = documents.get_many(reviews.COLLECTION, list(record_ids.values()))
    for pid in ids:
        stored = {**before.get(pid, {}), **written.get(pid, {})}
        human = stored.get(products.HUMAN_CATEGORY) or {}
        if pid not in refused and human.get("review_id") == record_ids[pid]:
            applied[pid] = {
                "review_id": record_ids[pid],
                "revision": int(stored.get(REVISION) or 0),
                "filed": human["path_text"],
            }
            earlier = recorded.get(record_ids[pid])
            if earlier is None or earlier.get("refused"):
                previous = before[pid] if pid in written else stored
                record = reviews.record(
                    record_ids[pid],
                    pid,
                    previous,
                    RECORDED_ACTION[action],
                    {products.HUMAN_CATEGORY: human},
                    reviewer,
                    human["reviewed_at"],
                )
                records.append(
                    Write(
                        reviews.COLLECTION,
                        record_ids[pid],
                        {**record, "batch_id": identifier, "revision": applied[pid]["revision"]},
                        merge=False,
                    )
                )
        elif pid in refused and record_ids[pid] not in recorded:
            record = reviews.record(
                record_ids[pid], pid, before.get(pid, {}), RECORDED_ACTION[action], {}, reviewer, stamps[pid]
            )
            record.update(
                refused=True,
                refusal=refused[pid],
                batch_id=identifier,
                revision=int(before.get(pid, {}).get(REVISION) or 0),
            )
            records.append(Write(reviews.COLLECTION, record_ids[pid], record, merge=False))
    for start in range(0, len(records), 500):
        documents.commit(records[start : start + 500])
    batch = Batch(identifier, action, reviewer, now, dict(asked), batches.DONE, criteria or {}, applied, refused)
    documents.commit([Write(batches.COLLECTION, identifier, batch.to_fields(), merge=False)])
    return batch


def _refusal(pid: str, stored: dict[str, Any], revision: int, lease: Any) -> str:
    if lease is not None:
        return f"being reviewed by {lease.reviewer}"
    if int(stored.get(REVISION) or 0) != revision:
        who, when = stored.get("changed_by") or "someone", _when(stored.get("changed_at"))
        return f"changed after the preview: {who} changed it at {when}"
    if stored.get("audit"):
        return "a check of an automatic decision: decided one at a time"
    return ""


def undo(
    documents: DocumentStore,
    identifier: str,
    reviewer: str,
    now: datetime,
    audit_rate: float = products.DEFAULT_AUDIT_RATE,
) -> Batch:
    """Undo the batch as one: each product the batch's decision still stands on, unchanged since,
    gets back the human fields it had before; the others are kept, each with why."""
    batch = load(documents, identifier)
    if batch.undone:
        return batch
    if batch.status != batches.DONE:
        raise ReviewError("the batch is still being applied: send it again to finish it first")
    applied = dict(batch.applied)
    records = documents.get_many(reviews.COLLECTION, [item["review_id"] for item in applied.values()])
    held = leases.held_by_others(documents, list(applied), reviewer, now)
    kept: dict[str, str] = {}
    reverted: set[str] = set()

    def revert(pid: str, stored: dict[str, Any] | None) -> dict[str, Any] | None:
        kept.pop(pid, None)
        reverted.discard(pid)
        item = applied[pid]
        record = records.get(item["review_id"]) or {}
        previous = (record.get("previous") or {}).get(products.HUMAN_CATEGORY)
        current = (stored or {}).get(products.HUMAN_CATEGORY)
        if (current or {}).get("review_id") != item["review_id"]:
            if (current or {}).get("review_id") == (previous or {}).get("review_id"):
                reverted.add(pid)  # undone already (an undo sent again)
            else:
                who = (current or {}).get("reviewed_by") or (stored or {}).get("changed_by") or "someone"
                kept[pid] = f"{who} decided it again at {_when((current or {}).get('reviewed_at'))}"
            return None
        if stored is not None and int(stored.get(REVISION) or 0) != int(item["revision"]):
            kept[pid] = (
                f"changed since the batch: {stored.get('changed_by') or 'someone'} at {_when(stored.get('changed_at'))}"
            )
            return None
        if pid in held:
            kept[pid] = f"being reviewed by {held[pid].reviewer}"
            return None
        reverted.add(pid)
        return {products.HUMAN_CATEGORY: previous}

    products.update(documents, list(applied), revert, reviewer, now, audit_rate)
    marks = [
        Write(reviews.COLLECTION, applied[pid]["review_id"], {"undone": True, "undone_by": reviewer, "undone_at": now})
        for pid in sorted(reverted)
    ] + [
        Write(
            reviews.COLLECTION, applied[pid]["review_id"], {"undo_refused": {"by": reviewer, "at": now, "reason": why}}
        )
        for pid, why in sorted(kept.items())
    ]
    for start in range(0, len(marks), 500):
        documents.commit(marks[start : start + 500])
    done = {"undone": True, "undone_by": reviewer, "undone_at": now, "kept": kept}
    documents.update(batches.COLLECTION, identifier, done)
    return Batch.from_fields(identifier, {**batch.to_fields(), **done})


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if isinstance(value, datetime) else "an unknown time"
