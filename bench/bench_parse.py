"""Rows per second of `parse_vendor_file` alone (no Firestore) for a 10,000-row file per format.

    .venv/bin/python bench/bench_parse.py [--rows 10000]
    .venv/bin/python bench/bench_parse.py --smoke    # 200 rows: checks that it runs

Files are generated in memory from BigBasket-like rows, so the figure is parse + normalize only.
"""

import argparse
import csv
import io
import json
import time
from xml.sax.saxutils import escape

from openpyxl import Workbook

from catalogist.vendorfiles import ProductRow, parse_vendor_file

HEADER = ["sku", "name", "brand", "price", "category", "pack size"]


def sample_rows(n: int) -> list[list[str]]:
    return [
        [
            f"SKU-{i}",
            f"Basmati Rice Premium {i % 50} - Aged",
            f"Brand {i % 300}",
            f"{(i % 900) + 10},50 ₹",
            "Foodgrains, Oil & Masala",
            f"{(i % 5) + 1} kg",
        ]
        for i in range(n)
    ]


def files(n: int) -> dict[str, bytes]:
    return encode(sample_rows(n))


def encode(rows: list[list[str]]) -> dict[str, bytes]:
    """The same rows (columns as HEADER) as a file in each supported format."""
    text = io.StringIO()
    csv.writer(text).writerows([HEADER, *rows])
    tsv = io.StringIO()
    csv.writer(tsv, delimiter="\t").writerows([HEADER, *rows])
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Prices")
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    xlsx = io.BytesIO()
    book.save(xlsx)
    items = [dict(zip(HEADER, row, strict=True)) for row in rows]
    xml = ['<?xml version="1.0" encoding="UTF-8"?><rss xmlns:g="http://base.google.com/ns/1.0"><channel>']
    for raw in items:
        item = {k: escape(v) for k, v in raw.items()}
        xml.append(
            f"<item><g:id>{item['sku']}</g:id><title>{item['name']}</title>"
            f"<g:brand>{item['brand']}</g:brand><g:price>{item['price']}</g:price>"
            f"<g:product_type>{item['category']}</g:product_type></item>"
        )
    xml.append("</channel></rss>")
    return {
        "csv": text.getvalue().encode(),
        "tsv": tsv.getvalue().encode(),
        "xlsx": xlsx.getvalue(),
        "json": json.dumps({"products": items}, ensure_ascii=False).encode(),
        "jsonl": "\n".join(json.dumps(i, ensure_ascii=False) for i in items).encode(),
        "xml": "".join(xml).encode(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--smoke", action="store_true", help="200 rows: checks that it runs, figures meaningless")
    args = parser.parse_args()
    if args.smoke:  # the smoke size replaces the default; a flag given still wins
        parser.set_defaults(rows=200)
        args = parser.parse_args()
    print(f"parse_vendor_file alone, {args.rows:,} rows per format, one process:")
    for name, data in files(args.rows).items():
        started = time.perf_counter()
        parsed = parse_vendor_file(io.BytesIO(data), f"bench.{name}")
        products = sum(isinstance(r, ProductRow) for r in parsed.rows)
        seconds = time.perf_counter() - started
        print(
            f"  {name:6s} {products:7d} products  {seconds:6.2f} s  {products / seconds:9,.0f} rows/s"
            f"  ({len(data) / 1e6:.1f} MB)"
        )


if __name__ == "__main__":
    main()
