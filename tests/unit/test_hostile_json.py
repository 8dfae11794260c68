"""Hostile JSON and JSON Lines (issue 16): absurd depth and absurd numbers cost their item, never
the reader; a JSON array whose item cannot even be skipped keeps the items before it."""

import io
from decimal import Decimal

import pytest

from catalogist.vendorfiles import ProductRow, RowProblem, parse_vendor_file
from catalogist.vendorfiles.jsonfeed import MAX_NESTING
from catalogist.vendorfiles.prices import PriceError, parse_price
from tests.unit.hostile_measure import MB, measure

GOOD = b'{"id": 1, "name": "Salt"}'
AFTER = b'{"id": 3, "name": "Sugar"}'


def results(data: bytes, name: str) -> list:
    return list(parse_vendor_file(io.BytesIO(data), name).rows)


def nested(depth: int) -> bytes:
    """Item 2: an object whose `x` holds lists `depth` deep."""
    return b'{"id": 2, "name": "Pepper", "x": ' + b"[" * depth + b"]" * depth + b"}"


# Every depth past ours up to beyond the decoder's own limit (about 1,000 levels less the caller's
# stack, so it moves): just under that limit an item decoded but flattening it raised
# RecursionError from json.dumps. 100,000 is issue 16's bomb.
DEPTHS = [*range(MAX_NESTING + 1, 800, 50), *range(800, 1_100), 100_000]


def test_a_deep_item_in_a_json_array_costs_that_item_or_stops_reading_there() -> None:
    for depth in DEPTHS:
        found = results(b"[" + GOOD + b"," + nested(depth) + b"," + AFTER + b"]", "acme/items.json")

        assert isinstance(found[0], ProductRow) and found[0].sku == "1", depth
        problem = found[1]
        assert isinstance(problem, RowProblem) and problem.row_number == 2, depth
        assert "nested too deeply" in problem.reason, depth
        if problem.field == "(row)":  # decodable, so skippable: the next item is read
            assert [r.sku for r in found[2:]] == ["3"], depth
        else:
            assert problem.field == "(file)" and len(found) == 2, depth


def test_a_deep_json_line_costs_only_that_line() -> None:
    for depth in DEPTHS:
        found = results(GOOD + b"\n" + nested(depth) + b"\n" + AFTER + b"\n", "acme/items.jsonl")

        assert [type(r).__name__ for r in found] == ["ProductRow", "RowProblem", "ProductRow"], depth
        assert found[1].row_number == 2 and "nested too deeply" in found[1].reason, depth


def test_a_json_file_nested_100000_deep_is_refused_at_once() -> None:
    measured = measure("json_100000_deep")

    assert "nested too deeply" in measured.outcome["rejected"]
    assert measured.peak_growth < 20 * MB


@pytest.mark.parametrize("name", ["acme/items.json", "acme/items.jsonl"])
def test_a_5000_digit_number_is_a_rejected_price_not_a_crash(name: str) -> None:
    huge = b'{"id": 2, "name": "Pepper", "price": ' + b"9" * 5_000 + b"}"
    data = (
        b"[" + GOOD + b"," + huge + b"," + AFTER + b"]"
        if name.endswith(".json")
        else GOOD + b"\n" + huge + b"\n" + AFTER
    )

    found = results(data, name)

    assert [r.sku for r in found if isinstance(r, ProductRow)] == ["1", "3"]
    (problem,) = [r for r in found if isinstance(r, RowProblem)]
    assert (problem.row_number, problem.field) == (2, "price")
    assert "not plausible" in problem.reason


def test_a_5000_digit_id_keeps_its_digits() -> None:
    """Whole numbers stay the text the vendor wrote; Python's int conversion limit never applies."""
    (problem,) = results(b'[{"id": ' + b"7" * 5_000 + b', "name": "Pepper"}]', "acme/items.json")

    assert problem.field == "sku" and "5,000 characters" in problem.reason


def test_prices_past_a_trillion_are_refused() -> None:
    assert parse_price("999 999 999 999,99 ₽").amount == Decimal("999999999999.99")
    with pytest.raises(PriceError, match="not plausible"):
        parse_price("1 000 000 000 000")


def test_a_100mb_string_stops_the_array_in_bounded_memory() -> None:
    measured = measure("json_100mb_string")

    assert measured.outcome["skus"] == ["1"]
    ((row, field, reason),) = measured.outcome["problems"]
    assert (row, field) == (2, "(file)") and "larger than 1,000,000 characters" in reason
    assert measured.peak_growth < 20 * MB


def test_200mb_of_whitespace_between_items_is_skipped_quickly() -> None:
    measured = measure("json_200mb_of_whitespace")

    assert measured.outcome == {"skus": ["1", "2"], "problems": [], "problem_count": 0}
    assert measured.seconds < 15  # 30 s a character at a time
    assert measured.peak_growth < 20 * MB
