"""Hostile inputs for issue 16, each built lazily so a 100 MB bomb never sits in test memory.

Every `case(...)` returns a function that reads the input to the end and summarizes what came
out; `hostile_measure.measure("case", ...)` runs it in a child process, the tests call it too.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from catalogist.vendorfiles import Limits, ProductRow, RowProblem, parse_vendor_file
from tests.unit.test_vendorfiles_bad_input import LazyStream

MB = 1_000_000
Part = bytes | tuple[bytes, int]  # bytes, or (bytes, times repeated)


def summary(results: list[Any]) -> dict[str, Any]:
    problems = [r for r in results if isinstance(r, RowProblem)]
    return {
        "skus": [r.sku for r in results if isinstance(r, ProductRow)][:20],
        "problems": [[p.row_number, p.field, p.reason] for p in problems[:5]],
        "problem_count": len(problems),
    }


def vendor_file(name: str, *parts: Part, **limits: int) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        parsed = parse_vendor_file(LazyStream(*parts), name, limits=Limits(**limits))
        return summary(list(parsed.rows))

    return run


def vendor_bytes(name: str, data: bytes, **limits: int) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        return summary(list(parse_vendor_file(io.BytesIO(data), name, limits=Limits(**limits)).rows))

    return run


# ---- XML ----------------------------------------------------------------------------------

RSS_HEAD = b"<rss><channel><title>Acme</title><item><id>1</id><title>Salt</title></item>"
RSS_TAIL = b"<item><id>3</id><title>Sugar</title></item></channel></rss>"


def xml_100mb_title() -> Callable[[], dict[str, Any]]:
    """One item's title is 100 MB of text."""
    return vendor_file(
        "acme/feed.xml", RSS_HEAD, b"<item><id>2</id><title>", (b"x" * MB, 100), b"</title></item>", RSS_TAIL
    )


def xml_100mb_attribute() -> Callable[[], dict[str, Any]]:
    return vendor_file("acme/feed.xml", RSS_HEAD, b"<item note='", (b"x" * MB, 100), b"'><id>2</id></item>", RSS_TAIL)


def xml_million_deep() -> Callable[[], dict[str, Any]]:
    """Tags nested a million deep between two items: each open level costs the parser memory."""
    return vendor_file("acme/feed.xml", RSS_HEAD, (b"<a>" * 1000, 1000), (b"</a>" * 1000, 1000), RSS_TAIL)


def xml_million_empty_elements() -> Callable[[], dict[str, Any]]:
    """A million `<x/>` beside the items: none is an item, and all of them used to stay in the tree
    (85 bytes each: 12.5 million of them, 50 MB of file, took 1 GB)."""
    return vendor_file("acme/feed.xml", RSS_HEAD, (b"<x/>" * 1000, 1000), RSS_TAIL)


# ---- JSON ---------------------------------------------------------------------------------


def json_100mb_string() -> Callable[[], dict[str, Any]]:
    return vendor_file(
        "acme/items.json", b'[{"id": 1, "name": "Salt"}, {"id": 2, "name": "', (b"x" * MB, 100), b'"}, {"id": 3}]'
    )


def json_100000_deep() -> Callable[[], dict[str, Any]]:
    return vendor_file("acme/items.json", (b"[" * 1000, 100), (b"]" * 1000, 100))
