"""The vendor-file path of `on_upload` (and of `catalogist import`): rows in, products out.

A price list is streamed row by row: each page of rows is categorized by its text, priced, and
written to `products/{vendor}:{sku}` with `products.update`, merged with what photos already set.
The newest upload wins per product across all of a vendor's files (`rows.row_outcome`). Pages
overlap: one is written while the next is categorized and the one after is read (`pages.py`).
`imports/{import_id}` shows the rows seen while it runs (`progress.Cadence`) and, at the end,
what was seen, written, left unchanged and rejected (the first rejected rows with row number,
field and reason), the format, encoding and column mapping used, and timings. The vendor's
mapping is remembered for their next file. Re-running the same file version changes nothing; a
new version rewrites only the products whose row changed.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO, cast

from catalogist.documents import products, vendors
from catalogist.documents.imports import COLLECTION as IMPORTS
from catalogist.documents.imports import ImportStatus
from catalogist.errors import PermanentError, Superseded
from catalogist.imports.pages import Counts, PageRead, PageWriter, pages
from catalogist.imports.progress import Cadence, SizedStream
from catalogist.imports.rows import (
    FileSource,
    RowModels,
    RowModelsSource,
    RowOutcome,
    page_change,
    row_fields,
    row_outcome,
)
from catalogist.intake.events import StorageObject
from catalogist.ports import BlobReader, DocumentStore, ModifyConflict, Write
from catalogist.vendorfiles import ParsedFile, ProductRow, RowProblem, parse_vendor_file

__all__ = ["FilePipeline", "FileSource", "ImportContext", "RowModels", "import_file"]

log = logging.getLogger("catalogist.imports")

WRITE_ROUNDS = 5  # a page whose products keep changing under it is left to a redelivery


@dataclass(frozen=True)
class ImportContext:
    """What an import works with: the store, the row models in service, its clock and the
    audit sample's share."""

    documents: DocumentStore
    models: RowModelsSource
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    audit_rate: float = products.DEFAULT_AUDIT_RATE


def import_file(
    stream: BinaryIO,
    source: FileSource,
    context: ImportContext,
    *,
    file_format: str = "",
    progress: Callable[[int], None] | None = None,
    still_current: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Import one vendor file; the final import document. `BadFile` when the file is unreadable.

    `file_format` is the one the upload ledger decided (decided here the same way when not
    given). `still_current` is asked before each page is written and on the rows' cadence
    (`Cadence`); when it says no (a newer generation of the file was uploaded), the import
    stops with `Superseded` and leaves the rest to it.
    """
    existing = context.documents.get(IMPORTS, source.import_id)
    if existing and existing.get("status") == ImportStatus.DONE:
        log.info("file version already imported", extra={"import_id": source.import_id})
        return existing
    return Import(source, context, progress, still_current).run(stream, file_format)


class Import:
    """One import of one file version in progress: its counts, its cadence, its pages."""

    def __init__(
        self,
        source: FileSource,
        context: ImportContext,
        progress: Callable[[int], None] | None = None,
        still_current: Callable[[], bool] | None = None,
    ) -> None:
        self.source, self.context = source, context
        self.counts = Counts()
        self.cadence = Cadence(context.documents, source.import_id, self.counts, still_current, progress)
        self.base = {
            "vendor": source.vendor,
            "object": {"bucket": source.bucket, "name": source.name, "generation": source.generation},
            "started_at": context.now,
        }

    @property
    def documents(self) -> DocumentStore:
        return self.context.documents

    def run(self, stream: BinaryIO, file_format: str) -> dict[str, Any]:
        started = time.perf_counter()
        parsed = self._parse(stream, file_format)
        mapping = json.loads(parsed.mapping.to_json())
        read = {
            "format": parsed.format,
            "encoding": parsed.encoding,
            "columns": list(parsed.columns),
            "column_mapping": mapping,
        }
        running = {**self.base, **read, "status": ImportStatus.RUNNING.value, "rows_seen": 0, "written": 0}
        self.documents.commit([Write(IMPORTS, self.source.import_id, running, merge=False)])
        try:
            self._rows(parsed.rows)
            if isinstance(stream, SizedStream):
                stream.check_complete()
        except Superseded as superseded:
            ended = {
                "status": ImportStatus.SUPERSEDED.value,
                "reason": str(superseded),
                "finished_at": datetime.now(UTC),
            }
            self.documents.update(IMPORTS, self.source.import_id, {**ended, "rows_seen": self.counts.rows_seen})
            raise
        summary = self._summary(parsed, read, started)
        finished = summary["finished_at"]
        vendor = vendors.Vendor(self.source.vendor, parsed.mapping, self.source.name, finished)
        self.documents.commit([Write(IMPORTS, self.source.import_id, summary, merge=False), vendors.write(vendor)])
        counts = self.counts
        log.info(
            "file imported",
            extra={
                "import_id": self.source.import_id,
                "rows_seen": counts.rows_seen,
                "written": counts.written,
                "rejected": counts.rejected,
            },
        )
        return summary

    def _parse(self, stream: BinaryIO, file_format: str) -> ParsedFile:
        vendor = vendors.load(self.documents, self.source.vendor)
        try:
            return parse_vendor_file(
                stream,
                self.source.name,
                self.source.content_type,
                file_format=file_format,
                known_mapping=vendor.column_mapping if vendor else None,
            )
        except PermanentError as error:
            rejected = {"status": ImportStatus.REJECTED.value, "reason": error.reason, "finished_at": datetime.now(UTC)}
            self.documents.commit([Write(IMPORTS, self.source.import_id, {**self.base, **rejected})])
            raise

    def _summary(self, parsed: ParsedFile, read: dict[str, Any], started: float) -> dict[str, Any]:
        counts, duplicates = self.counts, parsed.stats.duplicate_skus
        return {
            **self.base,
            **read,
            "status": ImportStatus.DONE.value,
            "rows_seen": counts.rows_seen,
            "written": counts.written,
            "unchanged": counts.unchanged,
            "refreshed": counts.refreshed,
            "superseded": counts.superseded,
            "rejected": counts.rejected,
            "first_rejected": counts.problems,
            "duplicate_skus": len(duplicates),
            "duplicates": [
                {"sku": sku, "rows": rows, "kept_row": rows[-1]} for sku, rows in list(duplicates.items())[:20]
            ],
            "finished_at": datetime.now(UTC),
            "seconds": {
                **{k: round(v, 3) for k, v in counts.seconds.items()},
                "write": round(counts.seconds["commit"], 3),
                "total": round(time.perf_counter() - started, 3),
            },
        }

    def _rows(self, rows: Iterator[ProductRow | RowProblem]) -> None:
        with (
            PageWriter(self.counts) as writer,
            ThreadPoolExecutor(1, thread_name_prefix="page-reader") as reader,
        ):
            ahead: PageRead | None = None  # the next page, its stored products already being read
            for page in pages(rows, self.counts, self.cadence.row_seen):
                read = PageRead.start(page, self.source.vendor, self.documents, reader, writer, ahead)
                if ahead:
                    self.cadence.stop_if_superseded()
                    self._page(ahead, writer)
                ahead = read
            if ahead:
                self.cadence.stop_if_superseded()
                self._page(ahead, writer)

    def _page(self, page: PageRead, writer: PageWriter) -> None:
        counts = self.counts
        clock = time.perf_counter()
        stored = page.result(self.documents, writer)
        rows = dict(zip(page.ids, page.rows, strict=True))
        outcomes = {pid: row_outcome(stored[pid], row, self.source) for pid, row in rows.items()}
        counts.seconds["read"] += time.perf_counter() - clock
        to_write = [pid for pid, outcome in outcomes.items() if outcome in (RowOutcome.WRITTEN, RowOutcome.REFRESHED)]
        skipped = Counter(outcome for pid, outcome in outcomes.items() if pid not in to_write)
        counts.unchanged += skipped[RowOutcome.UNCHANGED]
        counts.superseded += skipped[RowOutcome.SUPERSEDED]
        if not to_write:
            return
        clock = time.perf_counter()
        changed = [rows[pid] for pid in to_write if outcomes[pid] is RowOutcome.WRITTEN]
        fields = row_fields(changed, self.source, self.context.models, self.context.now)
        counts.seconds["models"] += time.perf_counter() - clock
        writer.write(to_write, lambda: self._write_page({pid: rows[pid] for pid in to_write}, fields, stored))

    def _write_page(
        self,
        rows: dict[str, ProductRow],
        fields: dict[str, dict[str, Any]],
        stored: dict[str, dict[str, Any] | None],
    ) -> None:
        """Write the page's rows, each decided again against the product as it is when written:
        a product another upload changed since the page was read may now need a row that was not
        categorized (then it is, and written in another round) or none at all."""
        counts, source, now = self.counts, self.source, self.context.now
        known: dict[str, dict[str, Any] | None] | None = stored
        for _ in range(WRITE_ROUNDS):
            final: dict[str, RowOutcome] = {}
            needs_models: set[str] = set()
            change = page_change(rows, fields, source, now, final, needs_models)
            by = f"import of {source.name}"
            products.update(self.documents, list(rows), change, by, now, self.context.audit_rate, known)
            tally = Counter(outcome for pid, outcome in final.items() if pid not in needs_models)
            counts.written += tally[RowOutcome.WRITTEN]
            counts.unchanged += tally[RowOutcome.UNCHANGED] + tally[RowOutcome.REFRESHED]
            counts.refreshed += tally[RowOutcome.REFRESHED]
            counts.superseded += tally[RowOutcome.SUPERSEDED]
            if not needs_models:
                return
            rows = {pid: rows[pid] for pid in needs_models}
            fields = row_fields(list(rows.values()), source, self.context.models, now)
            known = None
        raise ModifyConflict(f"{len(rows)} products of {source.name} kept changing while the import wrote them")


class FilePipeline:
    """`on_upload`'s pipeline for vendor files (see `catalogist.intake.uploads.Pipeline`)."""

    def __init__(
        self,
        blobs: BlobReader,
        documents: DocumentStore,
        models: RowModelsSource,
        audit_rate: float = products.DEFAULT_AUDIT_RATE,
    ) -> None:
        self._blobs = blobs
        self._documents = documents
        self._models = models
        self._audit_rate = audit_rate

    def __call__(
        self, obj: StorageObject, file_format: str, now: datetime, still_current: Callable[[], bool]
    ) -> dict[str, Any]:
        source = FileSource(obj.bucket, obj.name, obj.generation, obj.vendor, obj.content_type)
        stream = SizedStream(self._blobs.open_stream(obj.bucket, obj.name, obj.generation), obj.size)
        context = ImportContext(self._documents, self._models, now, self._audit_rate)
        with stream:
            summary = import_file(
                cast(BinaryIO, stream), source, context, file_format=file_format, still_current=still_current
            )
        return {
            "import_id": source.import_id,
            "rows_seen": summary["rows_seen"],
            "rows_written": summary["written"],
            "rows_rejected": summary["rejected"],
        }
