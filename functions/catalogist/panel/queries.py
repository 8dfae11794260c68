"""Every query the review panel runs, in one place, with the composite index each needs.

The deployment declares exactly these indexes (terraform/firestore.tf; a test compares the two).
No query counts or loads a whole collection: lists are pages of a range filter on a sortable
key with a limit (the local emulator ignores `start_after` and offsets, and cannot filter on
nested fields, so every key here is a top-level field), and counts are aggregations bounded by a
time window or a cap. Every query goes through `run` or `count`, which refuse a shape not
declared here.

The queue's views:
- open and skipped cards are two bands of one sort key, `review_rank` (products.py), so the
  status and a confidence range are one range filter on it, with the queue's filters (vendor,
  kind, top category, reason) as equality or `in` filters: the composite indexes the queue had
  serve every combination.
- decided and mine are ranges of `decided_rank` and `decided_key`, single-field indexes; the
  queue's filters are applied to them in code over a bounded window (`DECIDED_SCAN`), since each
  combination would need another composite index.
Case-insensitive vendor and category prefixes are resolved in code against the known names
(`filters.py`) into exact values before they get here: Firestore compares strings exactly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from catalogist.documents import products
from catalogist.documents.products import COLLECTION as PRODUCTS
from catalogist.documents.products import Product
from catalogist.documents.reviews import COLLECTION as REVIEWS
from catalogist.intake import ledger
from catalogist.ports import DocumentStore, Filter, Order

IMPORTS = "imports"

# The queue can be narrowed by any of these, alone or together.
QUEUE_FILTERS = ("vendor", "kind", "top_category", "review_code")
# What the status filter offers, and the order each view is in, said as the page says it.
STATUSES = {"open": "to review", "skipped": "skipped", "decided": "decided", "mine": "decided by me"}
ORDER_WORDS = {
    "open": "least sure first",
    "skipped": "least sure first",
    "decided": "newest first",
    "mine": "newest first",
}
IN_LIMIT = 30  # Firestore's cap on the values of `in` filters in one query (their product)
DECIDED_SCAN = 8  # pages read at most for one page of decided products filtered in code
COUNT_CAP = 10_000
SEARCH_LIMIT = 25


@dataclass(frozen=True)
class Query:
    """One query shape: equality filters, then one range or order field."""

    name: str
    collection: str
    equals: tuple[str, ...]  # fields compared with == (or `in`)
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
    yield Query("queue", PRODUCTS, (), "review_rank", purpose="products to review (or skipped), least confident first")
    for size in range(1, len(QUEUE_FILTERS) + 1):
        for fields in combinations(QUEUE_FILTERS, size):
            yield Query(f"queue by {' and '.join(fields)}", PRODUCTS, fields, "review_rank", purpose="filtered queue")


QUERIES: tuple[Query, ...] = (
    *_queue_queries(),
    Query("queue backlog", PRODUCTS, (), "review_rank", purpose="count of queued products, capped"),
    Query(
        "decided",
        PRODUCTS,
        (),
        products.DECIDED_RANK,
        descending=True,
        purpose="products a human decided, newest first",
    ),
    Query(
        "decided by a reviewer",
        PRODUCTS,
        (),
        products.DECIDED_KEY,
        descending=True,
        purpose="the products one reviewer decided, newest first",
    ),
    Query("search by SKU", PRODUCTS, (), products.SEARCH_SKU, purpose="product search: SKU prefix, any case"),
    Query("search by name", PRODUCTS, (), products.SEARCH_NAME, purpose="product search: name prefix, any case"),
    Query(
        "search by vendor", PRODUCTS, (), products.SEARCH_VENDOR, purpose="product search and vendor prefixes, any case"
    ),
    Query("products of a file", PRODUCTS, (products.SOURCE_NAME,), "", purpose="the products an upload's rows wrote"),
    Query("vendors", PRODUCTS, (), "vendor", purpose="the vendors with products, one at a time (pick-list)"),
    Query("history of a product", REVIEWS, ("product_id",), "", purpose="a product's human decisions and undos"),
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
        ("audit", "undone", "audit_source", "audit_level", "audit_correct", "audit_version"),
        "",
        purpose="overview: measured precision of automatic decisions (counts)",
    ),
    Query("reviews since", REVIEWS, (), "reviewed_at", purpose="export of human decisions as training data"),
)


def by_name(name: str) -> Query:
    return next(query for query in QUERIES if query.name == name)


def _shape(name: str, filters: Sequence[Filter], order: Sequence[Order]) -> None:
    """Refuse a query that is not the declared shape `name` (a query the deployment's indexes
    might not serve fails in Firestore only, with FAILED_PRECONDITION)."""
    query = by_name(name)
    ranged = {f for f, op, _ in filters if op not in ("==", "in")}
    equal = {f for f, op, _ in filters if op in ("==", "in")}
    ordered = {f for f, _ in order}
    if equal != set(query.equals) or not ranged | ordered <= {query.order} - {""}:
        raise AssertionError(f"query {name!r} asked with {filters} {order}: not its declared shape")


def run(
    documents: DocumentStore, name: str, filters: Sequence[Filter], order: Sequence[Order], limit: int
) -> list[tuple[str, dict[str, Any]]]:
    _shape(name, filters, order)
    return documents.query(by_name(name).collection, filters, order, limit)


def count(documents: DocumentStore, name: str, filters: Sequence[Filter], cap: int) -> int:
    _shape(name, filters, ())
    return documents.count(by_name(name).collection, filters, cap)


# -- the queue ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueView:
    """What the queue shows: a status, the queue's filters (each one value, or a few a prefix
    stood for), a confidence range (open and skipped cards), and who "mine" is."""

    status: str = "open"
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    confidence: tuple[float, float] = (0.0, 1.0)
    reviewer: str = ""

    @property
    def in_queue(self) -> bool:
        return self.status in ("open", "skipped")

    @property
    def filtered_in_code(self) -> bool:
        return not self.in_queue and any(self.filters.values())


def queue_query(filters: Mapping[str, Any]) -> Query:
    fields = tuple(field for field in QUEUE_FILTERS if filters.get(field))
    return by_name("queue by " + " and ".join(fields)) if fields else by_name("queue")


def _equalities(filters: Mapping[str, tuple[str, ...]]) -> list[Filter]:
    conditions: list[Filter] = []
    for name in QUEUE_FILTERS:
        values = tuple(filters.get(name) or ())
        if len(values) == 1:
            conditions.append((name, "==", values[0]))
        elif values:
            conditions.append((name, "in", list(values)))
    return conditions


def _band(view: QueueView) -> tuple[str, str]:
    """[low, high) of `review_rank` for the view's status and confidence range."""
    band = products.SKIPPED_BAND if view.status == "skipped" else ""
    low, high = view.confidence
    # "}" sorts after the "|" that ends a rank's confidence: every rank at `high` is inside
    return band + (products.confidence_key(low) if low > 0 else ""), band + products.confidence_key(high) + "}"


def _queue_filters(view: QueueView, after: str) -> list[Filter]:
    low, high = _band(view)
    lower: Filter = ("review_rank", ">", after) if after and after >= low else ("review_rank", ">=", low)
    if not low and not after:
        lower = ("review_rank", ">", "")
    return [*_equalities(view.filters), lower, ("review_rank", "<", high)]


def queue_page(documents: DocumentStore, view: QueueView, after: str, size: int) -> tuple[list[Product], str]:
    """One page of the view after the key `after`, and the key to ask the next page after ("" at
    the end)."""
    if view.in_queue:
        name = queue_query(view.filters).name
        found = run(documents, name, _queue_filters(view, after), [("review_rank", "asc")], size)
        page = [Product.from_fields(pid, fields) for pid, fields in found]
        return page, (page[-1].review_rank or "") if len(page) == size else ""
    return _decided_page(documents, view, after, size)


def _decided_range(view: QueueView, after: str) -> tuple[str, str, list[Filter]]:
    if view.status == "mine":
        start = f"{view.reviewer}\n"
        return (
            "decided by a reviewer",
            products.DECIDED_KEY,
            [
                (products.DECIDED_KEY, ">", start),
                (products.DECIDED_KEY, "<", after or start + "~"),
            ],
        )
    return (
        "decided",
        products.DECIDED_RANK,
        [(products.DECIDED_RANK, ">", ""), (products.DECIDED_RANK, "<", after or "~")],
    )


def _decided_page(documents: DocumentStore, view: QueueView, after: str, size: int) -> tuple[list[Product], str]:
    page: list[Product] = []
    for _ in range(DECIDED_SCAN if view.filtered_in_code else 1):
        name, key, filters = _decided_range(view, after)
        found = run(documents, name, filters, [(key, "desc")], size)
        page += [p for p in (Product.from_fields(pid, fields) for pid, fields in found) if _kept(p, view)]
        after = str(found[-1][1].get(key)) if len(found) == size else ""
        if not after or len(page) >= size:
            break
    return page, after


def _kept(product: Product, view: QueueView) -> bool:
    """The queue's filters, applied in code (decided views)."""
    values = {
        "vendor": product.vendor,
        "kind": product.kind,
        "top_category": product.category.path[0] if product.category and product.category.path else "",
        "review_code": product.review_code or "",
    }
    return all(not wanted or values[name] in wanted for name, wanted in view.filters.items())


def queue_count(documents: DocumentStore, view: QueueView) -> int | None:
    """How many products the view holds (up to `COUNT_CAP`); None when the filters are applied in
    code, where only reading them all would tell."""
    if view.filtered_in_code:
        return None
    if view.in_queue:
        return count(documents, queue_query(view.filters).name, _queue_filters(view, ""), COUNT_CAP)
    name, _, filters = _decided_range(view, "")
    return count(documents, name, filters, COUNT_CAP)


def position(documents: DocumentStore, view: QueueView, product: Product) -> int | None:
    """Where a queued product stands in the view (1 is first), by counting those before it."""
    if not view.in_queue or not product.review_rank:
        return None
    filters = _queue_filters(view, "")
    before = [*filters[:-1], ("review_rank", "<", min(product.review_rank, str(filters[-1][2])))]
    return count(documents, queue_query(view.filters).name, before, COUNT_CAP) + 1


# -- finding products -----------------------------------------------------------------------------


def prefix_range(field_name: str, prefix: str) -> list[Filter]:
    """Strings starting with `prefix`: from it to the last string that starts with it."""
    return [(field_name, ">=", prefix), (field_name, "<", prefix + "\U0010ffff")]


def search(documents: DocumentStore, words: str) -> list[Product]:
    """Products whose SKU, name or vendor starts with `words` (any case); each once, at most
    `SEARCH_LIMIT`."""
    key = products.search_key(words)
    found: dict[str, dict[str, Any]] = {}
    if key:
        for name, field_name in (
            ("search by SKU", products.SEARCH_SKU),
            ("search by name", products.SEARCH_NAME),
            ("search by vendor", products.SEARCH_VENDOR),
        ):
            found.update(run(documents, name, prefix_range(field_name, key), [(field_name, "asc")], SEARCH_LIMIT))
    return [Product.from_fields(pid, fields) for pid, fields in list(found.items())[:SEARCH_LIMIT]]


def vendors_starting(documents: DocumentStore, typed: str, limit: int) -> list[str]:
    """The vendors whose id starts with `typed` in any case, read from the folded copy of the
    vendor on each product: one read per vendor (a skip scan within the prefix)."""
    key = products.search_key(typed)
    names: list[str] = []
    low: Filter = (products.SEARCH_VENDOR, ">=", key)
    while key and len(names) < limit:
        high = (products.SEARCH_VENDOR, "<", key + "\U0010ffff")
        found = run(documents, "search by vendor", [low, high], [(products.SEARCH_VENDOR, "asc")], 1)
        if not found:
            break
        names.append(str(found[0][1]["vendor"]))
        low = (products.SEARCH_VENDOR, ">", str(found[0][1][products.SEARCH_VENDOR]))
    return names


def products_of_file(documents: DocumentStore, name: str, limit: int) -> list[Product]:
    found = run(documents, "products of a file", [(products.SOURCE_NAME, "==", name)], [], limit)
    return [Product.from_fields(pid, fields) for pid, fields in found]


def history(documents: DocumentStore, product_id: str, limit: int = 200) -> list[dict[str, Any]]:
    """The product's review records (decisions, refusals, undone ones), oldest first."""
    found = run(documents, "history of a product", [("product_id", "==", product_id)], [], limit)
    return sorted((fields for _, fields in found), key=lambda record: str(record.get("reviewed_at")))


def vendors(documents: DocumentStore, limit: int) -> list[str]:
    """The vendors that have products, in order: one read of the `vendor` index per vendor (a
    skip scan; Firestore has no "distinct")."""
    names: list[str] = []
    while len(names) < limit:
        found = run(documents, "vendors", [("vendor", ">", names[-1] if names else "")], [("vendor", "asc")], 1)
        if not found:
            break
        names.append(str(found[0][1]["vendor"]))
    return names


def composite_indexes() -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """(collection, fields) of every composite index the panel needs, once each."""
    seen: dict[tuple[str, tuple[tuple[str, str], ...]], None] = {}
    for query in QUERIES:
        if query.index:
            seen[(query.collection, query.index)] = None
    return list(seen)
