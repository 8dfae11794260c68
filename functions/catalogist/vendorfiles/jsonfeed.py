"""JSON price lists, streamed item by item: an array, an object holding the array, JSON Lines.

The standard library decodes one value at a time (`raw_decode`) from a sliding text buffer, so
memory holds one item, not the file. Items nested deeper than `MAX_NESTING` are refused (those
nested deeper than the decoder's own recursion guard cannot even be skipped, so in a JSON array
reading stops there); nested objects inside an item are flattened to `price.amount` columns.
Whole numbers stay the digits the vendor wrote: a 5,000-digit "price" is text to reject, not an
integer Python refuses to convert.
"""

import codecs
import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from catalogist.errors import BadFile
from catalogist.vendorfiles.limits import Limits
from catalogist.vendorfiles.rows import RowProblem, SourceRow
from catalogist.vendorfiles.streams import TextLines


class _Digits(str):
    """A JSON whole number, kept as its text."""


_DECODER = json.JSONDecoder(parse_int=_Digits)
_SPACE = re.compile(r"[ \t\r\n\ufeff]*")
MAX_NESTING = 64  # levels of objects and lists in one item; real feeds use a handful
_MAX_FLATTEN_DEPTH = 8
_KIND = {
    _Digits: "a number",
    int: "a number",
    float: "a number",
    str: "text",
    list: "a list",
    bool: "true/false",
    type(None): "null",
}
_HOLDER_DEPTH = 4  # {"data": {"catalog": {"products": [...]}}} is as deep as we look


class _Buffer:
    """A window on the decoded text; `pos` is the next unread character."""

    def __init__(self, stream: BinaryIO, encoding: str, limits: Limits, where: str) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        self._limits = limits
        self.where = where
        self.text = ""
        self.pos = 0
        self.eof = False
        self.items_seen = 0

    def fill(self) -> bool:
        if self.eof:
            return False
        data = self._stream.read(self._limits.chunk_bytes)
        try:
            self.text = self.text[self.pos :] + self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as error:
            raise BadFile(
                f"{self.where} is not valid UTF-8 JSON after item {self.items_seen}: {error.reason}"
            ) from None
        self.pos = 0
        self.eof = not data
        return True

    def peek(self) -> str:
        while True:
            self.pos = _SPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]  # matches ""
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.fill():
                return ""

    def expect(self, char: str) -> None:
        found = self.peek()
        if found != char:
            raise BadFile(
                f"{self.where} is not valid JSON: expected '{char}' after item "
                f"{self.items_seen}, found {found or 'the end of the file'!r}"
            )
        self.pos += 1

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except RecursionError:
                raise BadFile(
                    f"{self.where}: item {self.items_seen + 1} is nested too deeply (hundreds of levels); refused"
                ) from None
            except json.JSONDecodeError as error:
                if self._grow():
                    continue
                raise BadFile(f"{self.where} is not valid JSON near item {self.items_seen + 1}: {error.msg}") from None
            except ValueError as error:  # a float the decoder cannot convert, for example
                raise BadFile(
                    f"{self.where} has a value it cannot read near item {self.items_seen + 1}: {error}"
                ) from None
            if end < len(self.text) or self.eof or not self._grow():
                self.pos = end  # a number at the buffer's edge may continue: read on first
                return value

    def _grow(self) -> bool:
        if len(self.text) - self.pos > self._limits.max_item_bytes:
            raise BadFile(
                f"{self.where}: item {self.items_seen + 1} is larger than "
                f"{self._limits.max_item_bytes:,} characters; refused"
            )
        return self.fill()


def read_json(stream: BinaryIO, encoding: str, limits: Limits, where: str) -> Iterator[SourceRow | RowProblem]:
    buffer = _Buffer(stream, encoding, limits, where)
    first = buffer.peek()
    if first == "[":
        yield from _array_items(buffer)
    elif first == "{":
        yield from _holder_items(buffer, depth=0)
    else:
        raise BadFile(f"{where} is not a JSON list of products (it starts with {first!r})")


def read_json_lines(lines: TextLines, limits: Limits) -> Iterator[SourceRow | RowProblem]:
    for line in lines:
        number = lines.line_number
        if number in lines.problems:
            yield RowProblem(number, "(row)", lines.problems.pop(number))
            continue
        if not line.strip():
            continue
        try:
            item = _DECODER.decode(line)
        except RecursionError:
            yield RowProblem(number, "(row)", f"line {number} is nested too deeply; refused")
            continue
        except json.JSONDecodeError as error:
            yield RowProblem(number, "(row)", f"line {number} is not valid JSON: {error.msg}")
            continue
        except ValueError as error:
            yield RowProblem(number, "(row)", f"line {number} has a value we cannot read: {error}")
            continue
        yield _row(number, item)


def _array_items(buffer: _Buffer) -> Iterator[SourceRow | RowProblem]:
    buffer.expect("[")
    yield from _array_rest(buffer)


def _array_rest(buffer: _Buffer) -> Iterator[SourceRow | RowProblem]:
    """Items up to the closing `]`; the opening `[` is already consumed."""
    if buffer.peek() == "]":
        buffer.pos += 1
        return
    while True:
        item = buffer.value()
        buffer.items_seen += 1
        yield _row(buffer.items_seen, item)
        if buffer.peek() == ",":
            buffer.pos += 1
            continue
        buffer.expect("]")
        return


def _holder_items(buffer: _Buffer, depth: int) -> Iterator[SourceRow | RowProblem]:
    if not (yield from _find_list(buffer, depth)):
        raise BadFile(f"{buffer.where} holds no list of products")


def _find_list(buffer: _Buffer, depth: int):
    """Stream the first list of objects under an object's keys, e.g. {"products": [...]}.

    Returns whether one was found; metadata around it (paging, vendor info) is skipped.
    """
    buffer.expect("{")
    while buffer.peek() not in ("}", ""):
        buffer.value()  # the key
        buffer.expect(":")
        following = buffer.peek()
        if following == "[":
            buffer.pos += 1
            if buffer.peek() == "{":
                yield from _array_rest(buffer)
                return True
            _skip_rest_of_array(buffer)
        elif following == "{" and depth < _HOLDER_DEPTH:
            if (yield from _find_list(buffer, depth + 1)):
                return True
        else:
            buffer.value()
        if buffer.peek() == ",":
            buffer.pos += 1
    buffer.expect("}")
    return False


def _skip_rest_of_array(buffer: _Buffer) -> None:
    while buffer.peek() not in ("]", ""):
        buffer.value()
        if buffer.peek() == ",":
            buffer.pos += 1
    buffer.expect("]")


def _row(number: int, item: Any) -> SourceRow | RowProblem:
    if not isinstance(item, dict):
        return RowProblem(
            number,
            "(row)",
            f"item {number} is {_KIND.get(type(item), 'a value')}, not an object with named fields",
        )
    if _nesting(item) > MAX_NESTING:
        return RowProblem(
            number, "(row)", f"item {number} is nested too deeply (more than {MAX_NESTING} levels); refused"
        )
    cells: dict[str, str] = {}
    _flatten(item, "", cells, 0)
    return SourceRow(number, cells)


def _nesting(item: Any) -> int:
    """Levels of objects and lists, counted without recursion (so without Python's own limit)."""
    deepest, level = 0, [(item, 1)]
    while level:
        value, depth = level.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_NESTING:
            break
        inner = value.values() if isinstance(value, dict) else value
        level.extend((v, depth + 1) for v in inner if isinstance(v, dict | list))
    return deepest


def _flatten(value: Any, prefix: str, cells: dict[str, str], depth: int) -> None:
    if isinstance(value, dict) and depth < _MAX_FLATTEN_DEPTH:
        for key, inner in value.items():
            _flatten(inner, f"{prefix}.{key}" if prefix else str(key), cells, depth + 1)
    elif isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        cells[prefix] = ", ".join("" if v is None else str(v) for v in value)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        _flatten(value[0], prefix, cells, depth + 1)  # e.g. images: [{url: ...}]: the main one
    elif isinstance(value, dict | list):
        cells[prefix] = json.dumps(value, ensure_ascii=False)[:10_000]
    elif isinstance(value, bool):
        cells[prefix] = "true" if value else "false"
    elif value is not None:
        cells[prefix] = str(value)
