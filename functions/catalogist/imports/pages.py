"""Pages of an import in flight: each page's stored products read ahead while the page before
is categorized, and written on a background thread while the next is read.

The Google clients release the GIL while a request is on the wire, so the importing thread
reads and categorizes the next page meanwhile. A page is written with `products.update`, which
starts from the products read ahead and reads again only those another writer changed since.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from catalogist.documents import products
from catalogist.ports import DocumentStore
from catalogist.vendorfiles import ProductRow, RowProblem

Stored = dict[str, dict[str, Any] | None]
PAGE_ROWS = 400  # rows per batched commit (Firestore allows 500 writes)
FIRST_PROBLEMS = 50  # rejected rows listed on the import document


@dataclass
class Counts:
    rows_seen: int = 0
    written: int = 0
    unchanged: int = 0  # the product holds this row already (from this upload or an older one)
    refreshed: int = 0  # of those unchanged, rows an older upload had written: now traced to this one
    rejected: int = 0
    superseded: int = 0  # rows whose product a newer upload already wrote
    problems: list[dict[str, Any]] = field(default_factory=list)
    # parse, read and models on the importing thread; commit on the writer thread, overlapping them
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(("parse", "read", "models", "commit"), 0.0))

    def add(self, other: Counts) -> Counts:
        """Both counts together (an import job's pages are counted on many workers)."""
        return Counts(
            rows_seen=self.rows_seen + other.rows_seen,
            written=self.written + other.written,
            unchanged=self.unchanged + other.unchanged,
            refreshed=self.refreshed + other.refreshed,
            rejected=self.rejected + other.rejected,
            superseded=self.superseded + other.superseded,
            problems=(self.problems + other.problems)[:FIRST_PROBLEMS],
            seconds={name: self.seconds.get(name, 0.0) + other.seconds.get(name, 0.0) for name in self.seconds},
        )


class PageWriter:
    """Writes one page at a time on a background thread; the next page waits for the last one.

    An error in a write surfaces on the next `write` or at the end of the `with` block, and
    stops the import.
    """

    def __init__(self, counts: Counts) -> None:
        self._counts = counts
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="page-writer")
        self._pending: Future[None] | None = None
        self._pending_ids: frozenset[str] = frozenset()

    def __enter__(self) -> PageWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.wait()
        finally:
            self._pool.shutdown(wait=True)

    def wait(self) -> None:
        if self._pending is not None:
            pending, self._pending, self._pending_ids = self._pending, None, frozenset()
            pending.result()

    def is_writing_any(self, product_ids: list[str]) -> bool:
        return not self._pending_ids.isdisjoint(product_ids)

    def wait_if_writing(self, product_ids: list[str]) -> None:
        """Before reading products: a SKU of the page in flight is read only once it is written."""
        if self.is_writing_any(product_ids):
            self.wait()

    def write(self, product_ids: list[str], write_page: Callable[[], None]) -> None:
        """Run `write_page` (which writes `product_ids`) once the page before is written."""
        self.wait()
        self._pending_ids = frozenset(product_ids)
        self._pending = self._pool.submit(self._timed, write_page)

    def _timed(self, write_page: Callable[[], None]) -> None:
        started = time.perf_counter()
        write_page()
        self._counts.seconds["commit"] += time.perf_counter() - started


@dataclass
class PageRead:
    """A page's rows and the read of their stored products, started ahead when it is safe.

    The next page's products are read while this page is categorized, unless the two pages (or
    the page being written) share a SKU: then the read waits until that write has landed, so
    the later row is compared with what the earlier one wrote.
    """

    rows: list[ProductRow]
    ids: list[str]
    started: Future[Stored] | None

    @classmethod
    def start(
        cls,
        page: list[ProductRow],
        vendor: str,
        documents: DocumentStore,
        reader: ThreadPoolExecutor | None,
        writer: PageWriter,
        ahead: PageRead | None,
    ) -> PageRead:
        """Without a `reader`, the products are read when the page's turn comes (`result`)."""
        # A SKU twice in one page: the later row wins, as it does across pages.
        rows = list({row.sku: row for row in page}.values())
        ids = [products.product_id(vendor, row.sku) for row in rows]
        clash = writer.is_writing_any(ids) or (ahead is not None and not set(ahead.ids).isdisjoint(ids))
        started = None if clash or reader is None else reader.submit(_read_products, documents, ids)
        return cls(rows, ids, started)

    def result(self, documents: DocumentStore, writer: PageWriter) -> Stored:
        """The stored products by id (None for a product not stored yet)."""
        if self.started is not None:
            return self.started.result()
        writer.wait_if_writing(self.ids)
        return _read_products(documents, self.ids)


def _read_products(documents: DocumentStore, ids: list[str]) -> Stored:
    found = documents.get_many(products.COLLECTION, ids)
    return {i: found.get(i) for i in ids}


def pages(
    rows: Iterator[ProductRow | RowProblem], counts: Counts, row_seen: Callable[[], None]
) -> Iterator[list[ProductRow]]:
    """Good rows in pages; problems counted and the first of them kept for the admin."""
    page: list[ProductRow] = []
    clock = time.perf_counter()
    for row in rows:
        counts.rows_seen += 1
        row_seen()
        if isinstance(row, RowProblem):
            counts.rejected += 1
            if len(counts.problems) < FIRST_PROBLEMS:
                counts.problems.append(row.to_dict())
            continue
        page.append(row)
        if len(page) == PAGE_ROWS:
            counts.seconds["parse"] += time.perf_counter() - clock
            yield page
            page = []
            clock = time.perf_counter()
    counts.seconds["parse"] += time.perf_counter() - clock
    if page:
        yield page
