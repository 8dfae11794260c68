"""Hostile Excel workbooks (issue 16): entity tricks in any part, zips that lie about their sizes,
broken or encrypted parts, and the counts openpyxl would hold in memory."""

import io
import re
from pathlib import Path

import pytest

from catalogist.errors import BadFile
from catalogist.vendorfiles import Limits, ProductRow, RowProblem, parse_vendor_file
from tests.support import METADATA_URL
from tests.unit.hostile_inputs import (
    PRICE_ROWS,
    patch_member_header,
    shared_strings_xml,
    sheet_xml,
    workbook_parts,
    zipped,
)
from tests.unit.hostile_measure import MB, measure

LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">'
    '<!ENTITY lol9 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
)


def shared_workbook(**replaced: bytes) -> dict[str, bytes]:
    texts = [text for row in PRICE_ROWS for text in row]
    parts = workbook_parts(sheet_xml(PRICE_ROWS, shared=True), shared_strings_xml(texts))
    return {**parts, **replaced}


def read(data: bytes, limits: Limits | None = None) -> list:
    return list(parse_vendor_file(io.BytesIO(data), "acme/prices.xlsx", limits=limits or Limits()).rows)


def with_doctype(part: bytes, doctype: str) -> bytes:
    head, _, rest = part.partition(b"?>\n")
    return head + b"?>\n" + doctype.encode() + rest


def test_the_hand_made_workbook_reads() -> None:
    assert [r.sku for r in read(zipped(shared_workbook()))] == ["S1", "S2", "S3"]


@pytest.mark.parametrize(
    "part",
    [
        "_rels/.rels",
        "xl/_rels/workbook.xml.rels",
        "xl/sharedStrings.xml",
        "xl/workbook.xml",
        "xl/worksheets/sheet1.xml",
    ],
)
def test_billion_laughs_in_any_part_is_refused_by_name(part: str) -> None:
    parts = shared_workbook()
    parts[part] = with_doctype(parts[part], LAUGHS).replace(b"<t>Salt</t>", b"<t>&lol9;</t>")

    with pytest.raises(BadFile, match=rf"part {part} of the workbook declares a DTD.*billion laughs"):
        read(zipped(parts))


@pytest.mark.parametrize("target", ["metadata", "file"])
def test_xxe_in_the_shared_strings_fetches_and_reads_nothing(
    target: str,
    secret_file: Path,
    no_network: list,
) -> None:
    url = METADATA_URL if target == "metadata" else f"file://{secret_file}"
    texts = ["SKU", "Name", "S1", "&xxe;", "S2", "Sugar", "S3", "Rice"]
    strings = shared_strings_xml(texts, inside=f'<!DOCTYPE sst [<!ENTITY xxe SYSTEM "{url}">]>')

    with pytest.raises(BadFile, match="declares a DTD") as refused:
        read(zipped(shared_workbook(**{"xl/sharedStrings.xml": strings})))

    assert no_network == []
    assert "SECRET" not in refused.value.reason


def test_a_zip_claiming_20kb_for_500mb_of_sheet_is_refused_by_its_checksum() -> None:
    measured = measure("xlsx_whose_sheet_inflates_to_500mb_but_claims_20kb")

    reason = measured.outcome["rejected"]
    assert "part xl/worksheets/sheet1.xml of the workbook cannot be read: Bad CRC-32" in reason
    assert measured.peak_growth < 50 * MB  # zipfile stops at the declared 20 KB
    assert measured.seconds < 30


def test_a_lying_zip_with_a_matching_checksum_keeps_the_rows_before_the_cut() -> None:
    """The crafted zip declares the CRC of exactly what it claims, so the checksum passes and
    openpyxl sees the sheet cut short: the rows before the cut are kept."""
    import zlib

    rows = [PRICE_ROWS[0]] + [[f"S{n}", f"Item {n}"] for n in range(1, 3000)]
    sheet = sheet_xml(rows)
    claimed = len(sheet) // 2
    data = patch_member_header(
        zipped(workbook_parts(sheet)), "xl/worksheets/sheet1.xml", file_size=claimed, crc=zlib.crc32(sheet[:claimed])
    )

    found = read(data)

    products = [r for r in found if isinstance(r, ProductRow)]
    assert len(products) > 1000 and products[0].sku == "S1"
    assert found[-1].field == "(file)" and "is damaged after row" in found[-1].reason
    assert found[-1].row_number == products[-1].row_number + 1


def test_a_zip_claiming_more_than_it_holds_is_refused_before_inflating() -> None:
    data = patch_member_header(zipped(shared_workbook()), "xl/worksheets/sheet1.xml", file_size=3_000_000_000)

    with pytest.raises(BadFile, match=r"zip bomb|would inflate to"):
        read(data)


def test_a_sheet_cut_short_keeps_the_rows_before_it() -> None:
    rows = [PRICE_ROWS[0]] + [[f"S{n}", f"Item {n}"] for n in range(1, 3000)]
    sheet = sheet_xml(rows)

    found = read(zipped(workbook_parts(sheet[: len(sheet) * 2 // 3])))

    assert [r.sku for r in found[:2]] == ["S1", "S2"]
    assert isinstance(found[-1], RowProblem) and found[-1].field == "(file)"
    assert "sheet 'Prices' is damaged after row" in found[-1].reason


@pytest.mark.parametrize(
    ("patch", "says"),
    [({"flags": 1}, "encrypted"), ({"method": 99}, "compression method")],
    ids=["encrypted", "unknown-compression"],
)
def test_a_part_we_cannot_inflate_is_named(patch: dict, says: str) -> None:
    data = patch_member_header(zipped(shared_workbook()), "xl/sharedStrings.xml", **patch)

    with pytest.raises(BadFile, match=rf"part xl/sharedStrings.xml of the workbook cannot be read: .*{says}"):
        read(data)


def test_a_dimension_of_a_million_rows_and_columns_costs_nothing() -> None:
    measured = measure("xlsx_declaring_a_million_columns_and_rows")

    assert measured.outcome["skus"] == ["S1", "S9"]
    assert measured.seconds < 30  # each padded row took 1 ms: 1,048,576 of them were 20 minutes


def test_a_sheet_of_a_million_empty_rows_is_refused_in_a_bounded_time() -> None:
    measured = measure("xlsx_of_a_million_empty_rows")

    assert "has no rows" in measured.outcome["rejected"]
    # openpyxl parsed every empty row first (+83 MB, 6 s here; 24 s under load): now the rows
    # stop at the last one with a cell, which the workbook check already found (+4 MB, 2.5 s)
    assert measured.peak_growth < 30 * MB


def test_products_above_a_million_empty_rows_are_read_without_reading_the_empty_ones() -> None:
    measured = measure("xlsx_of_products_then_a_million_empty_rows")

    assert measured.outcome["skus"] == ["S1", "S2"]
    assert measured.peak_growth < 30 * MB


def test_more_rows_than_excel_allows_are_refused_before_openpyxl_keeps_them() -> None:
    measured = measure("xlsx_with_more_rows_than_excel")

    assert "more than 1,048,576 rows, more than Excel allows" in measured.outcome["rejected"]
    assert measured.peak_growth < 50 * MB


def test_more_shared_strings_than_the_limit_are_refused_before_openpyxl_holds_them() -> None:
    measured = measure("xlsx_with_200001_shared_strings")

    assert "more than 200,000 shared strings" in measured.outcome["rejected"]
    assert measured.peak_growth < 20 * MB  # openpyxl: 155 MB per million strings, 95 s for 5 million


def test_bytes_cut_from_inside_the_zip_are_a_reason() -> None:
    """Found by the property tests: every offset after the cut points 10 bytes too far, and
    zipfile seeks to a negative position (ValueError)."""
    data = zipped(shared_workbook())

    with pytest.raises(BadFile, match="cannot be read: negative seek value"):
        read(data[:200] + data[210:])


def test_damaged_deflate_data_is_a_reason() -> None:
    data = zipped(shared_workbook())
    at = data.find(b"xl/worksheets/sheet1.xml") + 30
    damaged = data[:at] + bytes(byte ^ 0xFF for byte in data[at : at + 20]) + data[at + 20 :]

    with pytest.raises(BadFile, match=r"sheet1\.xml of the workbook cannot be read: Error -3 while decompressing"):
        read(damaged)


LAX_RATIO = Limits(max_xlsx_member_ratio=10**9)  # the ratio check is tested above; these parts are repetitive


@pytest.mark.parametrize(
    ("before_row_2", "says"),
    [
        (b'<row r="2" note="' + b"x" * 20 * MB + b'">', "a tag, text or comment of more than 256,000 characters"),
        (b"<!--" + b"x<" * 10 * MB + b'--><row r="2">', "a tag, text or comment of more than 256,000 characters"),
        (b"<?pi " + b"x<" * 10 * MB + b'?><row r="2">', "a tag, text or comment of more than 256,000 characters"),
        (b"<!---->" * 1_001 + b'<row r="2">', "more than 1,000 comments or processing instructions"),
    ],
    ids=["attribute", "comment", "instruction", "many-comments"],
)
def test_a_token_expat_would_rescan_for_minutes_is_refused(before_row_2: bytes, says: str) -> None:
    """Python 3.11's expat (2.5) parses an unfinished token again from its start at every 16 KB
    openpyxl feeds it: an attribute of 8 MB took 5 s, one of 100 MB would take a quarter hour."""
    sheet = sheet_xml(PRICE_ROWS).replace(b'<row r="2">', before_row_2)

    with pytest.raises(BadFile, match=f"part xl/worksheets/sheet1.xml of the workbook has {says}"):
        read(zipped(workbook_parts(sheet)), LAX_RATIO)


def test_a_few_short_comments_are_read_past() -> None:
    sheet = sheet_xml(PRICE_ROWS).replace(b'<row r="2">', b"<!-- made by <hand> -->" * 5 + b'<row r="2">')

    assert [r.sku for r in read(zipped(workbook_parts(sheet)))] == ["S1", "S2", "S3"]


@pytest.mark.parametrize(
    ("part", "container", "element"),
    [
        ("xl/styles.xml", None, b'<xf numFmtId="0"/>'),
        ("xl/workbook.xml", b"</sheets>", b'<definedName name="x">Prices!$A$1</definedName>'),
        ("xl/_rels/workbook.xml.rels", b"</Relationships>", b'<Relationship Id="x" Type="t" Target="t"/>'),
        ("[Content_Types].xml", b"</Types>", b'<Default Extension="x" ContentType="t"/>'),
    ],
)
def test_a_part_openpyxl_reads_whole_with_too_many_elements_is_refused(
    part: str, container: bytes | None, element: bytes
) -> None:
    parts = shared_workbook()
    many = element * 250_001
    if container is None:
        parts[part] = b'<?xml version="1.0"?><styleSheet><cellXfs>' + many + b"</cellXfs></styleSheet>"
    else:
        parts[part] = parts[part].replace(container, many + container)

    with pytest.raises(BadFile, match=rf"part {re.escape(part)} of the workbook (has more than 250,000 elements|is)"):
        read(zipped(parts), LAX_RATIO)


def test_260000_cell_formats_are_refused_before_openpyxl_builds_them() -> None:
    measured = measure("xlsx_with_260000_cell_formats")

    assert "part xl/styles.xml of the workbook has more than 250,000 elements" in measured.outcome["rejected"]
    assert measured.peak_growth < 50 * MB  # openpyxl: about 1 KB per format


def test_elements_openpyxl_would_keep_between_rows_are_refused() -> None:
    measured = measure("xlsx_with_260000_elements_between_rows")

    assert "has more than 250,000 elements outside its rows and strings" in measured.outcome["rejected"]
    assert measured.peak_growth < 50 * MB


def test_a_row_of_more_than_100000_elements_is_refused() -> None:
    row = b'<row r="2">' + b'<c t="n"><v>1</v></c>' * 50_001 + b"</row>"
    sheet = sheet_xml(PRICE_ROWS).replace(b'<row r="2">', row + b'<row r="2">')

    with pytest.raises(BadFile, match="has a row or string of more than 100,000 elements"):
        read(zipped(workbook_parts(sheet)), LAX_RATIO)


def test_rows_hidden_in_comments_do_not_open_or_close_anything() -> None:
    """A `<row>` inside a comment is text to expat; counting it would let elements after it pass
    for a row's cells."""
    junk = b"<x/>" * 250_001
    sheet = sheet_xml(PRICE_ROWS).replace(b"</sheetData>", b"<!-- <row> -->" + junk + b"</sheetData>")

    with pytest.raises(BadFile, match="more than 250,000 elements outside its rows"):
        read(zipped(workbook_parts(sheet)), LAX_RATIO)
