"""What a vendor file really is, from its first bytes: the name and content type only break ties.

Vendors rename files freely (an Excel list saved as `.csv`, a feed served as `text/plain`), so the
content decides; a file that is none of our formats fails here with a reason naming what it is.
"""

from catalogist.errors import BadFile

FORMATS = ("csv", "tsv", "xlsx", "json", "jsonl", "xml")

_NOT_PRICE_LISTS = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"\xd0\xcf\x11\xe0", "an old Excel 97-2003 .xls (or other Office 97) file; save it as .xlsx or CSV"),
    (b"RIFF", "a RIFF media file (WebP, WAV or AVI)"),
)


def refuse_known_binaries(sample: bytes, object_name: str) -> None:
    """Name the file type when a vendor uploads a PDF or a photo as a price list."""
    for magic, what in _NOT_PRICE_LISTS:
        if sample.startswith(magic):
            raise BadFile(f"{object_name} is {what}, not a price list")


def sniff_format(sample: bytes, text_sample: str, object_name: str, content_type: str) -> str:
    """One of FORMATS. `text_sample` is `sample` decoded (empty for zip files)."""
    if sample.startswith(b"PK\x03\x04"):
        return "xlsx"
    name = object_name.lower()
    kind = content_type.lower()
    head = text_sample.lstrip("\ufeff \t\r\n")
    if head.startswith("<"):
        return "xml"
    if head.startswith("["):
        return "json"
    if head.startswith("{"):
        if name.endswith((".jsonl", ".ndjson")) or "ndjson" in kind or "jsonl" in kind:
            return "jsonl"
        return "jsonl" if _looks_like_json_lines(head) else "json"
    if name.endswith((".tsv", ".tab")) or "tab-separated" in kind:
        return "tsv"
    return "csv"


def _looks_like_json_lines(head: str) -> bool:
    """Two or more lines, each one whole `{...}` object: JSON Lines, not one pretty object."""
    lines = [line.strip() for line in head.splitlines()[:3] if line.strip()]
    return len(lines) >= 2 and all(line.startswith("{") and line.endswith("}") for line in lines[:2])
