"""A store's catalogue read through the vendor-file readers: any format, its own column names,
the category as a path or one column per level, any depth, and every row left out reported."""

import csv
import json
from pathlib import Path

import pytest
from openpyxl import Workbook

from catalogist.errors import BadFile
from catalogist_training.catalogue import CatalogueColumns, read_catalogue
from catalogist_training.vendor_data import product_of, products_of
from tests.support import BIGBASKET, require_data

STORE_ROWS = [
    {"item_id": "1", "title": "Greek Yoghurt 500 g", "manufacturer": "Epigamia",
     "category_path": "Food > Dairy > Yoghurt", "price": "120", "list_price": "150"},
    {"item_id": "2", "title": "Orange Juice 1 l", "manufacturer": "Real",
     "category_path": "Drinks > Juice", "price": "99.50", "list_price": ""},
    {"item_id": "3", "title": "Basmati Rice 1 kg", "manufacturer": "India Gate",
     "category_path": "Food > Grains > Rice > Basmati", "price": "n/a", "list_price": "210"},
    {"item_id": "4", "title": "Mystery Box", "manufacturer": "",
     "category_path": "", "price": "10", "list_price": ""},
    {"item_id": "5", "title": "Broken Path", "manufacturer": "",
     "category_path": "Food >  > Yoghurt", "price": "10", "list_price": ""},
    {"item_id": "6", "title": "", "manufacturer": "Nameless",
     "category_path": "Food > Dairy > Milk", "price": "10", "list_price": ""},
]  # fmt: skip
STORE = CatalogueColumns(name="title", level_names=("department", "aisle", "shelf", "variety"))


def written(folder: Path, rows: list[dict[str, str]], name: str = "export.tsv") -> Path:
    path = folder / name
    if name.endswith(".jsonl"):
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    elif name.endswith(".xlsx"):
        book = Workbook()
        sheet = book.active
        sheet.append(list(rows[0]))
        for row in rows:
            sheet.append(list(row.values()))
        book.save(path)
    else:
        with path.open("w", newline="", encoding="utf-8") as handle:
            table = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t" if name.endswith(".tsv") else ",")
            table.writeheader()
            table.writerows(rows)
    return path


@pytest.mark.parametrize("name", ["export.tsv", "export.csv", "export.jsonl", "export.xlsx"])
def test_a_path_column_of_mixed_depth_in_any_format(tmp_path: Path, name: str) -> None:
    catalogue = read_catalogue(written(tmp_path, STORE_ROWS, name), STORE)

    paths = {row.sku: row.category_path for row in catalogue.listings}
    assert paths == {
        "1": ("Food", "Dairy", "Yoghurt"),
        "2": ("Drinks", "Juice"),
        "3": ("Food", "Grains", "Rice", "Basmati"),
    }
    assert catalogue.levels == ("department", "aisle", "shelf", "variety")
    brands = {row.sku: row.brand for row in catalogue.listings}
    assert brands["1"] == "Epigamia"  # `manufacturer`: a synonym the readers know


def test_every_row_left_out_is_counted_under_its_reason_with_examples(tmp_path: Path) -> None:
    report = read_catalogue(written(tmp_path, STORE_ROWS), STORE).report

    assert report.rows_read == 6 and report.rows_kept == 3
    assert report.rejected == {
        "category: column 'category_path' is empty": 1,
        "category: the path has an empty level between its '>'": 1,
        "name: the product name (column 'title') is empty": 1,
    }
    assert report.examples["category: column 'category_path' is empty"][0]["values"]["title"] == "Mystery Box"
    assert report.rows_without_price == {"price: not a price the readers can read": 1}


def test_prices_and_list_prices_in_the_catalogues_currency(tmp_path: Path) -> None:
    rows = [dict(row, price=f"€ {row['price']}") for row in STORE_ROWS[:2]]
    rows.append(dict(STORE_ROWS[2], price="$ 4.50"))

    catalogue = read_catalogue(written(tmp_path, rows), STORE)

    prices = {row.sku: (row.price, row.list_price) for row in catalogue.listings}
    assert prices == {"1": (120.0, 150.0), "2": (99.5, None), "3": (None, 210.0)}
    assert catalogue.currency == "EUR"
    assert catalogue.report.rows_without_price == {"price: in USD, not the catalogue's EUR": 1}


def test_one_column_per_level_where_blank_trailing_levels_make_a_shorter_path(tmp_path: Path) -> None:
    rows = [
        {"sku": "1", "name": "Tea", "dept": "Drinks", "aisle": "Tea", "shelf": "Green Tea"},
        {"sku": "2", "name": "Juice", "dept": "Drinks", "aisle": "Juice", "shelf": ""},
        {"sku": "3", "name": "Odd", "dept": "Drinks", "aisle": "", "shelf": "Green Tea"},
        {"sku": "4", "name": "Milk", "dept": "Dairy", "aisle": "", "shelf": ""},
        {"sku": "5", "name": "Cream", "dept": "Dairy", "aisle": "Cream", "shelf": ""},
        {"sku": "6", "name": "Lager", "dept": "Drinks", "aisle": "Wine/Beer", "shelf": ""},
    ]
    columns = CatalogueColumns(category_levels=("dept", "aisle", "shelf"))

    catalogue = read_catalogue(written(tmp_path, rows), columns)

    assert [row.category_path for row in catalogue.listings] == [
        ("Drinks", "Tea", "Green Tea"),
        ("Drinks", "Juice"),
        ("Dairy", "Cream"),
    ]
    assert catalogue.levels == ("dept", "aisle", "shelf")  # named as the store named its columns
    assert catalogue.report.rejected == {
        "category: level column 'aisle' is empty above a level that is set": 1,
        "category: a name holds '/', which the tree puts between its levels": 1,
        "category: the path is also the parent of other categories (a product belongs in a leaf)": 1,
    }


def test_levels_are_named_by_depth_when_the_store_names_none(tmp_path: Path) -> None:
    catalogue = read_catalogue(written(tmp_path, STORE_ROWS), CatalogueColumns(name="title"))

    assert catalogue.levels == ("level1", "level2", "level3", "level4")


def test_a_mapping_file_names_the_columns_and_a_missing_column_is_named(tmp_path: Path) -> None:
    mapping = tmp_path / "columns.json"
    mapping.write_text(json.dumps({"name": "title", "category_path": "category_path", "separator": ">"}))
    data = written(tmp_path, STORE_ROWS)

    assert len(read_catalogue(data, CatalogueColumns.from_file(mapping)).listings) == 3
    with pytest.raises(BadFile, match="no column 'aisle'"):
        read_catalogue(data, CatalogueColumns(category_levels=("category_path", "aisle")))
    with pytest.raises(BadFile, match="unknown fields"):
        CatalogueColumns.from_json({"title_column": "title"})


def test_bigbasket_reads_as_its_own_csv_reading_did() -> None:
    products = require_data(BIGBASKET, "the BigBasket catalogue")
    with products.open(newline="", encoding="utf-8") as handle:
        before = [p for row in csv.DictReader(handle) if (p := product_of(row)) is not None]

    catalogue = read_catalogue(products)

    after = products_of(catalogue)
    assert catalogue.levels == ("category", "sub_category", "type") and catalogue.currency == "INR"
    # the readers' one change: a name in capitals reads as the function reads it (`unshout`)
    assert [(p.index, p.name.casefold(), p.brand, p.category_path, p.sale_price, p.market_price) for p in after] == [
        (p.index, p.name.casefold(), p.brand, p.category_path, p.sale_price, p.market_price) for p in before
    ]
    assert catalogue.report.rejected == {"name: the product name (column 'product') is empty": 1}


def test_an_id_column_the_readers_cannot_guess_is_named(tmp_path: Path) -> None:
    rows = [{"Artikelkennung": "A-1", "title": "Tea", "category_path": "Drinks > Tea"}]
    data = written(tmp_path, rows, "export.csv")

    with pytest.raises(BadFile, match="SKU"):
        read_catalogue(data)
    catalogue = read_catalogue(data, CatalogueColumns(sku="Artikelkennung"))

    assert [(row.sku, row.name, row.category_path) for row in catalogue.listings] == [("A-1", "Tea", ("Drinks", "Tea"))]
