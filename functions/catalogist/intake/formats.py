"""What an uploaded object is: a product photo, a vendor file, or unsupported.

Decided from the first bytes first, then the extension and content type: a PDF named `.jpg` is
not a photo, and a PNG named `.jpg` still is. Pure: bytes and names in, a verdict out.
"""

from __future__ import annotations

import codecs
import enum
from dataclasses import dataclass
from pathlib import PurePosixPath

HEAD_BYTES = 4096  # how much of an object is read to decide


class Kind(enum.StrEnum):
    PHOTO = "photo"
    VENDOR_FILE = "vendor_file"
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class Verdict:
    kind: Kind
    # For photos the image format, for vendor files the file format (csv, xlsx, json, xml, …).
    format: str
    reason: str = ""  # why an object is unsupported, in words an admin understands


PHOTO_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".gif"}
FILE_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
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
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Office (.xls/.doc) file"),
    (b"Rar!", "a RAR archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "a Windows executable"),
)
_TEXT_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


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

    file_format = FILE_EXTENSIONS.get(extension) or CONTENT_TYPE_FORMATS.get(
        content_type.split(";")[0].strip().lower(), ""
    )
    if head.startswith(b"PK\x03\x04"):
        if file_format == "xlsx":
            return Verdict(Kind.VENDOR_FILE, "xlsx")
        return Verdict(Kind.UNSUPPORTED, "", f"the content is a zip archive{_named(extension)}, not an .xlsx")
    if not file_format:
        return Verdict(
            Kind.UNSUPPORTED,
            "",
            f"unsupported file type{_named(extension) or ' (no extension)'}: photos are "
            ".jpg/.png/.webp, price lists .csv/.tsv/.xlsx/.json/.jsonl/.xml",
        )
    if file_format == "xlsx":
        return Verdict(Kind.UNSUPPORTED, "", f"named {extension} but the content is not a zip (.xlsx)")
    if not _looks_like_text(head):
        return Verdict(Kind.UNSUPPORTED, "", f"named {extension or content_type} but the content is binary, not text")
    if _looks_like_html(head):
        return Verdict(Kind.UNSUPPORTED, "", f"named {extension or content_type} but the content is HTML")
    return Verdict(Kind.VENDOR_FILE, file_format)


def _image_format(head: bytes) -> str:
    for magic, image_format in _IMAGE_MAGIC:
        if head.startswith(magic):
            return image_format
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return ""


def _named(extension: str) -> str:
    return f" named {extension}" if extension else ""


def _looks_like_text(head: bytes) -> bool:
    """Text in some encoding: UTF-16 carries a BOM; single-byte encodings carry no NULs."""
    if head.startswith(_TEXT_BOMS[1:]):
        return True
    sample = head.removeprefix(codecs.BOM_UTF8)
    if b"\x00" in sample:
        return False
    # Control bytes other than tab/newline/CR/formfeed are rare in any text encoding.
    controls = sum(1 for byte in sample if byte < 32 and byte not in (9, 10, 12, 13))
    return controls <= len(sample) // 100


def _looks_like_html(head: bytes) -> bool:
    start = head.lstrip(codecs.BOM_UTF8).lstrip()[:256].lower()
    return start.startswith((b"<!doctype html", b"<html")) or b"<html" in start[:100]
