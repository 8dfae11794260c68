"""The vendor-file path of `on_upload` (and of `catalogist import`): rows in, products out.

A price list is streamed row by row: each page of rows is categorized by its text, priced, and
written to `products/{vendor}:{sku}` in one batched commit, merged with what photos already set.
Pages overlap: one is written while the next is categorized and the one after is read
(`pages.py`). `imports/{import_id}` shows progress while it runs and, at the end, what was seen, written,
left unchanged and rejected (the first rejected rows with row number, field and reason), the
format, encoding and column mapping used, and timings. The vendor's mapping is remembered for
their next file. Re-running the same file version changes nothing; a new version rewrites only
the products whose row changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from catalogist import products
from catalogist.errors import PermanentError, Superseded
from catalogist.imports.pages import Counts, PageRead, PageWriter
from catalogist.intake.events import StorageObject
from catalogist.intake.ledger import upload_id
from catalogist.models.taxonomy import Decision
from catalogist.ports import BlobReader, DocumentStore, Write
from catalogist.vendorfiles import ColumnMapping, ProductRow, RowProblem, parse_vendor_file

if TYPE_CHECKING:  # the module pulls in SciPy; photos should not pay for it at cold start
    from catalogist.models.price_features import PriceInput

log = logging.getLogger("catalogist.imports")

IMPORTS = "imports"
VENDORS = "vendors"
PAGE_ROWS = 400  # rows per batched commit (Firestore allows 500 writes)
FIRST_PROBLEMS = 50  # rejected rows listed on the import document
PROGRESS_EVERY_PAGES = 5


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
    given). `still_current` is asked before each page is written; when it says no (a newer generation
    of the file was uploaded), the import stops with `Superseded` and leaves the rest to it.
    """
    now = now or datetime.now(UTC)
    started = time.perf_counter()
    existing = documents.get(IMPORTS, source.import_id)
    if existing and existing.get("status") == "done":
        log.info("file version already imported", extra={"import_id": source.import_id})
        return existing

    vendor_doc = documents.get(VENDORS, source.vendor) or {}
    known = vendor_doc.get("column_mapping")
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
            known_mapping=ColumnMapping.from_json(json.dumps(known)) if known else None,
        )
    except PermanentError as error:
        documents.commit(
            [
                Write(
                    IMPORTS,
                    source.import_id,
                    {**base, "status": "rejected", "reason": error.reason, "finished_at": datetime.now(UTC)},
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
                    "status": "running",
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
    try:
        _import_rows(parsed.rows, source, documents, models, now, counts, progress, still_current, audit_rate)
    except Superseded as superseded:
        update = {"status": "superseded", "reason": str(superseded), "finished_at": datetime.now(UTC)}
        documents.update(IMPORTS, source.import_id, {**update, "rows_seen": counts.rows_seen})
        raise

    duplicates = parsed.stats.duplicate_skus
    finished = datetime.now(UTC)
    summary = {
        **base,
        "status": "done",
        "format": parsed.format,
        "encoding": parsed.encoding,
        "columns": list(parsed.columns),
        "column_mapping": mapping,
        "rows_seen": counts.rows_seen,
        "written": counts.written,
        "unchanged": counts.unchanged,
        "superseded": counts.superseded,
        "rejected": counts.rejected,
        "first_rejected": counts.problems,
        "summaries_settled": counts.settled,
        "duplicate_skus": len(duplicates),
        "duplicates": [{"sku": sku, "rows": rows, "kept_row": rows[-1]} for sku, rows in list(duplicates.items())[:20]],
        "finished_at": finished,
        "seconds": {
            **{k: round(v, 3) for k, v in counts.seconds.items()},
            "write": round(counts.seconds["commit"] + counts.seconds["settle"], 3),
            "total": round(time.perf_counter() - started, 3),
        },
    }
    documents.commit(
        [
            Write(IMPORTS, source.import_id, summary, merge=False),
            Write(
                VENDORS,
                source.vendor,
                {"column_mapping": mapping, "mapping_from": source.name, "updated_at": finished},
            ),
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
    progress: Callable[[int], None] | None,
    still_current: Callable[[], bool] | None,
    audit_rate: float,
) -> None:
    with (
        PageWriter(documents, counts, audit_rate) as writer,
        ThreadPoolExecutor(1, thread_name_prefix="page-reader") as reader,
    ):
        ahead: PageRead | None = None  # the next page, its stored products already being read
        for page_number, page in enumerate(_pages(rows, counts), start=1):
            read = PageRead.start(page, source.vendor, documents, reader, writer, ahead)
            if ahead:
                _stop_if_superseded(still_current)
                _import_page(ahead, source, documents, models, now, counts, writer, audit_rate)
            ahead = read
            if progress:
                progress(counts.rows_seen)
            if page_number % PROGRESS_EVERY_PAGES == 0:
                documents.update(IMPORTS, source.import_id, {"rows_seen": counts.rows_seen, "written": counts.written})
        if ahead:
            _stop_if_superseded(still_current)
            _import_page(ahead, source, documents, models, now, counts, writer, audit_rate)


def _stop_if_superseded(still_current: Callable[[], bool] | None) -> None:
    if still_current is not None and not still_current():
        raise Superseded("a newer generation of this file was uploaded; the import stopped for it")


def _pages(rows: Iterator[ProductRow | RowProblem], counts: Counts) -> Iterator[list[ProductRow]]:
    """Good rows in pages; problems counted and the first of them kept for the admin."""
    page: list[ProductRow] = []
    clock = time.perf_counter()
    for row in rows:
        counts.rows_seen += 1
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
    read_since, current = page.result(documents, writer)
    changed = []
    for pid, row in zip(page.ids, page.rows, strict=True):
        stored = current.get(pid) or {}
        if from_newer_upload(stored, source):
            counts.superseded += 1
        elif stored.get("source_row_hash") == row_hash(row):
            counts.unchanged += 1
        else:
            changed.append((pid, row))
    counts.written += len(changed)
    counts.seconds["read"] += time.perf_counter() - clock
    if not changed:
        return

    clock = time.perf_counter()
    release = models.get()
    decisions = release.textcat.decide_many([(r.name, r.brand, r.vendor_category) for _, r in changed])
    suggestions = release.price.suggest(
        [
            price_input(row, decision, release.price.currency)
            for (_, row), decision in zip(changed, decisions, strict=True)
        ]
    )
    counts.seconds["models"] += time.perf_counter() - clock

    writes = []
    for (pid, row), decision, suggestion in zip(changed, decisions, suggestions, strict=True):
        fields = product_fields(row, source, decision, suggestion, release, now)
        fields.update(products.summary_fields({**(current.get(pid) or {}), **fields}, audit_rate))
        writes.append(Write(products.COLLECTION, pid, fields))
    writer.write(writes, read_since)


def from_newer_upload(product: dict[str, Any], source: FileSource) -> bool:
    """Whether the product's row fields came from an upload newer than `source` (Cloud Storage
    generations grow with time across objects): the newest price list wins, whatever order the
    events come in. Files imported from disk carry a content hash instead and are not ordered."""
    stored = str((product.get("source_file") or {}).get("generation", ""))
    return stored.isdigit() and source.generation.isdigit() and int(stored) > int(source.generation)


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
    from catalogist.photos.pipeline import decision_fields

    return {
        "vendor": source.vendor,
        "sku": row.sku,
        "name": row.name,
        "brand": row.brand,
        "vendor_category": row.vendor_category,
        "description": row.description,
        "image_link": row.image_link,
        "gtin": row.gtin,
        "vendor_price": None
        if row.vendor_price is None
        else {"amount": float(row.vendor_price), "currency": row.currency},
        "pack": {"count": row.pack_count, "quantity": row.pack_quantity, "unit": row.pack_unit},
        "attributes": dict(row.attributes),
        "row_notes": list(row.notes),
        "source_file": {
            "bucket": source.bucket,
            "name": source.name,
            "generation": source.generation,
            "row": row.row_number,
            "sheet": row.sheet,
        },
        "source_row_hash": row_hash(row),
        "text_category": decision_fields(decision, release.textcat.version, 0),
        "price": {
            "predicted": suggestion.price,
            "low": suggestion.low,
            "high": suggestion.high,
            "currency": release.price.currency,
            "mode": suggestion.mode,
            "model_version": release.price.version,
        },
        "model_versions": {"textcat": release.textcat.version, "price": release.price.version},
        "updated_at": now,
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
        stream = self._blobs.open_stream(obj.bucket, obj.name, obj.generation)
        with stream:
            summary = import_file(
                stream,
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
