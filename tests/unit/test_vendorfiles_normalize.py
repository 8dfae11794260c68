"""Prices, pack sizes, barcodes, column names and cell text, one value at a time."""

from decimal import Decimal

import pytest

from catalogist.vendorfiles import ColumnMapping, escape_for_export, guess_mapping
from catalogist.vendorfiles.gtin import gtin_problem, is_valid_gtin
from catalogist.vendorfiles.packsize import PackSize, parse_pack_size
from catalogist.vendorfiles.prices import PriceError, parse_price
from catalogist.vendorfiles.textcells import clean_text, unshout


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("1 299,00 ₽", "1299.00", "RUB"),
        ("1\u00a0299,00 руб.", "1299.00", "RUB"),
        ("$15.00", "15.00", "USD"),
        ("15.00 USD", "15.00", "USD"),
        ("12,5", "12.5", ""),
        ("1.299,00 €", "1299.00", "EUR"),
        ("1,299.50", "1299.50", ""),
        ("1,299", "1299", ""),
        ("15,-", "15", ""),
        ("Rs. 120", "120", "INR"),
        ("149 грн", "149", "UAH"),
        ("0,500", "0.500", ""),
    ],
)
def test_prices_as_people_write_them(text: str, amount: str, currency: str) -> None:
    price = parse_price(text)

    assert price.amount == Decimal(amount)
    assert price.currency == currency


@pytest.mark.parametrize("text", ["", "free", "12 apples", "-5", "по запросу"])
def test_not_a_price_says_why(text: str) -> None:
    with pytest.raises(PriceError) as caught:
        parse_price(text)

    assert str(caught.value)


def test_default_currency_fills_a_bare_number() -> None:
    assert parse_price("3,49", "EUR").currency == "EUR"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500 g", PackSize(1, 500.0, "g")),
        ("1 kg", PackSize(1, 1000.0, "g")),
        ("1,5 l", PackSize(1, 1500.0, "ml")),
        ("2 x 200 ml", PackSize(2, 400.0, "ml")),
        ("200ml x 2", PackSize(2, 400.0, "ml")),
        ("12 pcs", PackSize(12, 12.0, "pcs")),
        ("Pack of 3", PackSize(3, 3.0, "pcs")),
        ("Pack of 3 - 100 g", PackSize(3, 300.0, "g")),
        ("Nivea Creme 250ml", PackSize(1, 250.0, "ml")),
        ("Гречка ядрица 900 г", PackSize(1, 900.0, "g")),
        ("Сок 6 шт", PackSize(6, 6.0, "pcs")),
        ("Coca-Cola 12 x 330 ml", PackSize(12, 3960.0, "ml")),
    ],
)
def test_pack_sizes_in_names(text: str, expected: PackSize) -> None:
    assert parse_pack_size(text) == expected


def test_pack_size_column_with_a_separate_unit_column() -> None:
    assert parse_pack_size("750", "g") == PackSize(1, 750.0, "g")


def test_no_pack_size_in_a_model_number() -> None:
    assert parse_pack_size("iPhone 12") is None


def test_gtin_check_digits() -> None:
    assert is_valid_gtin("4006381333931")
    assert is_valid_gtin("73513537")
    assert is_valid_gtin("036000291452")
    assert not is_valid_gtin("4006381333932")
    assert "check digit" in gtin_problem("4006381333932")
    assert "digits" in gtin_problem("12345")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            ["Artikelnummer", "Bezeichnung", "Marke", "Preis (EUR)", "EAN", "Inhalt"],
            {
                "sku": "Artikelnummer",
                "name": "Bezeichnung",
                "brand": "Marke",
                "price": "Preis (EUR)",
                "gtin": "EAN",
                "pack_size": "Inhalt",
            },
        ),
        (
            ["Артикул", "Наименование", "Производитель", "Цена, руб.", "Штрихкод", "Ед. изм."],
            {
                "sku": "Артикул",
                "name": "Наименование",
                "brand": "Производитель",
                "price": "Цена, руб.",
                "gtin": "Штрихкод",
                "unit": "Ед. изм.",
            },
        ),
        (
            ["Référence", "Désignation", "Marque", "Prix TTC", "Code EAN", "Poids", "Catégorie"],
            {
                "sku": "Référence",
                "name": "Désignation",
                "brand": "Marque",
                "price": "Prix TTC",
                "gtin": "Code EAN",
                "pack_size": "Poids",
                "vendor_category": "Catégorie",
            },
        ),
        (
            ["Referencia", "Nombre", "Marca", "Precio", "Moneda", "Código de barras"],
            {
                "sku": "Referencia",
                "name": "Nombre",
                "brand": "Marca",
                "price": "Precio",
                "currency": "Moneda",
                "gtin": "Código de barras",
            },
        ),
        (
            ["Код товару", "Назва товару", "Виробник", "Ціна, грн", "Опис"],
            {
                "sku": "Код товару",
                "name": "Назва товару",
                "brand": "Виробник",
                "price": "Ціна, грн",
                "description": "Опис",
            },
        ),
        (
            ["id", "title", "price", "brand", "gtin", "image_link", "additional_image_link", "product_type"],
            {
                "sku": "id",
                "name": "title",
                "price": "price",
                "brand": "brand",
                "gtin": "gtin",
                "image_link": "image_link",
                "vendor_category": "product_type",
            },
        ),
    ],
)
def test_column_names_in_six_languages(headers: list[str], expected: dict[str, str]) -> None:
    assert guess_mapping(headers).columns() == expected


def test_currency_named_in_the_price_header() -> None:
    assert guess_mapping(["SKU", "Name", "Preis (EUR)"]).default_currency == "EUR"
    assert guess_mapping(["Артикул", "Наименование", "Цена, руб."]).default_currency == "RUB"
    assert guess_mapping(["Ref", "Nom", "Prix TTC"]).default_currency == ""


def test_mapping_survives_json_and_checks_it_fits() -> None:
    mapping = ColumnMapping(sku="Art.", name="Text", price="VK", default_currency="EUR")

    again = ColumnMapping.from_json(mapping.to_json())

    assert again == mapping
    assert again.fits(["Art.", "Text", "VK", "extra"])
    assert not again.fits(["Art.", "Text"])


def test_cell_text_cleanup() -> None:
    assert clean_text("  Fresh \t Banana\x00\n ") == "Fresh Banana"
    assert unshout("FRESH BANANA ROBUSTA 500G") == "Fresh Banana Robusta 500G"
    assert unshout("iPhone CASE") == "iPhone CASE"


@pytest.mark.parametrize(
    ("value", "exported"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-5", "-5"),
        ("Milk", "Milk"),
        ("", ""),
    ],
)
def test_escape_for_export(value: str, exported: str) -> None:
    assert escape_for_export(value) == exported


def _scores_of_every_synonym(key: str) -> list[tuple[str, float]]:
    """A header key's field scores as they were before synonyms were looked up by word: every
    synonym of every field scored (the reference the indexed lookup must equal, order included:
    equal scores are settled by it)."""
    from catalogist.vendorfiles import mapping

    scores = []
    for field_name, names in mapping.SYNONYMS.items():
        ranked = (mapping._score(key, mapping._SYNONYM_KEYS[n]) - rank * 0.01 for rank, n in enumerate(names))
        best = max(ranked, default=0.0)
        if best > 0:
            scores.append((field_name, best))
    return scores


def test_the_word_index_scores_each_header_as_scoring_every_synonym_did() -> None:
    import csv
    import random

    from catalogist.vendorfiles.mapping import _field_scores, header_key
    from catalogist.vendorfiles.synonyms import SYNONYMS
    from tests.support import BIGBASKET, require_data

    synonyms = [name for names in SYNONYMS.values() for name in names]
    random.seed(3)
    header_rows = [
        # synonyms inside longer headers: the suffix, prefix and inner-words rules
        [f"{random.choice(['', 'Vendor ', 'Our '])}{name}{random.choice(['', ' (EUR)', ' 2', ' id'])}" for name in row]
        for row in (random.sample(synonyms, 8) for _ in range(300))
    ]
    with require_data(BIGBASKET, "the BigBasket catalogue").open(newline="", encoding="utf-8") as handle:
        # data lines, as the header search scores them
        header_rows += [row for _, row in zip(range(300), csv.reader(handle), strict=False)]
    header_rows += [["", "___", "Ⅻ", "ÄÖÜ price", "Цена, руб.", "prix_TTC", "vendorCode", "x" * 99]]

    keys = {header_key(header) for headers in header_rows for header in headers} - {""}
    assert len(keys) > 2000
    for key in keys:
        assert list(_field_scores(key).items()) == _scores_of_every_synonym(key), key
