"""Hostile inputs for issue 16, each built lazily so a 100 MB bomb never sits in test memory.

Every `case(...)` returns a function that reads the input to the end and summarizes what came
out; `hostile_measure.measure("case", ...)` runs it in a child process, the tests call it too.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO, cast

from PIL import Image

from catalogist.imaging import photo_pixels_with_facts
from catalogist.vendorfiles import Limits, ProductRow, RowProblem, parse_vendor_file
from tests.support import LazyStream

MB = 1_000_000
Part = bytes | tuple[bytes, int]  # bytes, or (bytes, times repeated)


def summary(results: list[Any]) -> dict[str, Any]:
    problems = [r for r in results if isinstance(r, RowProblem)]
    return {
        "skus": [r.sku for r in results if isinstance(r, ProductRow)][:20],
        "problems": [[p.row_number, p.field, p.reason] for p in problems[:5]],
        "problem_count": len(problems),
    }


def vendor_file(name: str, *parts: Part, **limits: int) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        stream = cast(BinaryIO, LazyStream(*parts))  # a RawIOBase, cast as parse.py casts its own ReplayStream
        parsed = parse_vendor_file(stream, name, limits=Limits(**limits))
        return summary(list(parsed.rows))

    return run


def vendor_bytes(name: str, data: bytes, **limits: int) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        return summary(list(parse_vendor_file(io.BytesIO(data), name, limits=Limits(**limits)).rows))

    return run


# ---- CSV and TSV --------------------------------------------------------------------------


def csv_100mb_quoted_cell(delimiter: str, line_length: int) -> Callable[[], dict[str, Any]]:
    """Row 3's name is a quoted cell of 100 MB; `line_length` > 0 breaks it into lines that long,
    so the record spans 100 MB / line_length lines; 0 keeps it on one line."""
    d = delimiter.encode()
    text = (b"x" * (line_length - 1) + b"\n", 100 * MB // line_length) if line_length else (b"x" * MB, 100)
    name = "acme/prices.tsv" if delimiter == "\t" else "acme/prices.csv"
    return vendor_file(
        name,
        b"sku" + d + b"name" + d + b"price\nS1" + d + b"Salt" + d + b"1.00\nS2" + d + b'"',
        text,
        b'"' + d + b"2.00\nS3" + d + b"Sugar" + d + b"3.00\n",
    )


def csv_million_multiline_cells() -> Callable[[], dict[str, Any]]:
    """Row 3 has a million quoted cells, each holding a line break: one record of 8 MB, which csv
    built whole, a list of a million strings (73 MB), before the column limit refused it."""
    return vendor_file("acme/prices.csv", b"sku,name\nS1,Salt\nS2,", (b'"ab\ncd",' * 1000, 1000), b"x\nS3,Sugar\n")


# ---- XML ----------------------------------------------------------------------------------

RSS_HEAD = b"<rss><channel><title>Acme</title><item><id>1</id><title>Salt</title></item>"
RSS_TAIL = b"<item><id>3</id><title>Sugar</title></item></channel></rss>"


def xml_100mb_title() -> Callable[[], dict[str, Any]]:
    """One item's title is 100 MB of text."""
    return vendor_file(
        "acme/feed.xml", RSS_HEAD, b"<item><id>2</id><title>", (b"x" * MB, 100), b"</title></item>", RSS_TAIL
    )


def xml_100mb_attribute() -> Callable[[], dict[str, Any]]:
    return vendor_file("acme/feed.xml", RSS_HEAD, b"<item note='", (b"x" * MB, 100), b"'><id>2</id></item>", RSS_TAIL)


def xml_million_deep() -> Callable[[], dict[str, Any]]:
    """Tags nested a million deep between two items: each open level costs the parser memory."""
    return vendor_file("acme/feed.xml", RSS_HEAD, (b"<a>" * 1000, 1000), (b"</a>" * 1000, 1000), RSS_TAIL)


def xml_400000_empty_elements() -> Callable[[], dict[str, Any]]:
    """400,000 `<x/>` beside the items: none is an item, and all of them used to stay in the tree
    (85 bytes each: 12.5 million of them, 50 MB of file, took 1 GB)."""
    return vendor_file("acme/feed.xml", RSS_HEAD, (b"<x/>" * 1000, 400), RSS_TAIL)


# ---- JSON ---------------------------------------------------------------------------------


def json_100mb_string() -> Callable[[], dict[str, Any]]:
    return vendor_file(
        "acme/items.json", b'[{"id": 1, "name": "Salt"}, {"id": 2, "name": "', (b"x" * MB, 100), b'"}, {"id": 3}]'
    )


def json_100000_deep() -> Callable[[], dict[str, Any]]:
    return vendor_file("acme/items.json", (b"[" * 1000, 100), (b"]" * 1000, 100))


# ---- XLSX ---------------------------------------------------------------------------------

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def workbook_parts(sheet: bytes, shared_strings: bytes | None = None) -> dict[str, bytes]:
    """The parts of a minimal workbook as Excel lays them out: one sheet, shared strings optional."""
    strings_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
    parts = {
        "[Content_Types].xml": (
            XML_HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            + (f'<Override PartName="/xl/sharedStrings.xml" ContentType="{strings_type}"/>' if shared_strings else "")
            + "</Types>"
        ).encode(),
        "_rels/.rels": (
            XML_HEAD + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Target="xl/workbook.xml" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
            "</Relationships>"
        ).encode(),
        "xl/workbook.xml": (
            XML_HEAD + f'<workbook xmlns="{MAIN_NS}" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="Prices" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            XML_HEAD + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
            + (
                '<Relationship Id="rId2" Target="sharedStrings.xml" '
                'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'
                if shared_strings
                else ""
            )
            + "</Relationships>"
        ).encode(),
        "xl/worksheets/sheet1.xml": sheet,
    }
    if shared_strings:
        parts["xl/sharedStrings.xml"] = shared_strings
    return parts


def sheet_xml(rows: list[list[str]], dimension: str = "", shared: bool = False) -> bytes:
    """Rows of text cells; `shared` makes every cell a shared-string index (0, 1, 2, ... in order).

    Excel always writes a <dimension>; without one openpyxl parses the whole sheet while opening
    the workbook, so a sheet broken anywhere fails the whole file there.
    """
    xml = [XML_HEAD, f'<worksheet xmlns="{MAIN_NS}">']
    xml.append(f'<dimension ref="{dimension or f"A1:B{max(len(rows), 1)}"}"/>')
    xml.append("<sheetData>")
    index = 0
    for number, cells in enumerate(rows, start=1):
        xml.append(f'<row r="{number}">')
        for column, text in zip("ABCDEFGHIJ", cells, strict=False):
            if shared:
                xml.append(f'<c r="{column}{number}" t="s"><v>{index}</v></c>')
                index += 1
            else:
                xml.append(f'<c r="{column}{number}" t="inlineStr"><is><t>{text}</t></is></c>')
        xml.append("</row>")
    xml.append("</sheetData></worksheet>")
    return "".join(xml).encode()


def shared_strings_xml(texts: list[str], inside: str = "") -> bytes:
    """`inside` goes between the XML declaration and the root element (a DOCTYPE, say)."""
    items = "".join(f"<si><t>{t}</t></si>" for t in texts)
    return f'{XML_HEAD}{inside}<sst xmlns="{MAIN_NS}" count="{len(texts)}">{items}</sst>'.encode()


PRICE_ROWS = [["SKU", "Name"], ["S1", "Salt"], ["S2", "Sugar"], ["S3", "Rice"]]


def zipped(parts: Mapping[str, bytes | list[bytes]]) -> bytes:
    """A zip of the parts; a part given as a list of chunks is compressed chunk by chunk, so a
    member that inflates to a gigabyte never exists whole in memory (level 1: three times faster
    to build, and still 230:1 on repeated bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in parts.items():
            if isinstance(data, bytes):
                archive.writestr(name, data)
                continue
            with archive.open(name, "w", force_zip64=True) as member:
                for chunk in data:
                    member.write(chunk)
    return out.getvalue()


def patch_member_header(data: bytes, name: str, **fields: int) -> bytes:
    """Rewrite fields of `name`'s local header and central directory entry: `file_size`, `crc`,
    `flags`, `method`; what a hand-made zip that lies says."""
    layouts = {  # signature, offsets of flags, method, crc, file_size (uncompressed), name length
        b"PK\x03\x04": (6, 8, 14, 22, 26, 30),
        b"PK\x01\x02": (8, 10, 16, 24, 28, 46),
    }
    patched = bytearray(data)
    for signature, (flags, method, crc, size, name_length, name_at) in layouts.items():
        at = patched.find(signature)
        while at >= 0:
            (length,) = struct.unpack_from("<H", patched, at + name_length)
            if bytes(patched[at + name_at : at + name_at + length]) == name.encode():
                for field, offset, form in (
                    ("flags", flags, "<H"),
                    ("method", method, "<H"),
                    ("crc", crc, "<I"),
                    ("file_size", size, "<I"),
                ):
                    if field in fields:
                        struct.pack_into(form, patched, at + offset, fields[field])
            at = patched.find(signature, at + 4)
    return bytes(patched)


def xlsx_whose_sheet_inflates_to_500mb_but_claims_20kb() -> Callable[[], dict[str, Any]]:
    """The sheet's data inflates to 500 MB of spaces after its rows, more than a whole workbook
    may; the zip directory says 20 KB, so the size checks pass and only reading the data can tell."""
    sheet = sheet_xml(PRICE_ROWS).replace(b"</sheetData>", b"")
    parts: dict[str, bytes | list[bytes]] = dict(workbook_parts(b""))
    parts["xl/worksheets/sheet1.xml"] = [sheet, *([b" " * 10 * MB] * 50), b"</sheetData></worksheet>"]
    data = patch_member_header(zipped(parts), "xl/worksheets/sheet1.xml", file_size=20_000)
    return vendor_bytes("acme/prices.xlsx", data)


def xlsx_declaring_a_million_columns_and_rows() -> Callable[[], dict[str, Any]]:
    """A 5 KB workbook whose <dimension> claims A1:XFD1048576, with a product in the last row."""
    rows = [*PRICE_ROWS[:2]] + [[] for _ in range(3)]
    sheet = sheet_xml(rows, dimension="A1:XFD1048576").replace(
        b"</sheetData>",
        b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>S9</t></is></c>'
        b'<c r="B1048576" t="inlineStr"><is><t>Pepper</t></is></c></row></sheetData>',
    )
    return vendor_bytes("acme/prices.xlsx", zipped(dict(workbook_parts(sheet))))


def xlsx_with_more_rows_than_excel() -> Callable[[], dict[str, Any]]:
    """1,100,000 empty rows after the products: openpyxl keeps an element per row read (90 bytes
    each). `<row/>` repeated compresses 1000:1, so the ratio check, tested on its own, is lifted."""
    head = sheet_xml(PRICE_ROWS).replace(b"</sheetData></worksheet>", b"")
    sheet = [head, *[b"<row/>" * 100_000] * 11, b"</sheetData></worksheet>"]
    parts: dict[str, bytes | list[bytes]] = {**workbook_parts(b""), "xl/worksheets/sheet1.xml": sheet}
    return vendor_bytes("acme/prices.xlsx", zipped(parts), max_xlsx_member_ratio=10**9)


def xlsx_of_a_million_empty_rows() -> Callable[[], dict[str, Any]]:
    """A sheet formatted down to Excel's last row and nothing in it: 1,048,576 empty `<row>`
    elements, each a numbered one as Excel writes them. openpyxl parses every one (24 s) before
    the reader could say the sheet has no rows."""
    rows = b"".join(b'<row r="%d"/>' % n for n in range(1, 1_048_577))
    sheet = sheet_xml([]).replace(b"<sheetData></sheetData>", b"<sheetData>" + rows + b"</sheetData>")
    return vendor_bytes("acme/prices.xlsx", zipped(dict(workbook_parts(sheet))), max_xlsx_member_ratio=10**9)


def xlsx_of_products_then_a_million_empty_rows() -> Callable[[], dict[str, Any]]:
    """Two products, then empty rows down to Excel's last: the products are read, fast."""
    empty = b"".join(b'<row r="%d"/>' % n for n in range(len(PRICE_ROWS[:3]) + 1, 1_048_577))
    sheet = sheet_xml(PRICE_ROWS[:3]).replace(b"</sheetData>", empty + b"</sheetData>")
    return vendor_bytes("acme/prices.xlsx", zipped(dict(workbook_parts(sheet))), max_xlsx_member_ratio=10**9)


def xlsx_with_200001_shared_strings() -> Callable[[], dict[str, Any]]:
    """One string more than the limit (lowered to 200,000 here to keep the test quick; the rule is
    the same at the default million). openpyxl holds every string: 155 MB per million."""
    texts = ["SKU", "Name", "S1", "Salt", *(str(n) for n in range(200_001))]
    sheet = sheet_xml(PRICE_ROWS[:2], shared=True)
    parts = workbook_parts(sheet, shared_strings_xml(texts))
    return vendor_bytes("acme/prices.xlsx", zipped(dict(parts)), max_xlsx_shared_strings=200_000)


# ---- Photos -------------------------------------------------------------------------------


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_of_zeros(width: int, height: int, pixel_bytes: int) -> bytes:
    """An 8-bit greyscale PNG whose IDAT inflates to `pixel_bytes` of zeros (rows of `width`
    pixels plus a filter byte), compressed 1000:1 or so, whatever size the header claims."""
    deflate = zlib.compressobj(9)
    block = b"\0" * MB
    data = b"".join(deflate.compress(block) for _ in range(pixel_bytes // MB)) + deflate.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")


def gif_of_frames(frames: int, side: int) -> bytes:
    """A GIF of a `side`² first frame and then `frames` - 1 one-pixel frames, 23 bytes each."""
    first = io.BytesIO()
    Image.new("P", (side, side), 0).save(first, "GIF")
    control = b"\x21\xf9\x04\x00\x01\x00\x00\x00"  # graphic control: 10 ms, no disposal
    descriptor = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0)  # one pixel in the corner
    pixels = b"\x02\x02\x44\x01\x00"  # LZW: minimum code size 2; codes clear, 0, end
    return first.getvalue()[:-1] + (control + descriptor + pixels) * (frames - 1) + b";"


def photo(builder: str, *args: int) -> Callable[[], dict[str, Any]]:
    """Decode what `builder(*args)` makes, as the photo pipeline does (model input 224²)."""
    data = globals()[builder](*args)

    def run() -> dict[str, Any]:
        pixels, facts = photo_pixels_with_facts(data, 224)
        return {"shape": list(pixels.shape), "facts": facts}

    return run


def json_200mb_of_whitespace() -> Callable[[], dict[str, Any]]:
    """Whitespace between two items was skipped a character at a time in Python: 30 s."""
    return vendor_file(
        "acme/items.json", b'[{"id": 1, "name": "Salt"}', (b" " * MB, 200), b', {"id": 2, "name": "Sugar"}]'
    )


def xlsx_with_260000_cell_formats() -> Callable[[], dict[str, Any]]:
    """xl/styles.xml, which openpyxl parses into one tree, with 260,000 cell formats: about 1 KB
    of memory each (500,000 of them in a 4 MB upload took 537 MB and 20 s)."""
    formats = "".join(f'<xf numFmtId="{n % 97}" fontId="{n % 13}" xfId="{n}"/>' for n in range(260_000))
    styles = f'{XML_HEAD}<styleSheet xmlns="{MAIN_NS}"><cellXfs count="260000">{formats}</cellXfs></styleSheet>'
    parts = {**workbook_parts(sheet_xml(PRICE_ROWS)), "xl/styles.xml": styles.encode()}
    return vendor_bytes("acme/prices.xlsx", zipped(dict(parts)))


def xlsx_with_260000_elements_between_rows() -> Callable[[], dict[str, Any]]:
    """Elements inside <sheetData> that are not rows: openpyxl never clears them, so it keeps all
    (400 bytes each: 2 million of them in a 5 MB upload took 793 MB)."""
    junk = "".join(f'<x a="{n}"/>' for n in range(260_000)).encode()
    sheet = sheet_xml(PRICE_ROWS).replace(b"</sheetData>", junk + b"</sheetData>")
    return vendor_bytes("acme/prices.xlsx", zipped(dict(workbook_parts(sheet))))
