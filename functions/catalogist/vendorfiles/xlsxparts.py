"""Every part of an .xlsx, inflated once and looked at before openpyxl reads any of it.

openpyxl trusts the parts it reads: it builds a DOM of some, keeps every shared string and one
empty element per worksheet row in memory, and leaves entity handling to its XML parser. So each
zip member is read here in chunks, and refused with its name when

- its data does not match what the zip directory declares (a zip whose sizes lie), or it is
  encrypted or compressed in a way we cannot read;
- it is XML with a `<!DOCTYPE` — the only place entities ("billion laughs") and external
  references (XXE) can be declared; Excel never writes one;
- it holds more rows than Excel allows in a sheet, or more shared strings than `Limits` lets us
  hold (5 million strings in a 13 MB upload took openpyxl 780 MB and 95 s);
- openpyxl reads it whole into a tree (the content types, the workbook, the relationships, the
  styles, the document properties) and it has more elements than `MAX_TREE_ELEMENTS`: 500,000
  cell formats in a 4 MB upload took 537 MB and 20 s;
- it is XML with a tag, attribute, text, comment or processing instruction longer than Excel
  ever writes: the expat that Python 3.11 carries (2.5) parses again from its start a token it
  has not seen the end of at every 16 KB openpyxl feeds it, so one of 8 MB took 5 s and one of
  100 MB would take a quarter of an hour.
"""

import codecs
import re
import struct
import zipfile
import zlib
from xml.etree.ElementTree import ParseError
from xml.parsers import expat

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

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
# Excel cells hold at most 32,767 characters and tags are short; past this expat's rescans add up
# (a 400 MB part of tokens this long costs it seconds, not hours).
LONGEST_TOKEN = 256_000
_MAX_COMMENTS = 1_000  # comments, CDATA and processing instructions in one part; Excel writes none
_SPECIAL = (("<!--", "-->"), ("<![CDATA[", "]]>"), ("<?", "?>"))
# Parts openpyxl parses into a whole tree, by the names it reads them by; the workbook part is named
# by the content types, and every relationships part ends in .rels.
_TREE_PARTS = frozenset(
    ["[Content_Types].xml", "xl/styles.xml", "docProps/core.xml", "docProps/app.xml", "docProps/custom.xml"]
)
# About 1 KB each in openpyxl; Excel's own limit of 64,000 cell formats stays well under it.
MAX_TREE_ELEMENTS = 250_000
_MAX_CONTENT_TYPES_BYTES = 1_000_000  # a workbook's list of content types is a few KB


class _Doctype(Exception):
    pass


class _FirstElement(Exception):
    pass


def check_parts(archive: zipfile.ZipFile, object_name: str, limits: Limits) -> None:
    read_whole = _TREE_PARTS | _workbook_parts(archive, object_name)
    for member in archive.infolist():
        if member.is_dir():
            continue
        whole = member.filename in read_whole or member.filename.endswith(".rels")
        try:
            _check_part(archive, member, object_name, limits, whole)
        except ZIP_ERRORS as error:
            raise BadFile(f"{object_name}: part {member.filename} of the workbook cannot be read: {error}") from None


def _workbook_parts(archive: zipfile.ZipFile, object_name: str) -> set[str]:
    """The workbook part(s) the content types name, as openpyxl finds its workbook; nothing when
    they cannot be read (openpyxl then refuses the file itself)."""
    try:
        info = archive.getinfo("[Content_Types].xml")
    except KeyError:
        return set()
    if info.file_size > _MAX_CONTENT_TYPES_BYTES:
        raise BadFile(
            f"{object_name}: part [Content_Types].xml of the workbook is {info.file_size:,} bytes; "
            f"at most {_MAX_CONTENT_TYPES_BYTES:,} are read"
        )
    try:
        types = fromstring(archive.read(info), forbid_dtd=True)
    except (*ZIP_ERRORS, DefusedXmlException, ParseError):
        return set()  # the part-by-part check names what is wrong with it
    return {
        str(override.get("PartName", "")).lstrip("/")
        for override in types
        if str(override.tag).endswith("Override") and ".main+xml" in str(override.get("ContentType", ""))
    }


def _check_part(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, object_name: str, limits: Limits, whole: bool
) -> None:
    where = f"{object_name}: part {member.filename} of the workbook"
    rows = strings = elements = 0
    prolog = _Prolog(where)
    decided = False
    tokens = _Tokens(where)
    decoder = None
    carried = ""
    with archive.open(member) as data:
        while True:
            chunk = data.read(limits.chunk_bytes)
            decided = decided or prolog.decided(chunk)
            if decoder is None:
                decoder = codecs.getincrementaldecoder(_encoding(chunk))(errors="replace")
            new_text = decoder.decode(chunk, final=not chunk)
            if prolog.is_xml:
                tokens.feed(new_text)
                elements += new_text.count("<") - new_text.count("</")
                if whole and elements > MAX_TREE_ELEMENTS:
                    raise BadFile(
                        f"{where} has more than {MAX_TREE_ELEMENTS:,} elements; it is read whole into memory "
                        "(about 1 KB each), so it is refused"
                    )
            text = carried + new_text
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


class _Tokens:
    """The longest run of a part's text without a `<` (a tag and its attributes cannot hold one),
    and the length of each comment, CDATA section and processing instruction, fed in pieces."""

    def __init__(self, where: str) -> None:
        self._where = where
        self._run = 0  # characters since the last "<"
        self._closing = ""  # the end of the comment (or CDATA, or instruction) we are inside
        self._inside = 0  # its characters so far
        self._specials = 0
        self._tail = ""  # the last characters fed, where a marker cut in two begins

    def feed(self, text: str) -> None:
        pieces = text.split("<")
        if len(pieces) == 1:
            self._run += len(text)
        else:
            self._check(self._run + len(pieces[0]))
            self._check(max(map(len, pieces[1:-1]), default=0))
            self._run = len(pieces[-1])
        self._check(self._run)
        self._specials_in(self._tail + text, len(self._tail))
        self._tail = text[-8:] if len(text) >= 8 else (self._tail + text)[-8:]

    def _specials_in(self, text: str, old: int) -> None:
        """`text[:old]` was seen in the last piece; markers reaching past it are new."""
        at = 0
        while True:
            if self._closing:
                end = text.find(self._closing, at)
                self._inside += (len(text) if end < 0 else end) - max(at, old)
                self._check(self._inside)
                if end < 0:
                    return
                at, self._closing = end + len(self._closing), ""
            starts = [(text.find(opening, at), opening, closing) for opening, closing in _SPECIAL]
            found = [(i, o, c) for i, o, c in starts if i >= 0 and i + len(o) > old]
            if not found:
                return
            start, opening, self._closing = min(found)
            self._inside = 0
            self._specials += 1
            if self._specials > _MAX_COMMENTS:
                raise BadFile(
                    f"{self._where} has more than {_MAX_COMMENTS:,} comments or processing instructions; "
                    "Excel writes none; refused"
                )
            at = start + len(opening)

    def _check(self, length: int) -> None:
        if length > LONGEST_TOKEN:
            raise BadFile(
                f"{self._where} has a tag, text or comment of more than {LONGEST_TOKEN:,} characters "
                "(an Excel cell holds at most 32,767); refused"
            )


class _Prolog:
    """Feeds a part's first bytes to expat until its first element: a DOCTYPE before it is refused."""

    def __init__(self, where: str) -> None:
        self._where = where
        self.is_xml = False  # expat met an element before any error
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
        except _FirstElement:
            self.is_xml = True
            return True
        except expat.ExpatError:
            return True  # not XML, so no XML parser reads a DTD (or anything else) in it
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
