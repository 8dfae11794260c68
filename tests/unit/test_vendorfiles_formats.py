"""Good files in every format parse into the same products."""

import io
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, cast

import pytest
from openpyxl import Workbook

from catalogist.errors import BadFile
from catalogist.vendorfiles import ColumnMapping, ParsedFile, ProductRow, RowProblem, parse_vendor_file

FIXTURES = Path(__file__).parent.parent / "fixtures" / "vendorfiles"


def products(parsed: ParsedFile) -> list[ProductRow]:
    return [r for r in parsed.rows if isinstance(r, ProductRow)]


def test_csv_with_quoted_multiline_cells() -> None:
    data = (
        b"sku,name,brand,price\n"
        b'S1,"Milk, full cream 1 l",Amul,"1,299.00"\n'
        b'S2,"Bread\nwhole wheat",Modern,45\n'
        b'S3,Eggs 12 pcs,Farm,"$6.50"\n'
    )

    parsed = parse_vendor_file(io.BytesIO(data), "v/prices.csv", "text/csv")
    rows = products(parsed)

    assert (parsed.format, parsed.encoding) == ("csv", "utf-8")
    assert [r.sku for r in rows] == ["S1", "S2", "S3"]
    assert rows[0].vendor_price == Decimal("1299.00")
    assert rows[0].pack_quantity == 1000.0 and rows[0].pack_unit == "ml"
    assert rows[1].name == "Bread whole wheat"
    assert rows[2].currency == "USD" and rows[2].pack_count == 12
    assert [r.row_number for r in rows] == [2, 3, 5]


def test_semicolon_csv_in_windows_1251() -> None:
    parsed = parse_vendor_file(io.BytesIO((FIXTURES / "ru_cp1251.csv").read_bytes()), "ru.csv")
    rows = products(parsed)

    assert parsed.encoding == "cp1251"
    assert rows[0].name == "Масло сливочное 82,5%"
    assert rows[0].vendor_price == Decimal("1299.00") and rows[0].currency == "RUB"
    assert rows[1].pack_quantity == 100.0


def test_tsv_in_latin_1_with_a_title_block_above_the_header() -> None:
    parsed = parse_vendor_file(io.BytesIO((FIXTURES / "de_latin1.tsv").read_bytes()), "de.tsv")
    rows = products(parsed)

    assert parsed.format == "tsv"
    assert parsed.mapping.sku == "Artikelnummer"
    assert rows[0].name == "Käse Gouda jung" and rows[0].row_number == 4
    assert rows[0].currency == "EUR" and rows[0].gtin == "4006381333931"
    assert rows[1].pack_count == 6 and rows[1].pack_quantity == 6000.0


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "utf-16-le"])
def test_unicode_encodings_with_and_without_bom(encoding: str) -> None:
    text = "Артикул;Наименование;Цена\nA1;Чай «Майский» 100 г;149,50\nA2;Café crème;2,10\n"

    parsed = parse_vendor_file(io.BytesIO(text.encode(encoding)), "p.csv")
    rows = products(parsed)

    assert parsed.mapping.sku == "Артикул"
    assert [r.name for r in rows] == ["Чай «Майский» 100 г", "Café crème"]


def _workbook_bytes() -> bytes:
    book = Workbook()
    cover = book.active
    cover.title = "Cover"
    cover.append(["Acme price list"])
    cover.append(["Valid from 2024-01-01"])
    sheet = book.create_sheet("Dairy")
    sheet.append(["Acme Dairy", None, None])
    sheet.append([])
    sheet.append(["Article number", "Product name", "Price", "EAN"])
    sheet.append([1001, "Butter 200 g", 2.5, 4006381333931])
    sheet.append([1002, '=HYPERLINK("http://evil")', "3,10 €", None])
    sheet["B5"].data_type = "s"  # text that looks like a formula, as a vendor may type it
    second = book.create_sheet("Bakery")
    second.append(["Article number", "Product name", "Price"])
    second.append(["B-1", "Rye bread 500 g", 1.75])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_header_below_a_title_and_several_sheets() -> None:
    parsed = parse_vendor_file(io.BytesIO(_workbook_bytes()), "v/list.xlsx")
    rows = products(parsed)

    assert parsed.format == "xlsx"
    assert [(r.sheet, r.row_number, r.sku) for r in rows] == [
        ("Dairy", 4, "1001"),
        ("Dairy", 5, "1002"),
        ("Bakery", 2, "B-1"),
    ]
    assert rows[0].gtin == "4006381333931" and rows[0].vendor_price == Decimal("2.5")
    assert rows[1].name == '=HYPERLINK("http://evil")'  # kept as text, never evaluated
    assert rows[1].currency == "EUR"


def test_xlsx_from_a_stream_that_cannot_seek() -> None:
    class OneWay(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            data = self._inner.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)

    stream = cast(BinaryIO, OneWay(_workbook_bytes()))  # a RawIOBase, cast as parse.py casts its own ReplayStream
    parsed = parse_vendor_file(stream, "v/list.xlsx")

    assert len(products(parsed)) == 3


@pytest.mark.parametrize(
    ("name", "skus", "first_price", "currency"),
    [
        ("products.json", ["J-1", "J-2"], "3.99", "EUR"),
        ("products.jsonl", ["L-1", "L-2"], "8.50", "USD"),
        ("merchant_rss.xml", ["ACM-001", "ACM-002"], "15.00", "USD"),
        ("merchant_atom.xml", ["A-1", "A-2"], "4.50", "EUR"),
        ("yandex_yml.xml", ["101", "102"], "1299.00", "RUB"),
    ],
)
def test_feeds(name: str, skus: list[str], first_price: str, currency: str) -> None:
    parsed = parse_vendor_file(io.BytesIO((FIXTURES / name).read_bytes()), name)
    rows = products(parsed)

    assert [r.sku for r in rows] == skus
    assert rows[0].vendor_price == Decimal(first_price)
    assert rows[0].currency == currency


def test_merchant_fields_and_nested_shipping_become_attributes() -> None:
    parsed = parse_vendor_file(io.BytesIO((FIXTURES / "merchant_rss.xml").read_bytes()), "feed.xml")
    first = products(parsed)[0]

    assert first.vendor_category == "Foodgrains > Rice"
    assert first.image_link == "https://acme.example/img/1.jpg"
    assert dict(first.attributes)["shipping.price"] == "3.00 USD"


def test_yml_offer_gets_its_category_path_and_first_picture() -> None:
    parsed = parse_vendor_file(io.BytesIO((FIXTURES / "yandex_yml.xml").read_bytes()), "yml.xml")
    first = products(parsed)[0]

    assert first.brand == "Мистраль"
    assert first.vendor_category == "Бакалея > Крупы"
    assert first.image_link == "https://shop.example/101.jpg"
    assert dict(first.attributes)["Страна"] == "Россия"


def test_json_list_held_under_nested_keys() -> None:
    data = b'{"meta": {"tags": [1, 2]}, "data": {"items": [{"id": 7, "name": "Tea 50 g"}]}}'

    rows = products(parse_vendor_file(io.BytesIO(data), "x.json"))

    assert [(r.sku, r.pack_quantity) for r in rows] == [("7", 50.0)]


def test_known_mapping_is_reused_for_the_vendors_next_file() -> None:
    saved = ColumnMapping(sku="Code", name="Text", price="Amount", default_currency="CHF")
    data = b"Code,Text,Amount,Colour\nC1,Chocolate 100 g,2.20,brown\n"

    parsed = parse_vendor_file(io.BytesIO(data), "x.csv", known_mapping=saved)
    row = products(parsed)[0]

    assert parsed.mapping == saved
    assert row.currency == "CHF" and dict(row.attributes) == {"Colour": "brown"}


def test_a_known_mapping_that_no_longer_fits_is_guessed_again() -> None:
    saved = ColumnMapping(sku="Code", name="Text")
    data = b"sku,name\nS1,Salt\n"

    parsed = parse_vendor_file(io.BytesIO(data), "x.csv", known_mapping=saved)

    assert parsed.mapping.sku == "sku"


def test_a_saved_mapping_finds_a_header_no_guess_would() -> None:
    saved = ColumnMapping(sku="Spalte 1", name="Spalte 2", price="Spalte 3")
    data = b"Preisliste Mai;;\nSpalte 1;Spalte 2;Spalte 3\nR-1;Basmati rice 1 kg;250,00\n"

    with pytest.raises(BadFile, match="no header row"):
        parse_vendor_file(io.BytesIO(data), "x.csv")
    parsed = parse_vendor_file(io.BytesIO(data), "x.csv", known_mapping=saved)
    rows = products(parsed)

    assert parsed.mapping == saved
    assert [(r.row_number, r.sku, r.name, r.vendor_price) for r in rows] == [
        (3, "R-1", "Basmati rice 1 kg", Decimal("250.00"))
    ]


def test_rows_with_problems_do_not_stop_good_rows() -> None:
    data = b"sku,name,price,ean\nS1,Salt,1.00,\n,Pepper,2.00,\nS3,,3.00,\nS4,Sugar,free,\nS5,Rice,4,123\n"

    # Any: the rows are read by position, a ProductRow or a RowProblem as the first assert says
    results: list[Any] = list(parse_vendor_file(io.BytesIO(data), "x.csv").rows)

    assert [type(r).__name__ for r in results] == ["ProductRow", "RowProblem", "RowProblem", "RowProblem", "ProductRow"]
    problems = [r for r in results if isinstance(r, RowProblem)]
    assert [(p.row_number, p.field) for p in problems] == [(3, "sku"), (4, "name"), (5, "price")]
    assert "'free' has no number" in problems[2].reason
    assert "GTIN '123'" in results[-1].notes[0]
