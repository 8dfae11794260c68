"""The vendor-file path of `on_upload` (and of `catalogist import`): rows in, products out.

A price list is streamed row by row: each page of rows is categorized by its text, priced, and
written to `products/{vendor}:{sku}` with `products.update`, merged with what photos already set.
The newest upload wins per product across all of a vendor's files (`row_outcome`).
Pages overlap: one is written while the next is categorized and the one after is read
(`pages.py`). `imports/{import_id}` shows the rows seen while it runs (`Cadence`) and, at the
end, what was seen, written, left unchanged and rejected (the first rejected rows with row
number, field and reason), the format, encoding and column mapping used, and timings. The
vendor's mapping is remembered for their next file. Re-running the same file version changes
nothing; a new version rewrites only the products whose row changed.
"""

from __future__ import annotations

import enum
import hashlib
import io
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, cast

from catalogist.documents import imports as imports_documents
from catalogist.documents import products, vendors
from catalogist.documents.imports import ImportStatus
from catalogist.documents.products import SourceFile
from catalogist.documents.values import CategoryDecision, Money, ObjectVersion, PriceSuggestion
from catalogist.errors import PermanentError, ShortRead, Superseded
from catalogist.imports.pages import Counts, PageRead, PageWriter
from catalogist.intake.events import StorageObject, is_newer
from catalogist.intake.ledger import upload_id
from catalogist.models.taxonomy import Decision
from catalogist.ports import BlobReader, DocumentStore, ModifyConflict, Write
from catalogist.vendorfiles import ProductRow, RowProblem, parse_vendor_file

if TYPE_CHECKING:  # the module pulls in SciPy; photos should not pay for it at cold start
    from catalogist.models.price_features import PriceInput

log = logging.getLogger("catalogist.imports")

IMPORTS = imports_documents.COLLECTION
PAGE_ROWS = 400  # rows per batched commit (Firestore allows 500 writes)
FIRST_PROBLEMS = 50  # rejected rows listed on the import document
# The import document's progress and the check for a newer generation, whichever comes first.
CHECK_EVERY_ROWS = 20_000
CHECK_EVERY_SECONDS = 5.0
WRITE_ROUNDS = 5  # a page whose products keep changing under it is left to a redelivery


class TextCategorizer(Protocol):
    @property
    def version(self) -> str: ...

    def decide_many(self, texts: list[tuple[str, str, str]]) -> list[Decision]: ...


class PriceModel(Protocol):
    @property
    def version(self) -> str: ...

    @property
    def currency(self) -> str: ...

    def suggest(self, rows: list[PriceInput]) -> list[Any]: ...


@dataclass(frozen=True)
class RowModels:
    """The text categorizer and price model of the releases in service."""

    textcat: TextCategorizer
    price: PriceModel


class RowModelsSource(Protocol):
    def get(self) -> RowModels: ...


@dataclass(frozen=True)
class FileSource:
    """Where the rows come from: an object version, or a local file named by its content hash."""

    bucket: str
    name: str
    generation: str
    vendor: str
    content_type: str = ""

    @property
    def import_id(self) -> str:
        """The upload's own id: `imports/{id}` reports on `uploads/{id}`."""
        return upload_id(self.bucket, self.name, self.generation)


def import_file(
    stream: BinaryIO,
    source: FileSource,
    documents: DocumentStore,
    models: RowModelsSource,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    still_current: Callable[[], bool] | None = None,
    file_format: str = "",
    audit_rate: float = products.DEFAULT_AUDIT_RATE,
) -> dict[str, Any]:
    """Import one vendor file; the final import document. `BadFile` when the file is unreadable.

    `file_format` is the one the upload ledger decided (decided here the same way when not
    given). `still_current` is asked before each page is written and on the rows' cadence
    (`Cadence`); when it says no (a newer generation of the file was uploaded), the import
    stops with `Superseded` and leaves the rest to it.
    """
    now = now or datetime.now(UTC)
    started = time.perf_counter()
    existing = documents.get(IMPORTS, source.import_id)
    if existing and existing.get("status") == ImportStatus.DONE:
        log.info("file version already imported", extra={"import_id": source.import_id})
        return existing

    vendor = vendors.load(documents, source.vendor)
    base = {
        "vendor": source.vendor,
        "object": {"bucket": source.bucket, "name": source.name, "generation": source.generation},
        "started_at": now,
    }
    try:
        parsed = parse_vendor_file(
            stream,
            source.name,
            source.content_type,
            file_format=file_format,
            known_mapping=vendor.column_mapping if vendor else None,
        )
    except PermanentError as error:
        documents.commit(
            [
                Write(
                    IMPORTS,
                    source.import_id,
                    {
                        **base,
                        "status": ImportStatus.REJECTED.value,
                        "reason": error.reason,
                        "finished_at": datetime.now(UTC),
                    },
                )
            ]
        )
        raise
    mapping = json.loads(parsed.mapping.to_json())
    documents.commit(
        [
            Write(
                IMPORTS,
                source.import_id,
                {
                    **base,
                    "status": ImportStatus.RUNNING.value,
                    "format": parsed.format,
                    "encoding": parsed.encoding,
                    "columns": list(parsed.columns),
                    "column_mapping": mapping,
                    "rows_seen": 0,
                    "written": 0,
                },
                merge=False,
            )
        ]
    )

    counts = Counts()
    cadence = Cadence(documents, source.import_id, counts, still_current, progress)
    try:
        _import_rows(parsed.rows, source, documents, models, now, counts, cadence, audit_rate)
        if isinstance(stream, SizedStream):
            stream.check_complete()
    except Superseded as superseded:
        update = {"status": ImportStatus.SUPERSEDED.value, "reason": str(superseded), "finished_at": datetime.now(UTC)}
        documents.update(IMPORTS, source.import_id, {**update, "rows_seen": counts.rows_seen})
        raise

    duplicates = parsed.stats.duplicate_skus
    finished = datetime.now(UTC)
    summary = {
        **base,
        "status": ImportStatus.DONE.value,
        "format": parsed.format,
        "encoding": parsed.encoding,
        "columns": list(parsed.columns),
        "column_mapping": mapping,
        "rows_seen": counts.rows_seen,
        "written": counts.written,
        "unchanged": counts.unchanged,
        "refreshed": counts.refreshed,
        "superseded": counts.superseded,
        "rejected": counts.rejected,
        "first_rejected": counts.problems,
        "duplicate_skus": len(duplicates),
        "duplicates": [{"sku": sku, "rows": rows, "kept_row": rows[-1]} for sku, rows in list(duplicates.items())[:20]],
        "finished_at": finished,
        "seconds": {
            **{k: round(v, 3) for k, v in counts.seconds.items()},
            "write": round(counts.seconds["commit"], 3),
            "total": round(time.perf_counter() - started, 3),
        },
    }
    documents.commit(
        [
            Write(IMPORTS, source.import_id, summary, merge=False),
            vendors.write(vendors.Vendor(source.vendor, parsed.mapping, source.name, finished)),
        ]
    )
    log.info(
        "file imported",
        extra={
            "import_id": source.import_id,
            "rows_seen": counts.rows_seen,
            "written": counts.written,
            "rejected": counts.rejected,
        },
    )
    return summary


def _import_rows(
    rows: Iterator[ProductRow | RowProblem],
    source: FileSource,
    documents: DocumentStore,
    models: RowModelsSource,
    now: datetime,
    counts: Counts,
    cadence: Cadence,
    audit_rate: float,
) -> None:
    with (
        PageWriter(counts) as writer,
        ThreadPoolExecutor(1, thread_name_prefix="page-reader") as reader,
    ):
        ahead: PageRead | None = None  # the next page, its stored products already being read
        for page in _pages(rows, counts, cadence):
            read = PageRead.start(page, source.vendor, documents, reader, writer, ahead)
            if ahead:
                cadence.stop_if_superseded()
                _import_page(ahead, source, documents, models, now, counts, writer, audit_rate)
            ahead = read
        if ahead:
            cadence.stop_if_superseded()
            _import_page(ahead, source, documents, models, now, counts, writer, audit_rate)


class Cadence:
    """Every `every_rows` rows or `every_seconds` seconds, whichever comes first, whatever the
    rows' fate: the import document shows the rows seen so far, and the import stops if a newer
    generation of its file was uploaded. A file whose rows are all rejected is still watched."""

    def __init__(
        self,
        documents: DocumentStore,
        import_id: str,
        counts: Counts,
        still_current: Callable[[], bool] | None,
        progress: Callable[[int], None] | None,
        every_rows: int = CHECK_EVERY_ROWS,
        every_seconds: float = CHECK_EVERY_SECONDS,
    ) -> None:
        self._documents, self._import_id, self._counts = documents, import_id, counts
        self._still_current, self._progress = still_current, progress
        self._every_rows, self._every_seconds = every_rows, every_seconds
        self._next_rows = every_rows
        self._next_time = time.monotonic() + every_seconds

    def row_seen(self) -> None:
        if self._counts.rows_seen >= self._next_rows or time.monotonic() >= self._next_time:
            self._next_rows = self._counts.rows_seen + self._every_rows
            self._next_time = time.monotonic() + self._every_seconds
            if self._progress:
                self._progress(self._counts.rows_seen)
            self._documents.update(
                IMPORTS,
                self._import_id,
                {
                    "rows_seen": self._counts.rows_seen,
                    "rejected": self._counts.rejected,
                    "written": self._counts.written,
                },
            )
            self.stop_if_superseded()

    def stop_if_superseded(self) -> None:
        if self._still_current is not None and not self._still_current():
            raise Superseded("a newer generation of this file was uploaded; the import stopped for it")


def _pages(rows: Iterator[ProductRow | RowProblem], counts: Counts, cadence: Cadence) -> Iterator[list[ProductRow]]:
    """Good rows in pages; problems counted and the first of them kept for the admin."""
    page: list[ProductRow] = []
    clock = time.perf_counter()
    for row in rows:
        counts.rows_seen += 1
        cadence.row_seen()
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


class RowOutcome(enum.StrEnum):
    WRITTEN = "written"  # the row differs from what the product holds: categorized, priced, written
    UNCHANGED = "unchanged"  # the product holds this row from this upload or a newer one
    REFRESHED = "refreshed"  # the product holds this row from an older upload: now traced to this one
    SUPERSEDED = "superseded"  # a newer upload wrote the product: this row is older news


def row_outcome(stored: dict[str, Any] | None, row: ProductRow, source: FileSource) -> RowOutcome:
    """What a row of `source` means for the product as stored: the newest upload wins, across
    every file of the vendor, whatever order the events come in."""
    stored = stored or {}
    if from_newer_upload(stored, source):
        return RowOutcome.SUPERSEDED
    if stored.get("source_row_hash") != row_hash(row):
        return RowOutcome.WRITTEN
    stored_generation = str((stored.get("source_file") or {}).get("generation", ""))
    return RowOutcome.REFRESHED if is_newer(source.generation, stored_generation) else RowOutcome.UNCHANGED


def _import_page(
    page: PageRead,
    source: FileSource,
    documents: DocumentStore,
    models: RowModelsSource,
    now: datetime,
    counts: Counts,
    writer: PageWriter,
    audit_rate: float,
) -> None:
    clock = time.perf_counter()
    stored = page.result(documents, writer)
    rows = dict(zip(page.ids, page.rows, strict=True))
    outcomes = {pid: row_outcome(stored[pid], row, source) for pid, row in rows.items()}
    counts.seconds["read"] += time.perf_counter() - clock
    to_write = [pid for pid, outcome in outcomes.items() if outcome in (RowOutcome.WRITTEN, RowOutcome.REFRESHED)]
    skipped = Counter(outcome for pid, outcome in outcomes.items() if pid not in to_write)
    counts.unchanged += skipped[RowOutcome.UNCHANGED]
    counts.superseded += skipped[RowOutcome.SUPERSEDED]
    if not to_write:
        return
    clock = time.perf_counter()
    fields = _row_fields([rows[pid] for pid in to_write if outcomes[pid] is RowOutcome.WRITTEN], source, models, now)
    counts.seconds["models"] += time.perf_counter() - clock
    writer.write(
        to_write,
        lambda: _write_page(
            {pid: rows[pid] for pid in to_write}, fields, stored, source, documents, models, now, counts, audit_rate
        ),
    )


def _row_fields(
    rows: list[ProductRow], source: FileSource, models: RowModelsSource, now: datetime
) -> dict[str, dict[str, Any]]:
    """The product fields of each row, categorized and priced, by product id."""
    if not rows:
        return {}
    release = models.get()
    decisions = release.textcat.decide_many([(r.name, r.brand, r.vendor_category) for r in rows])
    suggestions = release.price.suggest(
        [price_input(row, decision, release.price.currency) for row, decision in zip(rows, decisions, strict=True)]
    )
    return {
        products.product_id(source.vendor, row.sku): product_fields(row, source, decision, suggestion, release, now)
        for row, decision, suggestion in zip(rows, decisions, suggestions, strict=True)
    }


def _write_page(
    rows: dict[str, ProductRow],
    fields: dict[str, dict[str, Any]],
    stored: dict[str, dict[str, Any] | None],
    source: FileSource,
    documents: DocumentStore,
    models: RowModelsSource,
    now: datetime,
    counts: Counts,
    audit_rate: float,
) -> None:
    """Write the page's rows, each decided again against the product as it is when written: a
    product another upload changed since the page was read may now need a row that was not
    categorized (then it is, and written in another round) or none at all."""
    known: dict[str, dict[str, Any] | None] | None = stored
    for _ in range(WRITE_ROUNDS):
        final: dict[str, RowOutcome] = {}
        needs_models: set[str] = set()
        change = _page_change(rows, fields, source, now, final, needs_models)
        products.update(documents, list(rows), change, f"import of {source.name}", now, audit_rate, known)
        tally = Counter(outcome for pid, outcome in final.items() if pid not in needs_models)
        counts.written += tally[RowOutcome.WRITTEN]
        counts.unchanged += tally[RowOutcome.UNCHANGED] + tally[RowOutcome.REFRESHED]
        counts.refreshed += tally[RowOutcome.REFRESHED]
        counts.superseded += tally[RowOutcome.SUPERSEDED]
        if not needs_models:
            return
        rows = {pid: rows[pid] for pid in needs_models}
        fields = _row_fields(list(rows.values()), source, models, now)
        known = None
    raise ModifyConflict(f"{len(rows)} products of {source.name} kept changing while the import wrote them")


def from_newer_upload(product: dict[str, Any], source: FileSource) -> bool:
    """Whether the product's row fields came from an upload newer than `source`: the newest
    price list wins, whatever order the events come in (`is_newer`)."""
    return is_newer(str((product.get("source_file") or {}).get("generation", "")), source.generation)


def source_file(row: ProductRow, source: FileSource) -> dict[str, Any]:
    return SourceFile(
        ObjectVersion(source.bucket, source.name, source.generation), row.row_number, row.sheet
    ).to_fields()


def row_hash(row: ProductRow) -> str:
    """What the vendor said of the product; equal hashes mean nothing to rewrite."""
    described = {k: v for k, v in row.to_dict().items() if k not in ("row", "sheet")}
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()[:24]


def price_input(row: ProductRow, decision: Decision, currency: str) -> PriceInput:
    from catalogist.models.price_features import PriceInput

    # The price model learnt shop prices in one currency; a list price in another is no evidence.
    list_price = float(row.vendor_price) if row.vendor_price and row.currency in ("", currency) else None
    return PriceInput(
        row.name,
        row.brand,
        decision.category_path,
        row.pack_quantity,
        row.pack_unit,
        row.pack_count,
        list_price,
    )


def product_fields(
    row: ProductRow,
    source: FileSource,
    decision: Decision,
    suggestion: Any,
    release: RowModels,
    now: datetime,
) -> dict[str, Any]:
    vendor_price = None if row.vendor_price is None else Money(float(row.vendor_price), row.currency)
    price = PriceSuggestion(
        suggestion.price,
        suggestion.low,
        suggestion.high,
        release.price.currency,
        suggestion.mode,
        release.price.version,
    )
    return {
        products.VENDOR: source.vendor,
        "sku": row.sku,
        "name": row.name,
        "brand": row.brand,
        "vendor_category": row.vendor_category,
        "description": row.description,
        "image_link": row.image_link,
        "gtin": row.gtin,
        "vendor_price": vendor_price.to_fields() if vendor_price else None,
        "pack": {"count": row.pack_count, "quantity": row.pack_quantity, "unit": row.pack_unit},
        "attributes": dict(row.attributes),
        "row_notes": list(row.notes),
        "source_file": source_file(row, source),
        "source_row_hash": row_hash(row),
        products.TEXT_CATEGORY: CategoryDecision.from_decision(decision, release.textcat.version).to_fields(),
        products.PRICE: price.to_fields(),
        "model_versions": {"textcat": release.textcat.version, "price": release.price.version},
        products.UPDATED_AT: now,
    }


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
        with stream:
            summary = import_file(
                cast(BinaryIO, stream),
                source,
                self._documents,
                self._models,
                now,
                still_current=still_current,
                file_format=file_format,
                audit_rate=self._audit_rate,
            )
        return {
            "import_id": source.import_id,
            "rows_seen": summary["rows_seen"],
            "rows_written": summary["written"],
            "rows_rejected": summary["rejected"],
        }


def _page_change(
    rows: dict[str, ProductRow],
    fields: dict[str, dict[str, Any]],
    source: FileSource,
    now: datetime,
    final: dict[str, RowOutcome],
    needs_models: set[str],
) -> products.SourceChange:
    """What a page's row changes of its product, decided on the product as it is when written;
    each row's outcome lands in `final`, and a row that needs categorizing after all (another
    upload changed its product since the page was read) in `needs_models`."""

    def change(pid: str, current: dict[str, Any] | None) -> dict[str, Any] | None:
        outcome = final[pid] = row_outcome(current, rows[pid], source)
        needs_models.discard(pid)  # decided again when another writer won the race
        if outcome is RowOutcome.REFRESHED:
            return {"source_file": source_file(rows[pid], source), "updated_at": now}
        if outcome is RowOutcome.WRITTEN and pid not in fields:
            needs_models.add(pid)
            return None
        return fields[pid] if outcome is RowOutcome.WRITTEN else None

    return change


class SizedStream(io.RawIOBase):
    """The object's bytes, counted: a stream that ends before the size the event announced was
    cut short (a dropped connection), and the import must not end `done` on part of the file.
    Checked once the rows are read (`check_complete`), so the readers see an ordinary stream."""

    def __init__(self, inner: BinaryIO, size: int) -> None:
        super().__init__()
        self._inner, self.size = inner, size
        self._position = 0
        self.ended_at: int | None = None  # where a read first found the end

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._inner.seekable()

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        if not data and len(buffer) and self.ended_at is None:
            self.ended_at = self._position
        self._position += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._position = self._inner.seek(offset, whence)
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        self._inner.close()
        super().close()

    def check_complete(self) -> None:
        if self.ended_at is not None and self.ended_at < self.size:
            raise ShortRead(
                f"the file ended after {self.ended_at:,} of its {self.size:,} bytes (the read was cut short); "
                "the import is tried again"
            )
