"""One reviewer per card: the card a reviewer opens is leased to them for a short while, renewed
by the page while the card stays open, released when they decide, skip or move on. Others skip
a leased card in the queue and, if they open it anyway, see who is on it; their decisions on it
are refused until the lease ends.

A lease is taken with the store's `modify` (a transaction in Firestore, revision claims against
the local emulator), so of several reviewers taking one card at the same moment exactly one
gets it. The lease is how reviewers keep out of each other's way; what keeps a decision from
overwriting one nobody saw is still the product's revision (`review.py`): a decision checked
against a lease that changes a moment later meets the revision check.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from catalogist.documents.leases import COLLECTION, Lease
from catalogist.panel.errors import Conflict
from catalogist.ports import DocumentStore

# Short, so a card whose tab was closed is free again within a minute; the page renews it three
# times a lease, so one late renewal never loses it.
LEASE_SECONDS = 60
RENEW_SECONDS = LEASE_SECONDS / 3


class Leased(Conflict):
    """Someone else has the card open: the message says who, and until when."""

    def __init__(self, lease: Lease) -> None:
        super().__init__(
            f"being reviewed by {lease.reviewer} (until {lease.until.strftime('%H:%M:%S')} UTC, "
            "renewed while their card is open)",
            leased_by=lease.reviewer,
            until=lease.until.isoformat(),
        )
        self.lease = lease


def take(documents: DocumentStore, product_id: str, reviewer: str, now: datetime) -> Lease:
    """Lease the card to `reviewer` (or renew their lease); `Leased` if another holds it."""
    taken: list[Lease] = []

    def claim(_: str, stored: dict[str, Any] | None) -> dict[str, Any]:
        current = Lease.from_fields(product_id, stored)
        if current is not None and current.held_by_other(reviewer, now):
            raise Leased(current)
        renewing = current is not None and current.live(now) and current.reviewer == reviewer
        lease = Lease(
            product_id,
            reviewer,
            now + timedelta(seconds=LEASE_SECONDS),
            current.taken_at if renewing and current else now,
        )
        taken[:] = [lease]
        return lease.to_fields()

    documents.modify(COLLECTION, [product_id], claim)
    return taken[0]


def release(documents: DocumentStore, product_id: str, reviewer: str, now: datetime) -> None:
    """End `reviewer`'s lease of the card, if they hold it (another's is left alone)."""

    def end(_: str, stored: dict[str, Any] | None) -> dict[str, Any] | None:
        current = Lease.from_fields(product_id, stored)
        if current is None or not current.live(now) or current.reviewer != reviewer:
            return None
        return {"until": now, "released_at": now}

    documents.modify(COLLECTION, [product_id], end)


def holder(documents: DocumentStore, product_id: str, now: datetime) -> Lease | None:
    """The live lease of the card, if any."""
    lease = Lease.from_fields(product_id, documents.get(COLLECTION, product_id))
    return lease if lease is not None and lease.live(now) else None


def check_free(documents: DocumentStore, product_id: str, reviewer: str, now: datetime) -> None:
    """`Leased` when someone other than `reviewer` has the card open."""
    lease = holder(documents, product_id, now)
    if lease is not None and lease.reviewer != reviewer:
        raise Leased(lease)


def held_by_others(
    documents: DocumentStore, product_ids: Sequence[str], reviewer: str, now: datetime
) -> dict[str, Lease]:
    """The live leases other reviewers hold among these cards (one read of them all), by id."""
    if not product_ids:
        return {}
    found = documents.get_many(COLLECTION, list(product_ids))
    leases = {pid: Lease.from_fields(pid, fields) for pid, fields in found.items()}
    return {pid: lease for pid, lease in leases.items() if lease is not None and lease.held_by_other(reviewer, now)}
