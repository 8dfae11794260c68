"""Each bad input of issue 5: a clear reason, and never a good row lost to a bad one."""

import io
import os
import tracemalloc
import zipfile
from typing import Any, BinaryIO, cast

import pytest

from catalogist.errors import BadFile
from catalogist.vendorfiles import Limits, ProductRow, RowProblem, parse_vendor_file
from tests.support import LazyStream


def results(data: bytes, name: str = "f.csv", **kwargs: Any) -> list:
    return list(parse_vendor_file(io.BytesIO(data), name, **kwargs).rows)


def test_binary_garbage_named_csv() -> None:
    garbage = bytes(range(256)) * 64 + os.urandom(4096)

    with pytest.raises(BadFile, match=r"named \.csv but the content is binary, not text"):
        parse_vendor_file(io.BytesIO(garbage), "acme/prices.csv", "text/csv")


def test_an_image_named_csv_says_what_it_is() -> None:
    with pytest.raises(BadFile, match="PNG image, not a price list"):
        parse_vendor_file(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * 100), "prices.csv")


def test_file_mixing_encodings_rejects_only_the_foreign_rows() -> None:
    data = (
        "sku;name;price\nA1;Молоко 1 л;89,90\n".encode()
        + "A2;Кефир 1 л;79,90\n".encode("cp1251")
        + "A3;Сыр 200 г;199,00\n".encode()
    )

    found = results(data)

    assert [r.sku for r in found if isinstance(r, ProductRow)] == ["A1", "A3"]
    problem = next(r for r in found if isinstance(r, RowProblem))
    assert problem.row_number == 3
    assert "mixed encodings" in problem.reason


def test_a_50_mb_line_is_skipped_in_bounded_memory() -> None:
    stream = cast(  # a RawIOBase, cast as parse.py casts its own ReplayStream
        BinaryIO, LazyStream(b"sku,name,price\nS1,Salt,1.00\nS2,", (b"x" * 1_000_000, 50), b",2.00\nS3,Sugar,3.00\n")
    )
    tracemalloc.start()
    try:
        found = list(parse_vendor_file(stream, "big.csv").rows)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert [r.sku for r in found if isinstance(r, ProductRow)] == ["S1", "S3"]
    problem = next(r for r in found if isinstance(r, RowProblem))
    assert problem.row_number == 3 and "longer than 1,000,000 bytes" in problem.reason
    assert peak < 8_000_000


def test_10000_columns_in_the_header_is_refused() -> None:
    header = ",".join(["sku", "name"] + [f"c{i}" for i in range(9_998)]).encode()

    with pytest.raises(BadFile, match="10,000 cells"):
        parse_vendor_file(io.BytesIO(header + b"\nS1,Salt\n"), "wide.csv")


def test_a_10000_cell_row_costs_only_that_row() -> None:
    wide = b"S2,Pepper" + b",x" * 9_998
    data = b"sku,name\nS1,Salt\n" + wide + b"\nS3,Sugar\n"

    found = results(data)

    assert [r.sku for r in found if isinstance(r, ProductRow)] == ["S1", "S3"]
    assert "10,000 cells" in next(r for r in found if isinstance(r, RowProblem)).reason


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol9 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<rss><channel><item><id>1</id><title>&lol9;</title></item></channel></rss>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss><channel><item><id>1</id><title>&xxe;</title></item></channel></rss>"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["laughs", "xxe"])
def test_xml_entity_tricks_are_refused(document: bytes) -> None:
    with pytest.raises(BadFile, match="declares XML entities"):
        parse_vendor_file(io.BytesIO(document), "feed.xml", "application/xml")


def test_xml_cut_short_keeps_the_items_before_the_break() -> None:
    data = (
        b"<rss><channel><item><id>1</id><title>Salt</title></item>"
        b"<item><id>2</id><title>Sugar</title></item><item><id>3</ti"
    )

    found = results(data, "feed.xml")

    assert [r.sku for r in found if isinstance(r, ProductRow)] == ["1", "2"]
    assert found[-1].field == "(file)" and "not well-formed" in found[-1].reason


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 50_000_000)
    return out.getvalue()


def test_xlsx_zip_bomb_is_refused_before_inflating() -> None:
    bomb = _zip_bomb()
    assert len(bomb) < 100_000

    with pytest.raises(BadFile, match="zip bomb"):
        parse_vendor_file(io.BytesIO(bomb), "prices.xlsx")


def test_xlsx_over_the_total_size_limit_is_refused() -> None:
    limits = Limits(max_xlsx_uncompressed_bytes=1_000_000, max_xlsx_member_ratio=10**9)

    with pytest.raises(BadFile, match="would inflate to"):
        parse_vendor_file(io.BytesIO(_zip_bomb()), "prices.xlsx", limits=limits)


def test_a_zip_that_is_not_a_workbook() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")

    with pytest.raises(BadFile, match=r"not an Excel \.xlsx"):
        parse_vendor_file(io.BytesIO(out.getvalue()), "prices.xlsx")


def test_json_nested_10000_deep() -> None:
    with pytest.raises(BadFile, match="nested too deeply"):
        parse_vendor_file(io.BytesIO(b"[" * 10_000 + b"]" * 10_000), "deep.json")


def test_json_item_nested_10000_deep_after_good_items() -> None:
    data = b'[{"id": 1, "name": "Salt"}, {"id": 2, "x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}]"

    found = results(data, "deep.json")

    assert isinstance(found[0], ProductRow)
    assert found[-1].field == "(file)" and "nested too deeply" in found[-1].reason


def test_json_lines_nested_10000_deep_costs_one_line() -> None:
    data = (
        b'{"id": 1, "name": "Salt"}\n{"id": 2, "x": '
        + b"[" * 10_000
        + b"]" * 10_000
        + b'}\n{"id": 3, "name": "Sugar"}\n'
    )

    found = results(data, "deep.jsonl")

    assert [r.sku for r in found if isinstance(r, ProductRow)] == ["1", "3"]
    assert "nested too deeply" in next(r for r in found if isinstance(r, RowProblem)).reason


@pytest.mark.parametrize("data", [b"", b"  \r\n\n "], ids=["empty", "blank"])
def test_empty_file(data: bytes) -> None:
    with pytest.raises(BadFile, match="is empty"):
        parse_vendor_file(io.BytesIO(data), "empty.csv")


@pytest.mark.parametrize(
    ("data", "name"),
    [(b"sku,name,price\n", "h.csv"), (b"[]", "h.json")],
    ids=["csv", "json"],
)
def test_header_only(data: bytes, name: str) -> None:
    with pytest.raises(BadFile, match=r"no product rows|no products"):
        parse_vendor_file(io.BytesIO(data), name)


def test_no_recognizable_header_names_what_was_expected() -> None:
    with pytest.raises(BadFile, match="Artikelnummer"):
        parse_vendor_file(io.BytesIO(b"foo,bar\n1,2\n"), "odd.csv")


def test_duplicate_skus_last_wins_and_are_reported() -> None:
    data = b"sku,name,price\nS1,Salt,1\nS2,Sugar,2\nS1,Salt fine,1.5\nS1,Salt coarse,1.2\n"
    parsed = parse_vendor_file(io.BytesIO(data), "dups.csv")

    rows = [r for r in parsed.rows if isinstance(r, ProductRow)]
    last_by_sku = {r.sku: r for r in rows}

    assert last_by_sku["S1"].name == "Salt coarse"
    assert parsed.stats.duplicate_skus == {"S1": [4, 5]}


def test_formula_cells_are_kept_as_text() -> None:
    data = b'sku,name,brand,price\n=1+1,"=HYPERLINK(""http://evil"",""x"")",@SUM(A1),+12\nS2,-Sale- Tea,+Brand,3\n'

    rows = [r for r in results(data) if isinstance(r, ProductRow)]

    assert rows[0].sku == "=1+1"
    assert rows[0].name == '=HYPERLINK("http://evil","x")'
    assert rows[0].brand == "@SUM(A1)"
    assert str(rows[0].vendor_price) == "12"
    assert (rows[1].name, rows[1].brand) == ("-Sale- Tea", "+Brand")


def test_unmapped_keys_firestore_cannot_store_become_safe_attribute_names() -> None:
    long_key = "x" * 5_000  # Firestore refuses map keys of more than 1,500 bytes, and empty ones
    data = ('[{"id": "1", "name": "Salt", "": "blank", "' + long_key + '": "long"}]').encode()

    (row,) = results(data, "items.json")

    assert dict(row.attributes) == {"unnamed column": "blank", "x" * 200: "long"}


def test_seen_keys_answers_as_a_set_does_across_its_merges() -> None:
    import random

    from catalogist.vendorfiles.parse import SeenKeys

    rng = random.Random(5)
    keys = [rng.randrange(-(2**63), 2**63) for _ in range(3_000)]
    stream = keys + rng.sample(keys, 1_000) + [rng.randrange(-(2**63), 2**63) for _ in range(500)]
    rng.shuffle(stream)
    seen, reference = SeenKeys(batch=64), set()

    answers = []
    for key in stream:
        answers.append((seen.add(key), key in reference))
        reference.add(key)

    assert all(ours == theirs for ours, theirs in answers)
    assert len(seen) == len(reference)
