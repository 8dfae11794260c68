"""Every part of an .xlsx, inflated once and looked at before openpyxl reads any of it.

openpyxl trusts the parts it reads: it builds a DOM of some, keeps every shared string and one
empty element per worksheet row in memory, and leaves entity handling to its XML parser. So each
zip member is read here in chunks, and refused with its name when

- its data does not match what the zip directory declares (a zip whose sizes lie), or it is
  encrypted or compressed in a way we cannot read;
- it is XML with a `<!DOCTYPE` — the only place entities ("billion laughs") and external
  references (XXE) can be declared; Excel never writes one;
- it holds more rows than Excel allows in a sheet, or more shared strings than `Limits` lets us
  hold (5 million strings in a 13 MB upload took openpyxl 780 MB and 95 s).
"""

import codecs
import re
import struct
import zipfile
import zlib
from xml.parsers import expat

from catalogist.errors import BadFile
from catalogist.vendorfiles.limits import Limits

EXCEL_MAX_ROWS = 1_048_576
# What zipfile raises for a damaged archive: BadZipFile for a bad CRC or header, zlib.error for
# deflate data that is not, ValueError for offsets out of the file, RuntimeError for an encrypted
# member, NotImplementedError for a compression method it lacks, struct.error for cut records.
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    RuntimeError,
    NotImplementedError,
    struct.error,
)
_PROLOG_BYTES = 1_000_000  # an XML declaration and a comment or two come before the first element
_ROW = re.compile(r"<(?:[\w.-]+:)?row[\s/>]")
_SHARED_STRING = re.compile(r"<(?:[\w.-]+:)?si[\s/>]")
_OVERLAP = 64  # characters carried between chunks so a tag cut in two is still counted once


class _Doctype(Exception):
    pass


class _FirstElement(Exception):
    pass


def check_parts(archive: zipfile.ZipFile, object_name: str, limits: Limits) -> None:
    for member in archive.infolist():
        if member.is_dir():
            continue
        try:
            _check_part(archive, member, object_name, limits)
        except ZIP_ERRORS as error:
            raise BadFile(f"{object_name}: part {member.filename} of the workbook cannot be read: {error}") from None


def _check_part(archive: zipfile.ZipFile, member: zipfile.ZipInfo, object_name: str, limits: Limits) -> None:
    where = f"{object_name}: part {member.filename} of the workbook"
    rows = strings = 0
    prolog: _Prolog | None = _Prolog(where)
    decoder = None
    carried = ""
    with archive.open(member) as data:
        while True:
            chunk = data.read(limits.chunk_bytes)
            if prolog is not None and prolog.decided(chunk):
                prolog = None
            if decoder is None:
                decoder = codecs.getincrementaldecoder(_encoding(chunk))(errors="replace")
            text = carried + decoder.decode(chunk, final=not chunk)
            counted_up_to = len(text) if not chunk else max(0, len(text) - _OVERLAP)
            rows += sum(1 for m in _ROW.finditer(text) if m.start() < counted_up_to)
            strings += sum(1 for m in _SHARED_STRING.finditer(text) if m.start() < counted_up_to)
            carried = text[counted_up_to:]
            if rows > EXCEL_MAX_ROWS:
                raise BadFile(f"{where} has more than {EXCEL_MAX_ROWS:,} rows, more than Excel allows in a sheet")
            if strings > limits.max_xlsx_shared_strings:
                raise BadFile(
                    f"{where} holds more than {limits.max_xlsx_shared_strings:,} shared strings, more than "
                    "we read from one workbook; save it as CSV instead"
                )
            if not chunk:
                return


class _Prolog:
    """Feeds a part's first bytes to expat until its first element: a DOCTYPE before it is refused."""

    def __init__(self, where: str) -> None:
        self._where = where
        self._seen = 0
        self._parser = expat.ParserCreate()
        self._parser.StartDoctypeDeclHandler = self._doctype
        self._parser.StartElementHandler = self._element

    def decided(self, chunk: bytes) -> bool:
        self._seen += len(chunk)
        try:
            self._parser.Parse(chunk, not chunk)
        except _Doctype:
            raise BadFile(
                f"{self._where} declares a DTD (<!DOCTYPE ...>); Excel never writes one, and it is how XML "
                "entity attacks ('billion laughs', external files or URLs) work; refused"
            ) from None
        except (_FirstElement, expat.ExpatError):
            return True  # the content has begun, or the part is not XML (so no parser reads a DTD in it)
        if self._seen > _PROLOG_BYTES:
            raise BadFile(f"{self._where} has more than {_PROLOG_BYTES:,} bytes before its first element; refused")
        return not chunk

    def _doctype(self, *_: object) -> None:
        raise _Doctype

    def _element(self, *_: object) -> None:
        raise _FirstElement


def _encoding(head: bytes) -> str:
    """XML parts are UTF-8 or UTF-16; tags are found in either."""
    if head.startswith((codecs.BOM_UTF16_LE, b"<\0")):
        return "utf-16-le"
    if head.startswith((codecs.BOM_UTF16_BE, b"\0<")):
        return "utf-16-be"
    return "utf-8"
