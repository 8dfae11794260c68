"""The one entry point: a vendor file's bytes in, a stream of products and row problems out.

    parsed = parse_vendor_file(stream, "acme/prices.csv", "text/csv", known_mapping=saved)
    for result in parsed.rows:             # ProductRow or RowProblem, in file order
        ...
    parsed.stats.duplicate_skus            # filled as rows are read; complete after the loop

File-level faults found while opening (empty, binary, zip bomb, XML entities, no header, no
rows) raise `BadFile` from this call. A file that breaks later (XML cut short at item 5,000)
yields its good rows, then one `RowProblem` with field `(file)` saying where reading stopped.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from itertools import chain, islice
from typing import IO, BinaryIO, cast

import numpy as np

from catalogist.errors import BadFile
from catalogist.vendorfiles.delimited import read_delimited, sniff_delimiter
from catalogist.vendorfiles.encoding import check_text_sample, detect_encoding
from catalogist.vendorfiles.formats import HEAD_BYTES, Kind, detect_kind
from catalogist.vendorfiles.jsonfeed import read_json, read_json_lines
from catalogist.vendorfiles.limits import DEFAULT_LIMITS, Limits
from catalogist.vendorfiles.mapping import ColumnMapping, guess_mapping
from catalogist.vendorfiles.normalize import RowNormalizer
from catalogist.vendorfiles.rows import ProductRow, RowProblem, RowResult, SourceRow
from catalogist.vendorfiles.streams import ReplayStream, TextLines, read_sample
from catalogist.vendorfiles.tabular import named_rows
from catalogist.vendorfiles.xlsx import check_zip, read_workbook, seekable_copy
from catalogist.vendorfiles.xmlfeed import read_xml

_KEYS_SAMPLE = 50  # JSON/XML items whose field names decide the mapping
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding=["']([\w.-]+)["']""")


@dataclass
class ParseStats:
    """What is learnt while `ParsedFile.rows` is consumed."""

    # SKU → row numbers where it appeared again, the first few and always the last, the one that
    # wins (a file repeating one SKU a million times would otherwise list a million rows)
    duplicate_skus: dict[str, list[int]] = field(default_factory=dict)


ROWS_LISTED_PER_DUPLICATE = 10


@dataclass(frozen=True)
class ParsedFile:
    object_name: str
    format: str  # csv, tsv, xlsx, json, jsonl, xml
    encoding: str  # codec name; "" for xlsx (a zip of UTF-8 XML)
    mapping: ColumnMapping
    columns: tuple[str, ...]  # the vendor's column names as found
    rows: Iterator[RowResult]  # single pass, streaming
    stats: ParseStats


def parse_vendor_file(
    stream: BinaryIO,
    object_name: str,
    content_type: str = "",
    *,
    file_format: str = "",
    known_mapping: ColumnMapping | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ParsedFile:
    """`file_format` is what the upload ledger decided (`intake.formats`); without it the same
    function decides here, from the same first bytes."""
    sample = read_sample(stream, max(limits.sniff_bytes, HEAD_BYTES))
    if not sample.strip():
        raise BadFile(f"{object_name} is empty")
    file_format = file_format or _decided_format(sample[:HEAD_BYTES], object_name, content_type)
    replay = cast(BinaryIO, ReplayStream(sample, stream))  # a RawIOBase: read, readinto, close
    at_eof = len(sample) < limits.sniff_bytes
    encoding, text_sample = "", ""
    if file_format != "xlsx" and not _XML_ENCODING.match(sample):
        encoding = detect_encoding(sample, object_name, at_eof)
        text_sample = sample.decode(encoding, errors="ignore")
        check_text_sample(text_sample, object_name)
    elif file_format != "xlsx":
        text_sample = sample.decode("latin-1")

    if file_format == "xlsx":
        if stream.seekable():
            stream.seek(0)
            return _xlsx(stream, object_name, known_mapping, limits)
        spool = seekable_copy(replay)
        try:
            parsed = _xlsx(spool, object_name, known_mapping, limits)
        except BaseException:
            spool.close()
            raise
        return replace(parsed, rows=_closing(parsed.rows, spool))
    if file_format == "xml":
        declared = _XML_ENCODING.match(sample)
        encoding = declared.group(1).decode().lower() if declared else "utf-8"
        rows = read_xml(replay, limits, object_name)
        return _finish_keyed(object_name, file_format, encoding, rows, known_mapping, limits)
    if file_format == "json":
        rows = read_json(replay, encoding, limits, object_name)
        return _finish_keyed(object_name, file_format, encoding, rows, known_mapping, limits)
    lines = TextLines(replay, encoding, limits.max_line_bytes, limits.chunk_bytes)
    if file_format == "jsonl":
        rows = read_json_lines(lines, limits)
        return _finish_keyed(object_name, file_format, encoding, rows, known_mapping, limits)
    # A .csv separated by tabs (or semicolons) stays the format it was decided to be; the
    # delimiter is the reader's own finding.
    delimiter = sniff_delimiter(text_sample, prefer_tab=file_format == "tsv")
    headers, source_rows = named_rows(read_delimited(lines, delimiter, limits), limits, object_name, known_mapping)
    return _finish(object_name, file_format, encoding, headers, source_rows, known_mapping, limits)


def _decided_format(head: bytes, object_name: str, content_type: str) -> str:
    verdict = detect_kind(object_name, content_type, head)
    if verdict.kind is Kind.PHOTO:
        raise BadFile(f"{object_name} is a {verdict.format.upper()} image, not a price list")
    if verdict.kind is Kind.UNSUPPORTED:
        raise BadFile(f"{object_name}: {verdict.reason}")
    return verdict.format


def _xlsx(source: IO[bytes], object_name: str, known: ColumnMapping | None, limits: Limits) -> ParsedFile:
    last_rows = check_zip(source, object_name, limits)
    headers, source_rows = read_workbook(source, object_name, limits, last_rows, known)
    return _finish(object_name, "xlsx", "", headers, source_rows, known, limits)


def _closing(rows: Iterator[RowResult], resource: IO[bytes]) -> Iterator[RowResult]:
    """The spooled copy of an unseekable upload lives exactly as long as its rows."""
    try:
        yield from rows
    finally:
        resource.close()


def _finish_keyed(
    object_name: str,
    file_format: str,
    encoding: str,
    rows: Iterator[SourceRow | RowProblem],
    known: ColumnMapping | None,
    limits: Limits,
) -> ParsedFile:
    """JSON and XML name fields per item: the mapping comes from the first items' keys."""
    rows = _stop_softly(rows)
    head = list(islice(rows, _KEYS_SAMPLE))
    keys: dict[str, None] = {}
    for item in head:
        if isinstance(item, SourceRow):
            keys.update(dict.fromkeys(item.cells))
    if not head:
        raise BadFile(f"{object_name} has no products in it")
    if not keys:
        raise BadFile(head[0].reason if isinstance(head[0], RowProblem) else f"{object_name} has no product fields")
    return _finish(object_name, file_format, encoding, list(keys), chain(head, rows), known, limits)


def _finish(
    object_name: str,
    file_format: str,
    encoding: str,
    headers: list[str],
    source_rows: Iterator[SourceRow | RowProblem],
    known: ColumnMapping | None,
    limits: Limits,
) -> ParsedFile:
    mapping = known if known is not None and known.fits(headers) else guess_mapping(headers)
    if not mapping.name:
        raise BadFile(
            f"{object_name}: no column holds the product name; the columns are "
            f"{_list(headers)} (expected e.g. Name, Title, Bezeichnung, Nom, Nombre, "
            "Наименование, Назва)"
        )
    if not (mapping.sku or mapping.gtin):
        raise BadFile(
            f"{object_name}: no column holds the SKU or a barcode; the columns are "
            f"{_list(headers)} (expected e.g. SKU, ID, Artikelnummer, Référence, "
            "Артикул, EAN)"
        )
    stats = ParseStats()
    results = _results(source_rows, RowNormalizer(mapping, limits), stats)
    try:
        first = next(results)
    except StopIteration:
        raise BadFile(f"{object_name} has a header row but no product rows") from None
    return ParsedFile(object_name, file_format, encoding, mapping, tuple(headers), chain([first], results), stats)


def _stop_softly(rows: Iterator[SourceRow | RowProblem]) -> Iterator[SourceRow | RowProblem]:
    """A file that breaks after good rows keeps them; the break becomes the last problem."""
    last_row = 0
    try:
        for item in rows:
            last_row = item.row_number
            yield item
    except BadFile as error:
        if last_row == 0:
            raise
        yield RowProblem(last_row + 1, "(file)", f"reading stopped here: {error.reason}")


def _results(
    source_rows: Iterator[SourceRow | RowProblem], normalize: RowNormalizer, stats: ParseStats
) -> Iterator[RowResult]:
    seen = SeenKeys()
    for position, item in enumerate(_stop_softly(source_rows), start=1):
        result = normalize(item, position) if isinstance(item, SourceRow) else item
        if isinstance(result, ProductRow) and seen.add(hash(result.sku)):
            again = stats.duplicate_skus.setdefault(result.sku, [])
            if len(again) < ROWS_LISTED_PER_DUPLICATE:
                again.append(result.row_number)
            else:
                again[-1] = result.row_number
        yield result


class SeenKeys:
    """A set of 64-bit keys (SKU hashes) in 8 bytes each: a Python set of a million costs 76 MB.

    New keys gather in a small set and are merged into one sorted array every `batch` keys, so
    a lookup is a set probe plus one binary search.
    """

    def __init__(self, batch: int = 16_384) -> None:
        self._sorted = np.empty(0, np.int64)
        self._recent: set[int] = set()
        self._batch = batch

    def add(self, key: int) -> bool:
        """Add `key`; whether it was there already."""
        if key in self._recent:
            return True
        at = int(np.searchsorted(self._sorted, key))
        if at < len(self._sorted) and self._sorted[at] == key:
            return True
        self._recent.add(key)
        if len(self._recent) >= self._batch:
            recent = np.sort(np.fromiter(self._recent, np.int64, len(self._recent)))
            # a merge of two sorted arrays with no key in both: one copy, no sort of the whole
            self._sorted = np.insert(self._sorted, np.searchsorted(self._sorted, recent), recent)
            self._recent.clear()
        return False

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)


def _list(headers: list[str]) -> str:
    shown = ", ".join(f"'{h}'" for h in headers[:12])
    return shown + (f" and {len(headers) - 12} more" if len(headers) > 12 else "")
