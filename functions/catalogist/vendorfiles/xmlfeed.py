"""XML product feeds, streamed: Google Merchant (RSS 2.0 `<item>`, Atom `<entry>`, `g:` fields)
and Yandex Market YML (`<offer>` with `<categories>` naming `categoryId`).

Parsed by defusedxml: entity declarations (billion laughs) and external references (XXE) are
refused before any of them is expanded. Each item is dropped from the tree once read.
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


def read_xml(stream: BinaryIO, limits: Limits, where: str) -> Iterator[SourceRow | RowProblem]:
    categories: dict[str, tuple[str, str]] = {}  # YML id → (name, parent id)
    parents: list[Any] = []
    items = 0
    events = iterparse(stream, events=("start", "end"), forbid_dtd=False, forbid_entities=True, forbid_external=True)
    try:
        for event, element in events:
            tag = _local(element.tag)
            if event == "start":
                parents.append(element)
                continue
            parents.pop()
            if tag == "category" and "id" in element.attrib:
                if len(categories) < limits.max_xml_categories:
                    categories[element.get("id")] = (
                        (element.text or "").strip(),
                        element.get("parentId", ""),
                    )
                _drop(element, parents)
            elif tag in _ITEM_TAGS and _is_item(element):
                items += 1
                yield _row(items, element, categories, limits)
                _drop(element, parents)
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
