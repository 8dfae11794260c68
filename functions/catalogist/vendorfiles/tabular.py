"""Rows of cells (CSV, TSV, a worksheet) → named cells, once the header row is found.

Price lists often open with a title block ("Price list, valid from…", a logo row, blank rows),
so the header is the row among the first few that names the most of our fields, or the row that
has every column of the vendor's saved mapping: a mapping set by hand is how a file whose
headers name nothing we know ("Spalte 1", "Spalte 2") is read at all.
"""

from collections.abc import Iterable, Iterator
from itertools import chain

from catalogist.errors import BadFile
from catalogist.vendorfiles.delimited import TableLine
from catalogist.vendorfiles.limits import Limits
from catalogist.vendorfiles.mapping import FIELDS, ColumnMapping, match_strength
from catalogist.vendorfiles.rows import RowProblem, SourceRow

_HEADER_SEARCH_LINES = 1_000  # lines read, broken ones included, before giving up on a header


class NoHeader(BadFile):
    """No row near the top names a product column."""


def named_rows(
    lines: Iterable[TableLine | RowProblem], limits: Limits, where: str, known: ColumnMapping | None = None
) -> tuple[list[str], Iterator[SourceRow | RowProblem]]:
    """The header and an iterator of the rows under it. `where` names the file (and sheet);
    `known` is the vendor's saved mapping, if any."""
    iterator = iter(lines)
    head: list[TableLine | RowProblem] = []
    readable = 0
    for item in iterator:
        head.append(item)
        readable += isinstance(item, TableLine)
        # Broken lines count too: a file of nothing else must not be held whole while we look.
        if readable >= limits.header_search_rows or len(head) >= _HEADER_SEARCH_LINES:
            break
    candidates = [i for i in head if isinstance(i, TableLine)]
    if not candidates:
        raise NoHeader(f"{where} has no rows" + _first_problem(head))
    header_line = max(candidates, key=lambda line: (_strength(line, known), -line.row_number))
    if _strength(header_line, known) == 0:
        raise NoHeader(
            f"{where}: no header row in the first {len(candidates)} rows names a product "
            "column (for example SKU / Artikelnummer / Артикул, or Name / Bezeichnung / "
            "Наименование)" + _first_problem(head).replace(" we can read", "")
        )
    if len(header_line.cells) > limits.max_columns:
        raise BadFile(
            f"{where}: the header has {len(header_line.cells):,} columns; at most {limits.max_columns:,} are read"
        )
    headers = _unique(header_line.cells)
    rest = chain((i for i in head if i.row_number > header_line.row_number), iterator)
    return headers, _rows(rest, headers)


def _rows(lines: Iterable[TableLine | RowProblem], headers: list[str]) -> Iterator[SourceRow | RowProblem]:
    width = len(headers)
    for line in lines:
        if isinstance(line, RowProblem):
            yield line
            continue
        cells = dict(zip(headers, line.cells, strict=False))
        for extra, value in enumerate(line.cells[width:], start=width + 1):
            if value.strip():
                cells[f"column {extra}"] = value
        yield SourceRow(line.row_number, cells, line.sheet)


def _strength(line: TableLine, known: ColumnMapping | None) -> int:
    """How many of our fields the line would fill as the header; a line with every column of
    the saved mapping beats any guess."""
    if known is not None and known.fits(_unique(line.cells)):
        return len(FIELDS) + 1
    return match_strength(_texts(line.cells))


def _texts(cells: tuple[str, ...]) -> list[str]:
    return [c.strip() for c in cells]


def _unique(cells: tuple[str, ...]) -> list[str]:
    """Blank headers become `column N`; a repeated header gets ` (2)`, ` (3)`…"""
    seen: dict[str, int] = {}
    headers = []
    for index, cell in enumerate(cells, start=1):
        name = " ".join(cell.split()) or f"column {index}"
        seen[name] = seen.get(name, 0) + 1
        headers.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return headers


def _first_problem(head: list[TableLine | RowProblem]) -> str:
    problems = [i for i in head if isinstance(i, RowProblem)]
    return f" we can read ({problems[0].reason})" if problems else ""
