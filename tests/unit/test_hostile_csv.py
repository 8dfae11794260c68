"""Hostile CSV and TSV (issue 16): a cell of 100 MB, on one line or over a hundred thousand,
costs its own row and bounded memory; an unclosed quote says where it opened."""

import io
from typing import Any

import pytest

from catalogist.vendorfiles import Limits, ProductRow, RowProblem, parse_vendor_file
from tests.unit.hostile_measure import MB, measure


def results(data: bytes, **limits: int) -> list:
    return list(parse_vendor_file(io.BytesIO(data), "acme/prices.csv", limits=Limits(**limits)).rows)


@pytest.mark.parametrize(
    ("delimiter", "line_length"), [(",", 1_000), ("\t", 1_000), (",", 0)], ids=["csv", "tsv", "csv-one-line"]
)
def test_a_100mb_quoted_cell_costs_its_row_in_bounded_memory(delimiter: str, line_length: int) -> None:
    measured = measure("csv_100mb_quoted_cell", delimiter, line_length)

    assert measured.outcome["skus"] == ["S1", "S3"]
    ((row, field, reason),) = measured.outcome["problems"]
    assert (row, field) == (3, "(row)")
    if line_length:  # before: 100,000 rows of x's read as products, and S3 lost in a stray quote
        assert 'runs on inside quotes (") to line 100003' in reason and "it was skipped" in reason
    else:
        assert "longer than 1,000,000 bytes; it was skipped" in reason
    assert measured.peak_growth < 30 * MB
    assert measured.seconds < 30


def test_a_million_quoted_line_breaks_in_one_row_are_not_built_into_one_record() -> None:
    measured = measure("csv_million_multiline_cells")

    assert measured.outcome["skus"] == ["S1", "S3"]
    assert measured.outcome["problem_count"] == 1
    assert measured.peak_growth < 30 * MB  # 73 MB when csv built the record whole, growing with the file


def test_a_cell_past_the_field_limit_that_goes_on_over_lines_is_skipped_to_its_closing_quote() -> None:
    data = b'sku,name,desc\nS1,Salt,d\nS2,Pepper,"' + b"x" * 200_000 + b'\nsku,name\nend",z\nS3,Sugar,d\n'

    found = results(data)

    assert [r.sku for r in found if isinstance(r, ProductRow)] == ["S1", "S3"]
    (problem,) = [r for r in found if isinstance(r, RowProblem)]
    assert problem.row_number == 3 and "to line 5" in problem.reason


def test_a_cell_past_the_field_limit_closed_on_its_line_costs_that_line() -> None:
    data = b'sku,name,desc\nS1,Salt,d\nS2,Pepper,"' + b"x" * 200_000 + b'",z\nS3,Sugar,d\n'

    found = results(data)

    assert [r.sku for r in found if isinstance(r, ProductRow)] == ["S1", "S3"]
    (problem,) = [r for r in found if isinstance(r, RowProblem)]
    assert problem.row_number == 3 and "field larger than field limit" in problem.reason


def test_a_quote_never_closed_says_where_it_opened() -> None:
    rows = b"".join(b"S%d,Item %d\n" % (n, n) for n in range(3, 3_000))

    found = results(b'sku,name\nS1,Salt\nS2,"Pepper\n' + rows, max_line_bytes=10_000)

    assert [r.sku for r in found if isinstance(r, ProductRow)] == ["S1"]
    (problem,) = [r for r in found if isinstance(r, RowProblem)]
    assert problem.row_number == 3
    assert (
        'line 3 opens a quoted cell (") that is never closed; the rest of the file, lines 3 to 3000' in problem.reason
    )


def test_quoted_line_breaks_and_doubled_quotes_still_read_as_one_cell() -> None:
    found = results(b'sku,name,description\nS1,Salt,"one\ntwo ""2"" three"\nS2,Sugar,"a,""b""\n\nc"\nS3,Rice,d\n')

    assert [(r.sku, r.description) for r in found] == [
        ("S1", 'one two "2" three'),
        ("S2", 'a,"b" c'),
        ("S3", "d"),
    ]


def test_a_1000_character_sku_costs_its_row() -> None:
    found = results(b"sku,name\nS1,Salt\n" + b"S" * 1_000 + b",Pepper\nS3,Sugar\n")

    assert [r.sku for r in found if isinstance(r, ProductRow)] == ["S1", "S3"]
    (problem,) = [r for r in found if isinstance(r, RowProblem)]
    assert (problem.row_number, problem.field) == (3, "sku") and "1,000 characters" in problem.reason


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.consumed += len(data)
        return data


def test_broken_lines_under_the_header_are_not_all_searched_for_a_header() -> None:
    """Each broken line was kept while the header was looked for, and the readable ones counted
    again over all of them: 10,000 lines of 2,002 cells took 10 s, 100,000 would take 1,000."""
    stream = CountingStream(b"sku,name\n" + (b"," * 2_001 + b"\n") * 5_000 + b"S1,Salt\n")

    parsed = parse_vendor_file(stream, "acme/prices.csv")

    assert stream.consumed < 3 * MB  # the header search stops after 1,000 lines
    found: list[Any] = list(parsed.rows)  # Any: rows read by position, RowProblems then a ProductRow
    assert len(found) == 5_001 and found[-1].sku == "S1"
    assert all("2,002 cells" in r.reason for r in found[:-1])


def test_one_sku_repeated_lists_ten_of_its_rows_and_always_the_winner() -> None:
    parsed = parse_vendor_file(io.BytesIO(b"sku,name\n" + b"S1,Salt\n" * 1_000), "acme/prices.csv")

    rows = list(parsed.rows)

    assert len(rows) == 1_000
    assert parsed.stats.duplicate_skus == {"S1": [3, 4, 5, 6, 7, 8, 9, 10, 11, 1_001]}
