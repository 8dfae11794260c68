"""CSV and TSV: delimiter sniffed, one record at a time, a broken record costs only itself.

A quoted cell may hold line breaks, so one record can span many lines. A record that runs past
`Limits.max_line_bytes` characters, or a cell past csv's own field limit, inside quotes that go
on over the next lines (a 100 MB description, or a stray `"` that is never closed) is skipped
up to where its quoted cell closes, without holding it: the rows after it are read as rows.
"""

import csv
import re
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


_QUOTED = re.compile(r'[^"]*(?:""[^"]*)*')  # a quoted cell's text, up to its closing quote


class _RecordTooLong(Exception):
    pass


class _Feed:
    """The lines csv.reader asks for, with the lines of the record being read kept.

    csv asks for another line within a record only while a quoted cell is open; when that would
    take the record past `limit` characters the feed refuses (the refused line is `held`).
    """

    def __init__(self, lines: Iterator[str], limit: int) -> None:
        self._lines = lines
        self._limit = limit
        self.record: list[str] = []
        self._size = 0
        self.held: str | None = None

    def __iter__(self) -> "_Feed":
        return self

    def __next__(self) -> str:
        if self.held is not None:
            line, self.held = self.held, None
        else:
            line = next(self._lines)
        if self.record and self._size + len(line) > self._limit:
            self.held = line
            raise _RecordTooLong
        self.record.append(line)
        self._size += len(line)
        return line

    def new_record(self) -> None:
        self.record.clear()
        self._size = 0

    def skip_quoted_cell(self) -> bool:
        """Read on (not keeping) to the quote that closes the open cell; the record's remainder
        after it becomes the next line csv reads. False when the file ends first."""
        line = self.held if self.held is not None else next(self._lines, None)
        while line is not None:
            closing = _QUOTED.match(line).end()  # type: ignore[union-attr]  # the pattern matches ""
            if closing < len(line):
                # `""` puts csv back just after a closing quote, where the rest of the line goes on
                self.held = '""' + line[closing + 1 :]
                return True
            line = next(self._lines, None)
        self.held = None
        return False


def read_delimited(lines: TextLines, delimiter: str, limits: Limits) -> Iterator[TableLine | RowProblem]:
    feed = _Feed(iter(lines), limits.max_line_bytes)
    reader = csv.reader(feed, delimiter=delimiter, quotechar='"', doublequote=True)
    last_line = 0
    broken_from = 0  # first line of a record whose oversized quoted cell was skipped
    while True:
        feed.new_record()
        try:
            cells = next(reader)
        except StopIteration:
            if broken_from:
                yield _unclosed(lines, broken_from)
            return
        except (_RecordTooLong, csv.Error) as error:
            inside_quotes = isinstance(error, _RecordTooLong) or _ends_in_quotes("".join(feed.record), delimiter)
            if inside_quotes:
                broken_from = broken_from or last_line + 1
                if not feed.skip_quoted_cell():
                    yield _unclosed(lines, broken_from)
                    return
                continue  # the rest of the broken record is read, and dropped, next
            start, last_line, broken_from = broken_from or last_line + 1, lines.line_number, 0
            _line_problem(lines, start, last_line)
            yield RowProblem(start, "(row)", f"line {start} cannot be split into cells: {error}")
            continue
        if broken_from:
            start, last_line, broken_from = broken_from, lines.line_number, 0
            _line_problem(lines, start, last_line)
            yield RowProblem(
                start,
                "(row)",
                f'the row at line {start} runs on inside quotes (") to line {last_line}, more than we read of '
                f"one row ({limits.max_line_bytes:,} characters, {csv.field_size_limit():,} in one cell); "
                "it was skipped",
            )
            continue
        start, last_line = last_line + 1, lines.line_number
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


def _unclosed(lines: TextLines, start: int) -> RowProblem:
    end = lines.line_number
    _line_problem(lines, start, end)
    return RowProblem(
        start,
        "(row)",
        f'line {start} opens a quoted cell (") that is never closed; the rest of the file, lines {start} to '
        f"{end}, was skipped with it",
    )


def _ends_in_quotes(record: str, delimiter: str) -> bool:
    """Whether csv, having read `record` from its start, is inside a quoted cell at its end."""
    at = 0
    while at < len(record):
        if record[at] == '"':  # a cell opening with a quote
            at = _QUOTED.match(record, at + 1).end()  # type: ignore[union-attr]
            if at >= len(record):
                return True
            at += 1  # past the closing quote: csv keeps what follows, up to the delimiter, as text
        ends = [i for i in (record.find(delimiter, at), record.find("\n", at), record.find("\r", at)) if i >= 0]
        if not ends:
            return False
        at = min(ends) + 1
    return False


def _line_problem(lines: TextLines, start: int, end: int) -> str:
    if not lines.problems:
        return ""
    found = ""
    for number in [n for n in lines.problems if n <= end]:
        reason = lines.problems.pop(number)
        if number >= start and not found:
            found = reason
    return found
