"""Pages of an import in flight: each page's stored products read ahead while the page before
is categorized, and written on a background thread while the next is read.

The Google clients release the GIL while a request is on the wire, so the importing thread
reads and categorizes the next page meanwhile. After a page's commit, one query finds its
products that a photo decided after the page was read, and only their summaries are settled
again.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from catalogist import products
from catalogist.ports import DocumentStore, Write
from catalogist.vendorfiles import ProductRow


@dataclass
class Counts:
    rows_seen: int = 0
    written: int = 0
    unchanged: int = 0
    rejected: int = 0
    superseded: int = 0  # rows whose product a newer upload already wrote
    settled: int = 0  # summaries fixed after a photo decided the product between our read and write
    problems: list[dict[str, Any]] = field(default_factory=list)
    # parse, read and models on the importing thread; commit and settle on the writer thread,
    # overlapping them
    seconds: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(("parse", "read", "models", "commit", "settle"), 0.0)
    )


class PageWriter:
    """Writes one page at a time on a background thread; the next page waits for the last one.

    The Google clients release the GIL while a request is on the wire, so the importing thread
    reads and categorizes the next page meanwhile. An error in a write surfaces on the next
    `write` or at the end of the `with` block, and stops the import.
    """

    def __init__(self, documents: DocumentStore, counts: Counts, audit_rate: float) -> None:
        self._documents = documents
        self._counts = counts
        self._audit_rate = audit_rate
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

    def write(self, writes: list[Write], read_since: datetime) -> None:
        """Commit `writes`, computed from products read at or after the store time `read_since`."""
        self.wait()
        self._pending_ids = frozenset(w.document_id for w in writes)
        self._pending = self._pool.submit(self._write, writes, read_since)

    def _write(self, writes: list[Write], read_since: datetime) -> None:
        started = time.perf_counter()
        self._documents.commit(writes)
        committed = time.perf_counter()
        # Only a photo decided after our read can have left a summary stale; one query finds them.
        changed = self._documents.changed_since(products.COLLECTION, products.DECIDED_AT, read_since)
        racing = sorted(changed.intersection(w.document_id for w in writes))
        if racing:
            self._counts.settled += products.settle_summaries(self._documents, racing, self._audit_rate)
        settled = time.perf_counter()
        self._counts.seconds["commit"] += committed - started
        self._counts.seconds["settle"] += settled - committed


@dataclass
class PageRead:
    """A page's rows and the read of their stored products, started ahead when it is safe.

    The next page's products are read while this page is categorized, unless the two pages (or
    the page being written) share a SKU: then the read waits until that write has landed, so
    the later row is compared with what the earlier one wrote.
    """

    rows: list[ProductRow]
    ids: list[str]
    started: Future[tuple[datetime, dict[str, dict[str, Any]]]] | None

    @classmethod
    def start(
        cls,
        page: list[ProductRow],
        vendor: str,
        documents: DocumentStore,
        reader: ThreadPoolExecutor,
        writer: PageWriter,
        ahead: PageRead | None,
    ) -> PageRead:
        # A SKU twice in one page: the later row wins, as it does across pages.
        rows = list({row.sku: row for row in page}.values())
        ids = [products.product_id(vendor, row.sku) for row in rows]
        clash = writer.is_writing_any(ids) or (ahead is not None and not set(ahead.ids).isdisjoint(ids))
        started = None if clash else reader.submit(_read_products, documents, ids)
        return cls(rows, ids, started)

    def result(self, documents: DocumentStore, writer: PageWriter) -> tuple[datetime, dict[str, dict[str, Any]]]:
        """(the store's time before the read, the stored products by id)."""
        if self.started is not None:
            return self.started.result()
        writer.wait_if_writing(self.ids)
        return _read_products(documents, self.ids)


def _read_products(documents: DocumentStore, ids: list[str]) -> tuple[datetime, dict[str, dict[str, Any]]]:
    read_since = documents.server_time()
    return read_since, documents.get_many(products.COLLECTION, ids)
