"""Which text encoding a vendor file uses, decided on a sample of its first bytes.

BOMs decide first. Then UTF-8 wins when most of the sample's non-ASCII lines are valid UTF-8 —
so a UTF-8 file with a few Windows-1251 rows stays UTF-8 and only those rows are reported.
Otherwise charset-normalizer chooses among the encodings Catalogist's vendors actually send.
"""

import codecs

from charset_normalizer import from_bytes

from catalogist.errors import BadFile
from catalogist.vendorfiles.formats import utf16_without_bom

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CANDIDATES = ["cp1251", "cp1252", "latin_1", "koi8_r", "iso8859_15", "cp866"]


def detect_encoding(sample: bytes, object_name: str, at_eof: bool) -> str:
    """A Python codec name; BadFile when the sample is not text at all."""
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    utf16 = utf16_without_bom(sample)
    if utf16:
        return utf16
    if b"\x00" in sample:
        raise BadFile(f"{object_name} contains binary data (NUL bytes), not text")
    if _mostly_utf8(sample, at_eof):
        return "utf-8"
    best = from_bytes(sample, cp_isolation=_CANDIDATES, threshold=0.3).best()
    if best is None:
        raise BadFile(
            f"{object_name} is not text in any encoding we read (UTF-8, UTF-16, Windows-1251, "
            "Windows-1252/Latin-1, KOI8-R); if it is a spreadsheet, save it as .xlsx or CSV"
        )
    return best.encoding


def check_text_sample(text: str, object_name: str) -> None:
    """Decoded text full of control characters is binary that happened to decode."""
    if not text:
        return
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\r\n")
    if controls / len(text) > 0.01:
        raise BadFile(f"{object_name} contains binary data, not text")


def _mostly_utf8(sample: bytes, at_eof: bool) -> bool:
    lines = sample.split(b"\n")
    if not at_eof and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut mid-character
    valid = invalid = 0
    for line in lines:
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            valid += 1
        except UnicodeDecodeError:
            invalid += 1
    return valid >= invalid and (valid > 0 or invalid == 0)
