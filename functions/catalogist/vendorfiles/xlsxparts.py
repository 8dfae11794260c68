"""Every part of an .xlsx, inflated once and looked at before openpyxl reads any of it.

openpyxl trusts the parts it reads: it builds a whole tree of some, keeps every shared string,
one empty element per worksheet row and every element around the rows in memory, and leaves
entity handling to its XML parser. So each zip member is read here in chunks, and refused with
its name when

- its data does not match what the zip directory declares (a zip whose sizes lie), or it is
  encrypted or compressed in a way we cannot read;
- it is XML with a `<!DOCTYPE` — the only place entities ("billion laughs") and external
  references (XXE) can be declared; Excel never writes one;
- it holds more rows than Excel allows in a sheet, or more shared strings than `Limits` lets us
  hold (5 million strings in a 13 MB upload took openpyxl 780 MB and 95 s);
- openpyxl would hold more than `MAX_HELD_ELEMENTS` of its elements: a part it reads whole (the
  content types, the workbook, the relationships, the styles, the document properties; 500,000
  cell formats in a 4 MB upload took 537 MB and 20 s), or the elements of a sheet or string
  table outside its rows and strings; or one row or string has more than `MAX_ROW_ELEMENTS`;
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
# What the part structure scan stops at: a comment, CDATA section or instruction (skipped, like
# their content), or a row or shared string tag, opening or closing (attribute values may hold ">").
_NEXT = re.compile(r"""<!--|<!\[CDATA\[|<\?|<(/?)(?:[\w.-]+:)?(row|si)(?=[\s/>])((?:[^>"']|"[^"]*"|'[^']*')*)>""")
_WHOLE_TAG = re.compile(r"""<(?:[^>"']|"[^"]*"|'[^']*')*>""")
_CLOSINGS = {"<!--": "-->", "<![CDATA[": "]]>", "<?": "?>"}  # comments, CDATA, instructions
# Excel cells hold at most 32,767 characters and tags are short; past this expat's rescans add up
# (a 400 MB part of tokens this long costs it seconds, not hours).
LONGEST_TOKEN = 256_000
_MAX_COMMENTS = 1_000  # comments, CDATA and processing instructions in one part; Excel writes none
# Parts openpyxl parses into a whole tree, by the names it reads them by; the workbook part is named
# by the content types, and every relationships part ends in .rels.
_TREE_PARTS = frozenset(
    ["[Content_Types].xml", "xl/styles.xml", "docProps/core.xml", "docProps/app.xml", "docProps/custom.xml"]
)
# Elements openpyxl holds at once, 400 bytes to 1 KB each: a part it reads whole, or the elements
# of a sheet or string table outside its rows and strings (openpyxl never lets those go: 2 million
# of them in a 5 MB upload took 793 MB). Excel's own limit of 64,000 cell formats stays well under.
MAX_HELD_ELEMENTS = 250_000
_ROW_NUMBER = re.compile(r"""(?:^|\s)r\s*=\s*["'](\d{1,7})["']""")
# Elements of one row (16,384 cells of a value and a formula) or one rich shared string.
MAX_ROW_ELEMENTS = 100_000
_MAX_CONTENT_TYPES_BYTES = 1_000_000  # a workbook's list of content types is a few KB


class _Doctype(Exception):
    pass


class _FirstElement(Exception):
    pass


def check_parts(archive: zipfile.ZipFile, object_name: str, limits: Limits) -> dict[str, int]:
    """Raise `BadFile` for a part openpyxl must not be given. Returns, for each part that has
    rows, the number of its last row holding a cell: reading stops there, so a sheet formatted to
    Excel's last row (a million empty rows, 24 s to read) costs no more than its content."""
    read_whole = _TREE_PARTS | _workbook_parts(archive, object_name)
    last_rows = {}
    for member in archive.infolist():
        if member.is_dir():
            continue
        whole = member.filename in read_whole or member.filename.endswith(".rels")
        try:
            structure = _check_part(archive, member, object_name, limits, whole)
        except ZIP_ERRORS as error:
            raise BadFile(f"{object_name}: part {member.filename} of the workbook cannot be read: {error}") from None
        if structure.rows:
            last_rows[member.filename] = structure.last_row_with_cells
    return last_rows


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
) -> "_Structure":
    where = f"{object_name}: part {member.filename} of the workbook"
    prolog = _Prolog(where)
    decided = False
    tokens = _Tokens(where)
    structure = _Structure(where, whole, limits)
    decoder = None
    with archive.open(member) as data:
        while True:
            chunk = data.read(limits.chunk_bytes)
            decided = decided or prolog.decided(chunk)
            if decoder is None:
                decoder = codecs.getincrementaldecoder(_encoding(chunk))(errors="replace")
            text = decoder.decode(chunk, final=not chunk)
            if prolog.is_xml:  # what is not XML no XML parser reads
                tokens.feed(text)
                structure.feed(text, final=not chunk)
            if not chunk:
                return structure


class _Structure:
    """Counts what openpyxl will hold of a part: its rows and shared strings, the elements of a
    part it reads whole, the elements outside rows and strings (kept to the end), and the elements
    of each row or string (held together). Fed the part's text in pieces."""

    def __init__(self, where: str, whole: bool, limits: Limits) -> None:
        self._where = where
        self._whole = whole
        self._max_strings = limits.max_xlsx_shared_strings
        self.rows = self._strings = 0
        self._row_number = 0  # of the row being read: its `r`, else one past the last (as openpyxl)
        self.last_row_with_cells = 0
        self._held = 0  # elements of a part read whole, or outside rows and strings
        self._within = 0  # elements of the row or string being read
        self._inside = False
        self._closing = ""  # the end of the comment (or CDATA, or instruction) being skipped
        self._carry = ""  # a tag or marker cut in two at the end of the last piece

    def feed(self, text: str, final: bool) -> None:
        text, self._carry = self._carry + text, ""
        at = 0
        while True:
            if self._closing:
                end = text.find(self._closing, at)
                if end < 0:
                    self._carry = "" if final else text[max(at, len(text) - len(self._closing) + 1) :]
                    return
                at, self._closing = end + len(self._closing), ""
                continue
            found = _NEXT.search(text, at)
            if found is None:
                cut = len(text)
                last = text.rfind("<", at)
                if not final and last >= 0 and not _WHOLE_TAG.match(text, last):
                    cut = last  # a tag not finished yet: read again with the next piece
                self._count(text[at:cut])
                self._carry = text[cut:]
                return
            self._count(text[at : found.start()])
            at = found.end()
            marker = found.group(0)
            if marker in _CLOSINGS:
                self._closing = _CLOSINGS[marker]
                continue
            closing, kind, attributes = found.groups()
            if self._whole:
                self._count("<")  # rows and strings have caps of their own, except in a whole tree
            if closing:
                if kind == "row" and self._within:
                    self.last_row_with_cells = self._row_number
                self._inside = False
                continue
            self._opened(kind)
            if kind == "row":
                number = _ROW_NUMBER.search(attributes)
                self._row_number = int(number.group(1)) if number else self._row_number + 1
            self._inside, self._within = not attributes.rstrip().endswith("/"), 0

    def _opened(self, kind: str) -> None:
        if kind == "row":
            self.rows += 1
            if self.rows > EXCEL_MAX_ROWS:
                raise BadFile(f"{self._where} has more than {EXCEL_MAX_ROWS:,} rows, more than Excel allows in a sheet")
        else:
            self._strings += 1
            if self._strings > self._max_strings:
                raise BadFile(
                    f"{self._where} holds more than {self._max_strings:,} shared strings, more than "
                    "we read from one workbook; save it as CSV instead"
                )

    def _count(self, segment: str) -> None:
        elements = segment.count("<") - segment.count("</")
        if self._inside and not self._whole:
            self._within += elements
            if self._within > MAX_ROW_ELEMENTS:
                raise BadFile(f"{self._where} has a row or string of more than {MAX_ROW_ELEMENTS:,} elements; refused")
            return
        self._held += elements
        if self._held > MAX_HELD_ELEMENTS:
            raise BadFile(self._too_many())

    def _too_many(self) -> str:
        if self._whole:
            return (
                f"{self._where} has more than {MAX_HELD_ELEMENTS:,} elements; it is read whole into memory "
                "(about 1 KB each), so it is refused"
            )
        return (
            f"{self._where} has more than {MAX_HELD_ELEMENTS:,} elements outside its rows and strings, "
            "all of which are kept in memory; refused"
        )


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
            starts = [(text.find(opening, at), opening, closing) for opening, closing in _CLOSINGS.items()]
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
