"""Hostile XML feeds (issue 16): entity tricks never fetch or read anything, and no element can
make the reader hold more than `Limits.max_item_bytes` of the file."""

import io
from pathlib import Path

import pytest

from catalogist.errors import BadFile
from catalogist.vendorfiles import ProductRow, parse_vendor_file
from tests.support import METADATA_URL
from tests.unit.hostile_measure import MB, measure


def results(data: bytes, name: str = "acme/feed.xml") -> list:
    return list(parse_vendor_file(io.BytesIO(data), name).rows)


def xxe_feeds(secret: Path) -> dict[str, bytes]:
    item = "<rss><channel><item><id>1</id><title>{}</title></item></channel></rss>"
    return {
        "metadata-entity": (
            f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "{METADATA_URL}">]>' + item.format("&x;")
        ).encode(),
        "file-entity": (
            f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file://{secret}">]>' + item.format("&x;")
        ).encode(),
        "parameter-entity": (
            f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % x SYSTEM "{METADATA_URL}"> %x;]>' + item.format("t")
        ).encode(),
        "external-dtd-metadata": (
            f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{METADATA_URL}">' + item.format("t")
        ).encode(),
        "external-dtd-file": (
            f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "file://{secret}">' + item.format("t")
        ).encode(),
    }


@pytest.mark.parametrize(
    "case", ["metadata-entity", "file-entity", "parameter-entity", "external-dtd-metadata", "external-dtd-file"]
)
def test_xxe_fetches_and_reads_nothing(case: str, secret_file: Path, no_network: list) -> None:
    feed = xxe_feeds(secret_file)[case]

    try:
        found = results(feed)
    except BadFile as error:
        assert "<!DOCTYPE" in error.reason or "entities" in error.reason
        found = []

    assert no_network == []
    assert not any("SECRET" in repr(r) for r in found)
    # A DOCTYPE that only names an external DTD declares nothing: it is not fetched, the feed is read.
    assert all(isinstance(r, ProductRow) for r in found)


def test_an_unknown_declared_encoding_is_a_reason_not_a_crash() -> None:
    feed = (
        b'<?xml version="1.0" encoding="utf-0"?><rss><channel><item><id>1</id><title>S</title></item></channel></rss>'
    )

    with pytest.raises(BadFile, match=r"declares an XML encoding we cannot read.*utf-0"):
        results(feed)


def test_elements_nested_100000_deep_are_refused() -> None:
    with pytest.raises(BadFile, match="nested more than 100 deep"):
        results(b"<rss>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</rss>")


def test_category_names_are_cut_to_200_characters() -> None:
    feed = (
        '<yml_catalog><shop><categories><category id="1">' + "Крупы" * 1000 + "</category></categories>"
        '<offers><offer id="7"><name>Рис</name><categoryId>1</categoryId></offer></offers></shop></yml_catalog>'
    ).encode()

    (row,) = results(feed, "acme/feed.yml")

    assert row.vendor_category == ("Крупы" * 40)


@pytest.mark.parametrize(
    ("case", "stopped_at"),
    [
        ("xml_100mb_title", "item 2 is larger than 1,000,000 bytes"),
        ("xml_100mb_attribute", "an element after item 1 is larger than 1,000,000 bytes"),
        ("xml_million_deep", "nested more than 100 deep after item 1"),
    ],
)
def test_an_oversized_element_stops_reading_in_bounded_memory(case: str, stopped_at: str) -> None:
    measured = measure(case)

    assert measured.outcome["skus"] == ["1"]
    ((row, field, reason),) = measured.outcome["problems"]
    assert (row, field) == (2, "(file)") and stopped_at in reason
    assert measured.peak_growth < 30 * MB  # before the meter: 192 MB for the title, GBs nested
    assert measured.seconds < 30


def test_elements_outside_the_items_are_forgotten_as_they_end() -> None:
    measured = measure("xml_400000_empty_elements")

    assert measured.outcome == {"skus": ["1", "3"], "problems": [], "problem_count": 0}
    assert measured.peak_growth < 15 * MB  # 34 MB before, growing with the file
