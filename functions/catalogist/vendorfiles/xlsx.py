"""Excel .xlsx, read row by row (openpyxl read-only), every sheet that has a product header.

An .xlsx is a zip of XML files, so before openpyxl sees it we read the zip directory and refuse
archives that would inflate past our limits. The declared sizes can be trusted for this:
Python's zipfile stops each member at its declared size and then fails the CRC check. Then every
part is inflated once and checked (`xlsxparts`). A sheet that breaks while its rows are read
(cut short, or a part openpyxl chokes on) raises `BadFile`, so the rows before it are kept.
"""

import datetime as dt
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from typing import IO, Any, BinaryIO

from catalogist.errors import BadFile
from catalogist.vendorfiles.delimited import TableLine
from catalogist.vendorfiles.limits import Limits
from catalogist.vendorfiles.mapping import ColumnMapping
from catalogist.vendorfiles.rows import RowProblem, SourceRow
from catalogist.vendorfiles.tabular import NoHeader, named_rows
from catalogist.vendorfiles.xlsxparts import ZIP_ERRORS, check_parts

_BIG_MEMBER = 1_000_000  # below this a high ratio is just a repetitive small XML file


def seekable_copy(stream: BinaryIO) -> IO[bytes]:
    """zip needs random access; Storage streams have none, so spill to a temp file."""
    spool = tempfile.SpooledTemporaryFile(max_size=32_000_000)  # noqa: SIM115 - caller closes
    shutil.copyfileobj(stream, spool, 1 << 20)
    spool.seek(0)
    return spool


def check_zip(stream: IO[bytes], object_name: str, limits: Limits) -> dict[str, int]:
    """Refuse a workbook openpyxl must not be given; the last row with a cell of each sheet part."""
    try:
        with zipfile.ZipFile(stream) as archive:
            _check_sizes(archive.infolist(), object_name, limits)
            return check_parts(archive, object_name, limits)
    except ZIP_ERRORS as error:
        raise BadFile(f"{object_name} looks like an Excel file but the archive is broken: {error}") from None
    finally:
        stream.seek(0)


def _check_sizes(members: list[zipfile.ZipInfo], object_name: str, limits: Limits) -> None:
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names:
        raise BadFile(f"{object_name} is a zip archive, not an Excel .xlsx workbook")
    total = 0
    for member in members:
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _BIG_MEMBER and ratio > limits.max_xlsx_member_ratio:
            raise BadFile(
                f"{object_name} is a zip bomb: {member.filename} would inflate {ratio:,.0f} "
                f"times, to {member.file_size:,} bytes; refused"
            )
    if total > limits.max_xlsx_uncompressed_bytes:
        raise BadFile(
            f"{object_name} would inflate to {total:,} bytes, more than the "
            f"{limits.max_xlsx_uncompressed_bytes:,} we accept; split the workbook"
        )


def read_workbook(
    stream: IO[bytes],
    object_name: str,
    limits: Limits,
    last_rows: dict[str, int] | None = None,
    known: ColumnMapping | None = None,
) -> tuple[list[str], Iterator[SourceRow | RowProblem]]:
    """The first product sheet's header, and the rows of every product sheet in order, each sheet
    read up to its last row with a cell (`last_rows` by part name, from `check_zip`; `known` the
    vendor's saved mapping, which finds a header no guess would)."""
    from openpyxl import load_workbook  # heavy; only paid for by Excel uploads

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns on harmless styling quirks
        try:
            book = load_workbook(stream, read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises many types for broken workbooks
            raise BadFile(f"{object_name} cannot be opened as an Excel workbook: {error}") from None
    sheets, skipped = [], []
    for sheet in book.worksheets:
        where = f"{object_name}, sheet '{sheet.title}'"
        # The <dimension> a file declares is only a hint, and openpyxl pads every row to its width
        # and every gap to its height: A1:XFD1048576 made a 5 KB file take hours.
        sheet.reset_dimensions()
        last_row = (last_rows or {}).get(getattr(sheet, "_worksheet_path", ""))
        try:
            headers, rows = named_rows(_sheet_lines(sheet, limits, where, last_row), limits, where, known)
        except NoHeader as error:
            skipped.append(error.reason)  # a cover sheet, notes, a chart: not a price list
            continue
        sheets.append((headers, rows))
    if not sheets:
        book.close()
        raise BadFile("; ".join(skipped) or f"{object_name} has no worksheets")

    def all_rows() -> Iterator[SourceRow | RowProblem]:
        try:
            for _, rows in sheets:
                yield from rows
        finally:
            book.close()

    return sheets[0][0], all_rows()


def _sheet_lines(sheet: Any, limits: Limits, where: str, last_row: int | None) -> Iterator[TableLine | RowProblem]:
    for number, values in _sheet_rows(sheet, where):
        if last_row is not None and number > last_row:
            return  # empty rows to the end of the sheet: nothing more to read
        cells = list(values)
        while cells and cells[-1] is None:
            cells.pop()
        if not cells:
            continue
        if len(cells) > limits.max_columns:
            yield RowProblem(
                number,
                "(row)",
                f"row {number} has {len(cells):,} cells; at most {limits.max_columns:,} are read",
                sheet.title,
            )
            continue
        yield TableLine(number, tuple(_cell_text(c) for c in cells), sheet.title)


def _sheet_rows(sheet: Any, where: str) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """openpyxl reads a sheet's XML as its rows are asked for, so a part cut short, or one it
    cannot make sense of, fails here, after the rows before it; it raises many types for that."""
    rows = sheet.iter_rows(values_only=True)
    number = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while True:
            try:
                values = next(rows)
            except StopIteration:
                return
            except MemoryError:
                raise
            except Exception as error:
                raise BadFile(f"{where} is damaged after row {number} and cannot be read further: {error}") from None
            number += 1
            yield number, values


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))  # SKUs and EANs typed as numbers must not become "123.0"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)
