"""What an uploaded object is: a product photo, a vendor file in one of our formats, or
unsupported. The one table of magic numbers, extensions and content types; the ledger decides
with it once, and the import reads the file in the format decided here.

The first bytes decide first, then the extension and content type: a PDF named `.jpg` is not a
photo, a PNG named `.jpg` still is, and a feed of JSON named `list.txt` is JSON. Pure: bytes and
names in, a verdict out.
"""

from __future__ import annotations

import codecs
import enum
from dataclasses import dataclass
from pathlib import PurePosixPath

HEAD_BYTES = 65_536  # how much of an object is read to decide (enough for a few JSON Lines records)


class Kind(enum.StrEnum):
    PHOTO = "photo"
    VENDOR_FILE = "vendor_file"
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class Verdict:
    kind: Kind
    # For photos the image format, for vendor files the file format (one of FILE_FORMATS).
    format: str
    reason: str = ""  # why an object is unsupported, in words an admin understands


FILE_FORMATS = ("csv", "tsv", "xlsx", "json", "jsonl", "xml")
PHOTO_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".gif"}
FILE_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xml": "xml",
    ".yml": "xml",  # Yandex Market feeds are XML whatever they are called
}
CONTENT_TYPE_FORMATS = {
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/json": "json",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/xml": "xml",
    "text/xml": "xml",
    "application/rss+xml": "xml",
    "application/atom+xml": "xml",
}

# Magic numbers of what we may be sent; images are accepted whatever their name says.
_IMAGE_MAGIC = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)
# Recognized so the rejection can name them; never processed.
_OTHER_MAGIC = (
    (b"%PDF-", "a PDF document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel .xls (or other Office 97) file; save it as .xlsx or CSV"),
    (b"Rar!", "a RAR archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "a Windows executable"),
)
_ZIP = b"PK\x03\x04"
# Names an Office Open XML workbook's first zip entries have: an .xlsx renamed .csv is still one.
_WORKBOOK_ENTRIES = (b"[Content_Types].xml", b"_rels/", b"docProps/", b"xl/")
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
ACCEPTED = "photos are .jpg/.png/.webp, price lists .csv/.tsv/.xlsx/.json/.jsonl/.xml"


def detect_kind(name: str, content_type: str, head: bytes) -> Verdict:
    """Decide from the object name, its declared content type and its first bytes."""
    extension = PurePosixPath(name).suffix.lower()
    if not head:
        return Verdict(Kind.UNSUPPORTED, "", "the object is empty (0 bytes)")

    image_format = _image_format(head)
    if image_format:
        return Verdict(Kind.PHOTO, image_format)
    for magic, what in _OTHER_MAGIC:
        if head.startswith(magic):
            return Verdict(Kind.UNSUPPORTED, "", f"the content is {what}{_named(extension)}")

    if extension in PHOTO_EXTENSIONS:
        described = "HTML" if _looks_like_html(head) else "not an image"
        return Verdict(Kind.UNSUPPORTED, "", f"named {extension} but the content is {described}")

    media_type = content_type.split(";")[0].strip().lower()
    declared = FILE_EXTENSIONS.get(extension) or CONTENT_TYPE_FORMATS.get(media_type, "")
    if head.startswith(_ZIP):
        if declared == "xlsx" or any(entry in head[:200] for entry in _WORKBOOK_ENTRIES):
            return Verdict(Kind.VENDOR_FILE, "xlsx")
        return Verdict(Kind.UNSUPPORTED, "", f"the content is a zip archive{_named(extension)}, not an Excel .xlsx")
    if not declared:
        kind_of_file = _named(extension) or " (no extension)"
        return Verdict(Kind.UNSUPPORTED, "", f"unsupported file type{kind_of_file}: {ACCEPTED}")
    if declared == "xlsx":
        return Verdict(Kind.UNSUPPORTED, "", f"named {extension} but the content is not an Excel .xlsx (not a zip)")
    text = head_text(head)
    if text is None:
        return Verdict(Kind.UNSUPPORTED, "", f"named {extension or content_type} but the content is binary, not text")
    if _looks_like_html(head):
        return Verdict(Kind.UNSUPPORTED, "", f"named {extension or content_type} but the content is HTML")
    return Verdict(Kind.VENDOR_FILE, _text_format(text, declared))


def _text_format(text: str, declared: str) -> str:
    """The content's own markers first (a feed of JSON named .txt is JSON), the name's after."""
    start = text.lstrip("\ufeff \t\r\n")
    if start.startswith("<"):
        return "xml"
    if start.startswith("["):
        return "json"
    if start.startswith("{"):
        return "jsonl" if declared == "jsonl" or _looks_like_json_lines(start) else "json"
    return declared if declared in ("csv", "tsv") else "csv"


def _looks_like_json_lines(start: str) -> bool:
    """Two or more lines, each one whole `{...}` object: JSON Lines, not one pretty object."""
    lines = [line.strip() for line in start.splitlines()[:3] if line.strip()]
    return len(lines) >= 2 and all(line.startswith("{") and line.endswith("}") for line in lines[:2])


def head_text(head: bytes) -> str | None:
    """The first bytes as text, enough to see its markers; None when they are not text.

    UTF-16 carries a BOM or NULs on one side of its ASCII; single-byte encodings and UTF-8 carry
    no NULs and few control bytes. Undecodable bytes are dropped: only the markers matter here.
    """
    if head.startswith(_UTF16_BOMS):
        return head.decode("utf-16", errors="ignore")
    head = head.removeprefix(codecs.BOM_UTF8)
    utf16 = utf16_without_bom(head)
    if utf16:
        return head.decode(utf16, errors="ignore")
    if b"\x00" in head:
        return None
    # Control bytes other than tab/newline/CR/formfeed are rare in any text encoding.
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13))
    if controls > len(head) // 100:
        return None
    return head.decode("latin-1")


def utf16_without_bom(sample: bytes) -> str:
    """Spaces, digits and separators are ASCII: UTF-16 puts their NUL byte on one side only."""
    even, odd = sample[0:4000:2], sample[1:4000:2]
    if len(sample) < 4:
        return ""
    if odd.count(0) > 0.05 * len(odd) and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) > 0.05 * len(even) and odd.count(0) == 0:
        return "utf-16-be"
    return ""


def _image_format(head: bytes) -> str:
    for magic, image_format in _IMAGE_MAGIC:
        if head.startswith(magic):
            return image_format
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return ""


def _named(extension: str) -> str:
    return f" named {extension}" if extension else ""


def _looks_like_html(head: bytes) -> bool:
    start = head.lstrip(codecs.BOM_UTF8).lstrip()[:256].lower()
    return start.startswith((b"<!doctype html", b"<html")) or b"<html" in start[:100]
