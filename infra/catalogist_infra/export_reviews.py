"""`catalogist export reviews --out DIR [--since DATE]`: what humans decided, as training data.

    DIR/photos/train.csv, val.csv     image,category manifests `catalogist train classifier
                                      --data DIR/photos` (or `--extra DIR/photos`) reads
    DIR/photos/images/...             each reviewed product's photos, fetched from Storage at the
                                      generation the review was made on
    DIR/rows.csv                      products.csv columns (plus vendor, sku, split) that
                                      `train textcat` / `train price` read (`--extra`), the
                                      values exactly as they are
    DIR/rows-for-spreadsheets.csv     the same rows for people: a cell a spreadsheet would run
                                      as a formula starts with an apostrophe
    DIR/export.json                   what was exported, from when, and how many

A product's latest human decision counts (undone ones do not). Photos go where their category
is a leaf of the image tree, rows where it is a leaf of the catalogue tree; one product never
sits in both train and validation: the split is a hash of `vendor:sku`. Training reads the
values as they are (a product named `-2+3` must still match its catalogue twin); the copy for
people escapes vendor text (`escape_for_export`), so `=HYPERLINK(…)` in a product name stays
text when that CSV is opened in a spreadsheet.
"""

from __future__ import annotations

import argparse
import csv
import json
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from catalogist.documents import products
from catalogist.documents.products import Product
from catalogist.documents.values import HumanPrice
from catalogist.flags import add_flag
from catalogist.vendorfiles import escape_for_export
from catalogist_infra.command_settings import add_store_flags, command_settings

VALIDATION_PERCENT = 15
PAGE = 500
ROW_COLUMNS = (
    "index",
    "product",
    "category",
    "sub_category",
    "type",
    "brand",
    "sale_price",
    "market_price",
    "description",
    "vendor",
    "sku",
    "split",
)


def split_of(vendor: str, sku: str) -> str:
    return "val" if zlib.crc32(f"review-split:{vendor}:{sku}".encode()) % 100 < VALIDATION_PERCENT else "train"


def latest_decisions(documents: Any, since: datetime) -> dict[str, dict[str, Any]]:
    """The newest review with a human category per product, reviewed at or after `since`,
    read page by page (a range on `reviewed_at`, never the whole collection at once)."""
    latest: dict[str, dict[str, Any]] = {}
    after = since
    first = True
    while True:
        operator = ">=" if first else ">"
        page = documents.query("reviews", [("reviewed_at", operator, after)], [("reviewed_at", "asc")], PAGE)
        for _, review in page:
            if review.get("undone") or "human_category" not in (review.get("human") or {}):
                continue
            latest[review["product_id"]] = review
        if len(page) < PAGE:
            return latest
        after, first = page[-1][1]["reviewed_at"], False


def export(documents: Any, blobs: Any, out: Path, since: datetime, image_depth: int = 3) -> dict[str, Any]:
    photos_dir = out / "photos"
    (photos_dir / "images").mkdir(parents=True, exist_ok=True)
    manifests: dict[str, list[tuple[str, str]]] = {"train": [], "val": []}
    rows: list[dict[str, str]] = []
    decisions = latest_decisions(documents, since)
    for product_id, review in sorted(decisions.items()):
        human = review["human"]["human_category"]
        path, tree = human["path"], human.get("tree", "")
        split = split_of(review.get("vendor", ""), review.get("sku", ""))
        # only whole paths of a tree are labels a model learns (a leaf of its taxonomy)
        in_image_tree = tree == "image" and len(path) == image_depth
        in_text_tree = tree == "text" and len(path) == 3
        if in_image_tree:
            for key, source in sorted((review.get("photos") or {}).items()):
                if not source:
                    continue
                data = blobs.read_all(source["bucket"], source["name"], str(source["generation"]), 25 * 1024 * 1024)
                relative = Path("images", *path, f"{_safe(product_id)}_{_safe(key)}.jpg")
                (photos_dir / relative).parent.mkdir(parents=True, exist_ok=True)
                (photos_dir / relative).write_bytes(data)
                manifests[split].append((str(relative), "/".join(path)))
        if in_text_tree:
            product = Product.from_fields(product_id, documents.get(products.COLLECTION, product_id) or {})
            reviewed = HumanPrice.from_fields(review["human"].get(products.HUMAN_PRICE)) or product.human_price
            known = reviewed.price if reviewed else product.vendor_price
            price = known.amount if known else None
            rows.append(
                {
                    "index": f"review:{product_id}",
                    "product": product.name,
                    "category": path[0],
                    "sub_category": path[1],
                    "type": path[2],
                    "brand": product.brand,
                    "sale_price": "" if price is None else f"{price}",
                    "market_price": "",
                    "description": product.description,
                    "vendor": review.get("vendor", ""),
                    "sku": review.get("sku", ""),
                    "split": "validation" if split == "val" else "train",
                }
            )
    for split, entries in manifests.items():
        with (photos_dir / f"{split}.csv").open("w", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(["image", "category"])
            writer.writerows(entries)
    with (out / "rows.csv").open("w", newline="", encoding="utf-8") as stream:
        table = csv.DictWriter(stream, fieldnames=ROW_COLUMNS)
        table.writeheader()
        table.writerows(rows)
    with (out / "rows-for-spreadsheets.csv").open("w", newline="", encoding="utf-8") as stream:
        table = csv.DictWriter(stream, fieldnames=ROW_COLUMNS)
        table.writeheader()
        table.writerows({name: escape_for_export(value) for name, value in row.items()} for row in rows)
    summary = {
        "since": since.isoformat(),
        "exported_at": datetime.now(UTC).isoformat(),
        "decisions": len(decisions),
        "photos": {split: len(entries) for split, entries in manifests.items()},
        "rows": len(rows),
    }
    (out / "export.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:120]


def run(args: argparse.Namespace) -> int:
    from catalogist.adapters.storage import StorageBlobs
    from catalogist.wiring import document_store

    settings = command_settings(args)
    since = datetime.fromisoformat(args.since).replace(tzinfo=UTC) if args.since else datetime(1970, 1, 1, tzinfo=UTC)
    summary = export(
        document_store(settings),
        StorageBlobs(settings.project),
        Path(args.out),
        since,
    )
    print(json.dumps(summary, indent=2))
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    export_parser = commands.add_parser("export", help="export data for training", description=__doc__.split("\n\n")[0])
    what = export_parser.add_subparsers(dest="what", required=True, metavar="WHAT")
    parser = what.add_parser(
        "reviews",
        help="human decisions from the review panel as training data",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_flag(parser, "--out", "CATALOGIST_EXPORT_OUT", "folder to write the training data to", required=True)
    add_flag(parser, "--since", "CATALOGIST_EXPORT_SINCE", "only decisions made on or after this date (YYYY-MM-DD)")
    add_store_flags(parser)
    parser.set_defaults(func=run)
