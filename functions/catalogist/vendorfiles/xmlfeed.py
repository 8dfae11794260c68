"""XML product feeds, streamed: Google Merchant (RSS 2.0 `<item>`, Atom `<entry>`, `g:` fields)
and Yandex Market YML (`<offer>` with `<categories>` naming `categoryId`).

Parsed by defusedxml: entity declarations (billion laughs) and external references (XXE) are
refused before any of them is expanded. Each item is dropped from the tree once read, and so is
everything outside the items (channel metadata, the category list) once it ends; the stream is
metered so that no single element — a huge text or attribute, tags nested thousands deep — can
hold more than `max_item_bytes` of the file before reading stops.
"""

from collections.abc import Iterator
from typing import Any, BinaryIO
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException, ExternalReferenceForbidden
from defusedxml.ElementTree import iterparse

from catalogist.errors import BadFile
from catalogist.vendorfiles.limits import Limits
from catalogist.vendorfiles.rows import RowProblem, SourceRow

_ITEM_TAGS = {"item", "entry", "offer", "product"}
_MAX_CATEGORY_NAME = 200  # characters of one YML category name kept to name its offers
_MAX_DEPTH = 100  # feeds nest a handful of levels; each open level costs the parser memory


class _Unbounded(Exception):
    """More of the feed was read than one element may hold, with nothing finished meanwhile."""


class _Metered:
    """The feed's bytes, counted since the last moment the tree was emptied of finished work.

    iterparse reads 16 KB at a time and hands over its events in between, so what the parser
    holds is at most `limit` plus one read.
    """

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._read = 0
        self._released = 0

    def read(self, size: int) -> bytes:
        if self._read - self._released > self._limit:
            raise _Unbounded
        data = self._stream.read(size)
        self._read += len(data)
        return data

    def release(self) -> None:
        self._released = self._read


def read_xml(stream: BinaryIO, limits: Limits, where: str) -> Iterator[SourceRow | RowProblem]:
    categories: dict[str, tuple[str, str]] = {}  # YML id → (name, parent id)
    parents: list[Any] = []
    items = 0
    open_items = 0  # item-tag elements around the current one: their fields are kept until they end
    metered = _Metered(stream, limits.max_item_bytes)
    try:
        events = iterparse(
            metered, events=("start", "end"), forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
        for event, element in events:
            tag = _local(element.tag)
            if event == "start":
                parents.append(element)
                open_items += tag in _ITEM_TAGS
                if len(parents) > _MAX_DEPTH:
                    raise BadFile(
                        f"{where}: elements are nested more than {_MAX_DEPTH} deep after item {items}; refused"
                    )
                continue
            parents.pop()
            open_items -= tag in _ITEM_TAGS
            if tag == "category" and "id" in element.attrib:
                if len(categories) < limits.max_xml_categories:
                    categories[element.get("id")] = (
                        (element.text or "").strip()[:_MAX_CATEGORY_NAME],
                        element.get("parentId", "")[:_MAX_CATEGORY_NAME],
                    )
            elif tag in _ITEM_TAGS and _is_item(element):
                items += 1
                yield _row(items, element, categories, limits)
            elif open_items:
                continue  # a field of the item being read
            _drop(element, parents)
            metered.release()
    except _Unbounded:
        what = f"item {items + 1}" if open_items else f"an element after item {items}"
        raise BadFile(f"{where}: {what} is larger than {limits.max_item_bytes:,} bytes; refused") from None
    except LookupError as error:  # <?xml encoding="..."?> names no codec we have
        raise BadFile(f"{where} declares an XML encoding we cannot read: {error}") from None
    except DefusedXmlException as error:
        what = (
            "refers to an external file or URL"
            if isinstance(error, ExternalReferenceForbidden)
            else "declares XML entities (<!ENTITY ...>)"
        )
        raise BadFile(
            f"{where} {what}; feeds may not, because that is how 'billion laughs' and "
            "external-file (XXE) attacks work. Remove the <!DOCTYPE ...> block."
        ) from None
    except ParseError as error:
        raise BadFile(f"{where} is not well-formed XML after {items} items: {error}") from None


def _is_item(element: Any) -> bool:
    """An <item> of a feed has child fields; RSS <channel> metadata items do not."""
    return len(element) > 0


def _row(number: int, element: Any, categories: dict[str, tuple[str, str]], limits: Limits) -> SourceRow | RowProblem:
    cells: dict[str, str] = {}
    size = 0
    for key, value in element.attrib.items():
        cells[_local(key)] = value
    for child in element:
        tag = _local(child.tag)
        if tag == "param" and child.get("name"):  # YML: <param name="Вес" unit="г">500</param>
            key, text = child.get("name"), f"{child.text or ''} {child.get('unit', '')}".strip()
        elif len(child):  # g:shipping → shipping.country, shipping.price
            for inner in child:
                cells.setdefault(f"{tag}.{_local(inner.tag)}", (inner.text or "").strip())
            continue
        else:
            key, text = tag, (child.text or child.get("href") or "").strip()
        size += len(text)
        if key not in cells:  # the first <picture> is the main one
            cells[key] = text
    if size > limits.max_item_bytes:
        return RowProblem(
            number, "(row)", f"item {number} is larger than {limits.max_item_bytes:,} characters; refused"
        )
    if "categoryId" in cells and cells["categoryId"] in categories:
        cells["category"] = _category_path(cells["categoryId"], categories)
    return SourceRow(number, cells)


def _category_path(category_id: str, categories: dict[str, tuple[str, str]]) -> str:
    names: list[str] = []
    while category_id in categories and len(names) < 10:  # parent cycles exist in the wild
        name, category_id = categories[category_id]
        names.append(name)
    return " > ".join(reversed(names))


def _drop(element: Any, parents: list[Any]) -> None:
    element.clear()
    if parents:
        parents[-1].remove(element)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if "}" in tag else tag.split(":")[-1]
