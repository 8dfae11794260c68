"""Kind detection on real bytes: what the first bytes say beats what the name says."""

import io
import json
import random
import zipfile

import pytest
from openpyxl import Workbook
from PIL import Image

from catalogist.vendorfiles.formats import Kind, Verdict, detect_kind


def image_bytes(image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 180, 40)).save(buffer, format=image_format)
    return buffer.getvalue()


def xlsx_bytes() -> bytes:
    workbook = Workbook()
    workbook.active.append(["SKU", "Name", "Price"])
    workbook.active.append(["A-1", "Apples", 1.99])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "image_format", "expected"),
    [
        ("acme/1.jpg", "JPEG", "jpeg"),
        ("acme/1.png", "PNG", "png"),
        ("acme/1.webp", "WEBP", "webp"),
        ("acme/1.gif", "GIF", "gif"),
    ],
)
def test_photos_are_recognized_by_their_bytes(name, image_format, expected):
    verdict = detect_kind(name, "", image_bytes(image_format))
    assert (verdict.kind, verdict.format) == (Kind.PHOTO, expected)


def test_a_png_named_jpg_is_still_a_photo():
    assert detect_kind("acme/1.jpg", "image/jpeg", image_bytes("PNG")).format == "png"


def test_a_pdf_named_jpg_is_not_a_photo():
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, format="PDF")
    verdict = detect_kind("acme/1.jpg", "image/jpeg", buffer.getvalue())
    assert verdict.kind is Kind.UNSUPPORTED
    assert verdict.reason == "the content is a PDF document named .jpg"


def test_html_named_jpg_is_rejected_as_html():
    verdict = detect_kind("acme/1.jpg", "image/jpeg", b"<!DOCTYPE html><html><body>404</body></html>")
    assert verdict.kind is Kind.UNSUPPORTED
    assert "HTML" in verdict.reason


@pytest.mark.parametrize(
    ("name", "content", "expected_format"),
    [
        ("acme/list.csv", "SKU;Name;Price\nA-1;Äpfel;1,99 €\n".encode(), "csv"),
        ("acme/list.csv", "\ufeffSKU,Name\nA-1,Apples\n".encode(), "csv"),
        ("acme/list.csv", "SKU,Наименование\nA-1,Яблоки\n".encode("utf-16"), "csv"),
        ("acme/list.csv", "SKU,Наименование\nA-1,Яблоки\n".encode("cp1251"), "csv"),
        ("acme/list.tsv", b"SKU\tName\nA-1\tApples\n", "tsv"),
        ("acme/feed.json", json.dumps([{"sku": "A-1", "name": "Apples"}]).encode(), "json"),
        ("acme/feed.jsonl", b'{"sku": "A-1"}\n{"sku": "A-2"}\n', "jsonl"),
        ("acme/feed.xml", b'<?xml version="1.0"?><rss xmlns:g="http://base.google.com/ns/1.0"/>', "xml"),
    ],
)
def test_vendor_files_in_every_text_format(name, content, expected_format):
    verdict = detect_kind(name, "", content)
    assert (verdict.kind, verdict.format, verdict.reason) == (Kind.VENDOR_FILE, expected_format, "")


def test_xlsx_is_a_vendor_file():
    verdict = detect_kind("acme/prices.xlsx", "", xlsx_bytes())
    assert (verdict.kind, verdict.format) == (Kind.VENDOR_FILE, "xlsx")


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("prices/2026.csv", "SKU,Name\nA-1,Apples\n")
    return buffer.getvalue()


def test_a_zip_archive_is_rejected_whatever_its_name():
    for name in ("acme/prices.zip", "acme/prices.csv"):
        verdict = detect_kind(name, "application/zip", zip_bytes())
        assert verdict.kind is Kind.UNSUPPORTED
        assert "zip archive" in verdict.reason


def test_a_workbook_is_a_workbook_whatever_its_name():
    for name in ("acme/prices.zip", "acme/prices.csv", "acme/prices"):
        assert detect_kind(name, "", xlsx_bytes()) == Verdict(Kind.VENDOR_FILE, "xlsx")


@pytest.mark.parametrize(
    ("name", "content", "expected_format"),
    [
        ("acme/list.txt", json.dumps([{"sku": "A-1", "name": "Apples"}]).encode(), "json"),
        ("acme/list.txt", b'{"sku": "A-1"}\n{"sku": "A-2"}\n', "jsonl"),
        ("acme/feed.csv", b"<?xml version='1.0'?><offers/>", "xml"),
        ("acme/list.csv", "SKU\tName\nA-1\tApples\n".encode("utf-16-le"), "csv"),
    ],
)
def test_the_content_decides_the_format_the_name_only_breaks_ties(name, content, expected_format):
    assert detect_kind(name, "", content) == Verdict(Kind.VENDOR_FILE, expected_format)


def test_the_content_type_decides_when_there_is_no_extension():
    verdict = detect_kind("acme/feed", "application/json; charset=utf-8", b'[{"sku": "A-1"}]')
    assert (verdict.kind, verdict.format) == (Kind.VENDOR_FILE, "json")


def test_an_empty_object_is_rejected():
    verdict = detect_kind("acme/list.csv", "text/csv", b"")
    assert verdict.kind is Kind.UNSUPPORTED
    assert verdict.reason == "the object is empty (0 bytes)"


def test_random_bytes_are_unsupported_whatever_the_name():
    noise = random.Random(7).randbytes(4096)
    for name in ("acme/list.csv", "acme/photo.jpg", "acme/blob.bin"):
        verdict = detect_kind(name, "", noise)
        assert verdict.kind is Kind.UNSUPPORTED, name
        assert verdict.reason


def test_random_bytes_named_csv_say_they_are_binary():
    verdict = detect_kind("acme/list.csv", "", random.Random(7).randbytes(4096))
    assert verdict.reason == "named .csv but the content is binary, not text"


def test_an_unknown_extension_lists_what_is_accepted():
    verdict = detect_kind("acme/notes.docx", "", b"plain words")
    assert verdict.kind is Kind.UNSUPPORTED
    assert ".csv" in verdict.reason and ".jpg" in verdict.reason
