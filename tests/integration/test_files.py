"""Vendor price lists through the real emulators: products and an import report, whatever the format."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from tests.support import final_ledger_entry, products_of, vendor

FIXTURES = Path(__file__).parents[1] / "fixtures" / "vendorfiles"


def xlsx_bytes() -> bytes:
    """A title block above the header and a second sheet, as vendors send them."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Dairy"
    sheet.append(["Price list, November"])
    sheet.append([])
    sheet.append(["SKU", "Product name", "Brand", "Price", "Pack size"])
    sheet.append(["X-1", "Amul Taaza Toned Milk", "Amul", 54, "1 l"])
    sheet.append(["X-2", "Mother Dairy Paneer", "Mother Dairy", 95, "200 g"])
    bakery = workbook.create_sheet("Bakery")
    bakery.append(["SKU", "Product name", "Brand", "Price"])
    bakery.append(["X-3", "Britannia Whole Wheat Bread", "Britannia", 50])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


FILES = [
    ("de_latin1.tsv", (FIXTURES / "de_latin1.tsv").read_bytes(), "tsv", {"D-1", "D-2"}),
    ("ru_cp1251.csv", (FIXTURES / "ru_cp1251.csv").read_bytes(), "csv", {"A-1", "A-2"}),
    ("products.json", (FIXTURES / "products.json").read_bytes(), "json", {"J-1", "J-2"}),
    ("products.jsonl", (FIXTURES / "products.jsonl").read_bytes(), "jsonl", None),
    ("merchant_rss.xml", (FIXTURES / "merchant_rss.xml").read_bytes(), "xml", None),
    ("merchant_atom.xml", (FIXTURES / "merchant_atom.xml").read_bytes(), "xml", None),
    ("yandex_yml.xml", (FIXTURES / "yandex_yml.xml").read_bytes(), "xml", None),
    ("prices.xlsx", xlsx_bytes(), "xlsx", {"X-1", "X-2", "X-3"}),
]


@pytest.mark.parametrize(("name", "content", "file_format", "skus"), FILES, ids=[f[0] for f in FILES])
def test_a_price_list_in_any_format_becomes_products(uploads, firestore, name, content, file_format, skus):
    seller = vendor()
    blob = uploads.blob(f"{seller}/{name}")
    blob.upload_from_string(content)

    entry = final_ledger_entry(firestore, uploads.name, blob, timeout=90)

    assert entry["status"] == "done", entry.get("reason")
    report = firestore.collection("imports").document(entry["import_id"]).get().to_dict()
    assert (report["status"], report["format"]) == ("done", file_format)
    assert report["rows_seen"] >= 2 and report["written"] == report["rows_seen"] - report["rejected"]
    assert report["column_mapping"]
    written = list(products_of(firestore, seller).values())
    assert len(written) == report["written"]
    if skus is not None:
        assert {p["sku"] for p in written} == skus
    for product in written:
        assert product["name"]
        assert product["text_category"]["path_text"]
        assert product["category"]["source"] == "text"
        assert product["price"]["predicted"] > 0
        assert product["price"]["low"] <= product["price"]["predicted"] <= product["price"]["high"]
        assert product["source_file"]["generation"] == str(blob.generation)


def test_a_photo_and_a_file_row_of_one_sku_meet_in_one_product(uploads, firestore):
    seller = vendor()
    photo = uploads.blob(f"{seller}/X-1.jpg")
    photo.upload_from_filename(str(Path(__file__).parents[2] / "infra" / "samples" / "banana.jpg"))
    final_ledger_entry(firestore, uploads.name, photo, timeout=90)
    listing = uploads.blob(f"{seller}/prices.xlsx")
    listing.upload_from_string(xlsx_bytes())
    final_ledger_entry(firestore, uploads.name, listing, timeout=90)

    product = firestore.collection("products").document(f"{seller}:X-1").get().to_dict()

    assert product["name"] == "Amul Taaza Toned Milk"
    assert "image_category" in product and "text_category" in product
    assert product["photos"]


def test_a_new_version_of_a_file_updates_what_changed(uploads, firestore):
    seller = vendor()
    blob = uploads.blob(f"{seller}/prices.csv")
    blob.upload_from_string("SKU;Name;Brand\nV-1;Tata Salt 1 kg;Tata\nV-2;Aashirvaad Atta 5 kg;Aashirvaad\n")
    first = final_ledger_entry(firestore, uploads.name, blob, timeout=90)
    blob.upload_from_string("SKU;Name;Brand\nV-1;Tata Salt 1 kg;Tata\nV-2;Aashirvaad Atta 10 kg;Aashirvaad\n")

    second = final_ledger_entry(firestore, uploads.name, blob, timeout=90)

    report = firestore.collection("imports").document(second["import_id"]).get().to_dict()
    assert second["import_id"] != first["import_id"]
    assert (report["written"], report["unchanged"]) == (1, 1)
    assert firestore.collection("products").document(f"{seller}:V-2").get().get("name") == "Aashirvaad Atta 10 kg"


def zip_bomb_xlsx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b"a" * 20_000_000 + b"/>")
    return buffer.getvalue()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss><channel><item><title>&lol3;</title></item></channel></rss>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss><channel><item><title>&secret;</title></item></channel></rss>"""


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("garbage.csv", bytes(range(256)) * 64, "binary"),
        ("bomb.xlsx", zip_bomb_xlsx(), "zip"),
        ("laughs.xml", BILLION_LAUGHS, "entit"),
        ("external.xml", EXTERNAL_ENTITY, "entit"),
        ("deep.json", b"[" * 10_000 + b"]" * 10_000, "deep"),
        ("header-only.csv", b"SKU;Name;Price\n", "no product rows"),
    ],
)
def test_a_bad_file_is_rejected_with_a_clear_reason(uploads, firestore, name, content, reason):
    blob = uploads.blob(f"{vendor()}/{name}")
    blob.upload_from_string(content)

    entry = final_ledger_entry(firestore, uploads.name, blob, timeout=90)

    assert entry["status"] == "rejected"
    assert reason in entry["reason"].lower()


def test_importing_the_same_file_twice_from_the_command_line_changes_nothing(stack, firestore, tmp_path):
    import os
    import subprocess
    import sys

    listing = tmp_path / "prices.csv"
    listing.write_text("SKU;Name;Brand;Price\nC-1;Tata Salt 1 kg;Tata;Rs. 28\nC-2;Amul Butter 500 g;Amul;Rs. 275\n")
    seller = vendor()
    release_env = stack.config.function_env
    env = {
        **os.environ,
        **stack.config.client_env(),
        "CATALOGIST_TEXTCAT_RELEASE": release_env["CATALOGIST_TEXTCAT_RELEASE"],
        "CATALOGIST_PRICE_RELEASE": release_env["CATALOGIST_PRICE_RELEASE"],
        "CATALOGIST_MODEL_CACHE_DIR": str(tmp_path / "cache"),
    }
    command = [str(Path(sys.executable).parent / "catalogist"), "import", str(listing), "--vendor", seller]

    runs = [
        subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False) for _ in range(2)
    ]

    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr[-2000:]
    assert '"written": 2' in runs[0].stdout
    products = products_of(firestore, seller)
    assert set(products) == {f"{seller}:C-1", f"{seller}:C-2"}
    assert products[f"{seller}:C-1"]["price"]["mode"] == "list_price"
    assert runs[0].stdout.splitlines()[0] == runs[1].stdout.splitlines()[0], "the same import id both times"
