"""Every query the review panel runs, in one place, with the composite index each needs.

The deployment declares exactly these indexes (terraform/firestore.tf; a test compares the two).
No query counts or loads a whole collection: lists are pages of a range filter on a sortable
key with a limit (the local emulator ignores `start_after` and offsets, and cannot filter on
nested fields, so every key here is a top-level field), and counts are aggregations bounded by a
time window or a cap.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import combinations

from catalogist.documents import products
from catalogist.documents.products import COLLECTION as PRODUCTS
from catalogist.documents.products import Product
from catalogist.documents.reviews import COLLECTION as REVIEWS
from catalogist.intake import ledger
from catalogist.ports import DocumentStore, Filter

IMPORTS = "imports"

# The queue can be narrowed by any of these, alone or together.
QUEUE_FILTERS = ("vendor", "kind", "top_category", "review_code")


@dataclass(frozen=True)
class Query:
    """One query shape: equality filters, then one range or order field."""

    name: str
    collection: str
    equals: tuple[str, ...]  # fields compared with ==
    order: str  # the field ranged over or ordered by
    descending: bool = False
    purpose: str = ""

    @property
    def index(self) -> tuple[tuple[str, str], ...] | None:
        """The composite index Firestore needs: None when single-field indexes serve the query
        (no equality filter, or equality filters only)."""
        if not self.equals or not self.order:
            return None
        return (
            *((field, "ASCENDING") for field in self.equals),
            (self.order, "DESCENDING" if self.descending else "ASCENDING"),
        )


def _queue_queries() -> Iterator[Query]:
    yield Query("queue", PRODUCTS, (), "review_rank", purpose="products to review, least confident first")
    for size in range(1, len(QUEUE_FILTERS) + 1):
        for fields in combinations(QUEUE_FILTERS, size):
            yield Query(f"queue by {' and '.join(fields)}", PRODUCTS, fields, "review_rank", purpose="filtered queue")


QUERIES: tuple[Query, ...] = (
    *_queue_queries(),
    Query("queue backlog", PRODUCTS, (), "review_rank", purpose="count of queued products, capped"),
    Query(
        "decided in a window",
        PRODUCTS,
        ("needs_review",),
        "updated_at",
        purpose="overview: share decided without review",
    ),
    Query("products in a window", PRODUCTS, (), "updated_at", purpose="overview: products touched per day"),
    Query(
        "imports of a vendor",
        IMPORTS,
        ("vendor",),
        "started_at",
        descending=True,
        purpose="a vendor's imports, newest first",
    ),
    Query("recent imports", IMPORTS, (), "started_at", descending=True, purpose="every vendor's imports, newest first"),
    Query("uploads", ledger.COLLECTION, (), "received_at", descending=True, purpose="the ledger, newest first"),
    Query(
        "uploads by status",
        ledger.COLLECTION,
        ("status",),
        "received_at",
        descending=True,
        purpose="ledger filtered by status",
    ),
    Query(
        "uploads of a vendor",
        ledger.COLLECTION,
        ("vendor",),
        "received_at",
        descending=True,
        purpose="a vendor's ledger",
    ),
    Query(
        "uploads of a vendor by status",
        ledger.COLLECTION,
        ("vendor", "status"),
        "received_at",
        descending=True,
        purpose="a vendor's ledger filtered by status",
    ),
    Query("uploads per day", ledger.COLLECTION, (), "received_at", purpose="overview: uploads per day (counts)"),
    Query(
        "audit results",
        REVIEWS,
        ("audit", "undone", "audit_source", "audit_level", "audit_correct"),
        "",
        purpose="overview: measured precision of automatic decisions (counts)",
    ),
    Query("reviews since", REVIEWS, (), "reviewed_at", purpose="export of human decisions as training data"),
)


def by_name(name: str) -> Query:
    return next(query for query in QUERIES if query.name == name)


def queue_query(filters: dict[str, str]) -> Query:
    fields = tuple(field for field in QUEUE_FILTERS if filters.get(field))
    return by_name("queue by " + " and ".join(fields)) if fields else by_name("queue")


def queue_page(documents: DocumentStore, filters: dict[str, str], after: str, size: int) -> tuple[list[Product], str]:
    """One page of the queue after the rank `after`, and the rank to ask the next page after."""
    queue_query(filters)  # every shape asked here is one the deployment indexes
    conditions: list[Filter] = [(name, "==", value) for name, value in filters.items()]
    conditions.append((products.REVIEW_RANK, ">", after or ""))
    found = documents.query(products.COLLECTION, conditions, [(products.REVIEW_RANK, "asc")], size)
    page = [Product.from_fields(pid, fields) for pid, fields in found]
    return page, (page[-1].review_rank or "") if len(page) == size else ""


def composite_indexes() -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """(collection, fields) of every composite index the panel needs, once each."""
    seen: dict[tuple[str, tuple[tuple[str, str], ...]], None] = {}
    for query in QUERIES:
        if query.index:
            seen[(query.collection, query.index)] = None
    return list(seen)
