"""CSV and TSV: delimiter sniffed, one record at a time, a broken record costs only itself."""

import csv
from collections.abc import Iterator
from dataclasses import dataclass

from catalogist.vendorfiles.limits import Limits
from catalogist.vendorfiles.rows import RowProblem
from catalogist.vendorfiles.streams import TextLines

_DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class TableLine:
    """The cells of one spreadsheet-like row, before we know which row is the header."""

    row_number: int
    cells: tuple[str, ...]
    sheet: str = ""


def sniff_delimiter(text_sample: str, prefer_tab: bool) -> str:
    """The delimiter that splits the first lines into the most consistent number of cells."""
    lines = text_sample.splitlines()[:50]
    if len(lines) > 1:
        lines = lines[:-1]  # may be cut
    best, best_score = "\t" if prefer_tab else ",", (0, 0)
    for delimiter in _DELIMITERS:
        try:
            widths = [len(r) for r in csv.reader(lines, delimiter=delimiter) if r]
        except csv.Error:
            continue
        if not widths:
            continue
        common = max(set(widths), key=widths.count)
        if common < 2:
            continue
        score = (widths.count(common) + (1 if prefer_tab and delimiter == "\t" else 0), common)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read_delimited(lines: TextLines, delimiter: str, limits: Limits) -> Iterator[TableLine | RowProblem]:
    reader = csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True)
    last_line = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            start, last_line = last_line + 1, reader.line_num
            yield RowProblem(start, "(row)", f"line {start} cannot be split into cells: {error}")
            continue
        start, last_line = last_line + 1, reader.line_num
        problem = _line_problem(lines, start, last_line)
        if problem:
            yield RowProblem(start, "(row)", problem)
        elif len(cells) > limits.max_columns:
            yield RowProblem(
                start,
                "(row)",
                f"line {start} has {len(cells):,} cells; at most {limits.max_columns:,} are read",
            )
        elif any(c.strip() for c in cells):
            yield TableLine(start, tuple(cells))


def _line_problem(lines: TextLines, start: int, end: int) -> str:
    if not lines.problems:
        return ""
    found = ""
    for number in [n for n in lines.problems if n <= end]:
        reason = lines.problems.pop(number)
        if number >= start and not found:
            found = reason
    return found
