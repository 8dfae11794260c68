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
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO, Protocol, cast

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
from catalogist.vendorfiles import ColumnMapping, ParsedFile, ProductRow, RowProblem, parse_vendor_file

__all__ = [
    "Counts",
    "FileFacts",
    "FilePipeline",
    "FileSource",
    "Import",
    "ImportContext",
    "RowModels",
    "SizedStream",
    "import_file",
]

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
    job: str = ""  # the batch job importing the file, when one does (`imports.jobs`), shown on the import


@dataclass(frozen=True)
class FileFacts:
    """What reading a file found besides its rows, as the import report shows it (complete once
    the rows are read: the duplicates are found as they stream)."""

    format: str
    encoding: str
    columns: tuple[str, ...]
    mapping: ColumnMapping
    duplicate_skus: dict[str, list[int]]

    @classmethod
    def of(cls, parsed: ParsedFile) -> FileFacts:
        return cls(parsed.format, parsed.encoding, parsed.columns, parsed.mapping, parsed.stats.duplicate_skus)

    def read_fields(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "encoding": self.encoding,
            "columns": list(self.columns),
            "column_mapping": json.loads(self.mapping.to_json()),
        }


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
    """One import of one file version in progress: its counts, its cadence, its pages.

    In the function it all runs in one process (`run`). An import job runs the same steps apart:
    one reader opens the file and reads its pages (`open`, `read_pages`), workers write them
    (`write_pages`, each with its own `Import` of the same file), and the counts added up end it
    (`finish`)."""

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
        self.base: dict[str, Any] = {
            "vendor": source.vendor,
            "object": {"bucket": source.bucket, "name": source.name, "generation": source.generation},
            "started_at": context.now,
        }
        if context.job:
            self.base["job"] = context.job

    @property
    def documents(self) -> DocumentStore:
        return self.context.documents

    def run(self, stream: BinaryIO, file_format: str) -> dict[str, Any]:
        started = time.perf_counter()
        parsed = self.open(stream, file_format)
        try:
            self._rows(parsed.rows)
            if isinstance(stream, SizedStream):
                stream.check_complete()
        except Superseded as superseded:
            self.stop(str(superseded))
            raise
        return self.finish(FileFacts.of(parsed), self.counts, time.perf_counter() - started)

    def announce(self, reason: str) -> None:
        """Show the import before its rows are read (a job not started yet), with why it waits."""
        waiting = {**self.base, "status": ImportStatus.RUNNING.value, "reason": reason, "rows_seen": 0, "written": 0}
        self.documents.commit([Write(IMPORTS, self.source.import_id, waiting, merge=False)])

    def open(self, stream: BinaryIO, file_format: str) -> ParsedFile:
        """The file opened for its rows (`BadFile` when it cannot be read), the import shown running."""
        parsed = self._parse(stream, file_format)
        running = {
            **self.base,
            **FileFacts.of(parsed).read_fields(),
            "status": ImportStatus.RUNNING.value,
            "rows_seen": 0,
            "written": 0,
        }
        if self.context.job:
            running["reason"] = f"imported by the batch job {self.context.job}"
        self.documents.commit([Write(IMPORTS, self.source.import_id, running, merge=False)])
        return parsed

    def read_pages(self, parsed: ParsedFile) -> Iterator[list[ProductRow]]:
        """The file's good rows in pages, its problems counted and its progress shown on the
        cadence, which also stops the import (`Superseded`) once a newer generation is uploaded."""
        return pages(parsed.rows, self.counts, self.cadence.row_seen)

    def write_pages(self, pages: Iterable[list[ProductRow]]) -> None:
        """Categorize, price and write pages one after another, each page's products read when its
        turn comes: a job's worker, handed pages of one file that other workers write at the same
        time (the newest upload, then the later row of a SKU, wins whatever the order:
        `rows.row_outcome`)."""
        with PageWriter(self.counts) as writer:
            for page in pages:
                self.cadence.stop_if_superseded()
                self._page(PageRead.start(page, self.source.vendor, self.documents, None, writer, None), writer)

    def stop(self, reason: str) -> None:
        """The import stopped for a newer generation of its file (with the rows it had seen, when
        this `Import` read them: a job's worker leaves the reader's count as it is)."""
        ended: dict[str, Any] = {
            "status": ImportStatus.SUPERSEDED.value,
            "reason": reason,
            "finished_at": datetime.now(UTC),
        }
        if self.counts.rows_seen:
            ended["rows_seen"] = self.counts.rows_seen
        self.documents.update(IMPORTS, self.source.import_id, ended)

    def finish(self, facts: FileFacts, counts: Counts, total_seconds: float) -> dict[str, Any]:
        """The import's report, and the vendor's mapping remembered for their next file."""
        summary = self._summary(facts, counts, total_seconds)
        vendor = vendors.Vendor(self.source.vendor, facts.mapping, self.source.name, summary["finished_at"])
        self.documents.commit([Write(IMPORTS, self.source.import_id, summary, merge=False), vendors.write(vendor)])
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

    def _summary(self, facts: FileFacts, counts: Counts, total_seconds: float) -> dict[str, Any]:
        duplicates = facts.duplicate_skus
        return {
            **self.base,
            **facts.read_fields(),
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
                "total": round(total_seconds, 3),
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
    """`on_upload`'s pipeline for vendor files (see `catalogist.intake.uploads.Pipeline`). With
    `jobs`, a file above their threshold is handed to a batch job (`imports.jobs`) instead."""

    def __init__(
        self,
        blobs: BlobReader,
        documents: DocumentStore,
        models: RowModelsSource,
        audit_rate: float = products.DEFAULT_AUDIT_RATE,
        jobs: ImportJobsLike | None = None,
    ) -> None:
        self._blobs = blobs
        self._documents = documents
        self._models = models
        self._audit_rate = audit_rate
        self._jobs = jobs

    def __call__(
        self, obj: StorageObject, file_format: str, now: datetime, still_current: Callable[[], bool]
    ) -> dict[str, Any]:
        source = FileSource(obj.bucket, obj.name, obj.generation, obj.vendor, obj.content_type)
        context = ImportContext(self._documents, self._models, now, self._audit_rate)
        if self._jobs is not None and self._jobs.takes(obj):
            raise self._jobs.hand_over(source, context, file_format, now)
        stream = SizedStream(self._blobs.open_stream(obj.bucket, obj.name, obj.generation), obj.size)
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


class ImportJobsLike(Protocol):
    """`imports.jobs.ImportJobs`, which imports this module."""

    def takes(self, obj: StorageObject) -> bool: ...

    def hand_over(self, source: FileSource, context: ImportContext, file_format: str, now: datetime) -> Exception: ...
