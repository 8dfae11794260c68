"""`catalogist export reviews --out DIR [--since DATE]`: what humans decided, as training data.

    DIR/photos/train.csv, val.csv     image,category manifests `catalogist train classifier
                                      --data DIR/photos` (or `--extra DIR/photos`) reads
    DIR/photos/images/...             each reviewed product's photos, fetched from Storage at the
                                      generation the review was made on
    DIR/rows.csv                      one column per level of the catalogue tree (`level 1` …
                                      `level N`, blank below a shallower leaf), name, brand,
                                      price, description, vendor, sku, split: what `train
                                      textcat` / `train price` read (`--extra`), the values
                                      exactly as they are
    DIR/rows-for-spreadsheets.csv     the same rows for people: a cell a spreadsheet would run
                                      as a formula starts with an apostrophe
    DIR/export.json                   what was exported, from when, and how many

A product's latest human decision counts (undone ones do not). Photos go where their category
is a leaf of the image tree in service, rows where it is a leaf of the catalogue tree in service,
at whatever depth the leaf sits (a reviewer may file a product under a node above the leaves,
"Fruit" alone: that teaches no leaf, and is counted as such in export.json); one product never
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
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from itertools import zip_longest
from pathlib import Path
from typing import Any

from catalogist.documents import products
from catalogist.documents.products import Product
from catalogist.documents.values import HumanPrice
from catalogist.flags import add_flag
from catalogist.models.taxonomy import Taxonomy
from catalogist.vendorfiles import escape_for_export
from catalogist_infra.command_settings import add_store_flags, command_settings

VALIDATION_PERCENT = 15
PAGE = 500
# The catalogue reader's guesses find these (`catalogist_training.catalogue`), whatever the
# store calls its levels; the tree's own level names are in export.json.
ROW_COLUMNS = ("index", "product", "brand", "sale_price", "description", "vendor", "sku", "split")
NOT_A_LEAF = "not a leaf of the tree in service"
NO_TREE = "no release of that tree could be read"


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


def export(
    documents: Any, blobs: Any, out: Path, since: datetime, trees: Mapping[str, Taxonomy | None]
) -> dict[str, Any]:
    """`trees`: the taxonomies in service by tree ("image", "text"); only their leaves are labels."""
    photos_dir = out / "photos"
    (photos_dir / "images").mkdir(parents=True, exist_ok=True)
    manifests: dict[str, list[tuple[str, str]]] = {"train": [], "val": []}
    rows: list[dict[str, str]] = []
    left_out: Counter[str] = Counter()
    decisions = latest_decisions(documents, since)
    for product_id, review in sorted(decisions.items()):
        human = review["human"]["human_category"]
        path, tree = human["path"], human.get("tree", "")
        split = split_of(review.get("vendor", ""), review.get("sku", ""))
        taxonomy = trees.get(tree)
        if taxonomy is None or not taxonomy.is_leaf(path):
            left_out[f"{tree or 'no'} tree: {NO_TREE if taxonomy is None else NOT_A_LEAF}"] += 1
            continue
        if tree == "image":
            for key, source in sorted((review.get("photos") or {}).items()):
                if not source:
                    continue
                data = blobs.read_all(source["bucket"], source["name"], str(source["generation"]), 25 * 1024 * 1024)
                relative = Path("images", *path, f"{_safe(product_id)}_{_safe(key)}.jpg")
                (photos_dir / relative).parent.mkdir(parents=True, exist_ok=True)
                (photos_dir / relative).write_bytes(data)
                manifests[split].append((str(relative), "/".join(path)))
        else:
            product = Product.from_fields(product_id, documents.get(products.COLLECTION, product_id) or {})
            reviewed = HumanPrice.from_fields(review["human"].get(products.HUMAN_PRICE)) or product.human_price
            known = reviewed.price if reviewed else product.vendor_price
            price = known.amount if known else None
            rows.append(
                {
                    "index": f"review:{product_id}",
                    "product": product.name,
                    **dict(zip_longest(level_columns(len(taxonomy.levels)), path, fillvalue="")),
                    "brand": product.brand,
                    "sale_price": "" if price is None else f"{price}",
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
    text_tree = trees.get("text")
    columns = (*ROW_COLUMNS[:2], *level_columns(len(text_tree.levels) if text_tree else 0), *ROW_COLUMNS[2:])
    with (out / "rows.csv").open("w", newline="", encoding="utf-8") as stream:
        table = csv.DictWriter(stream, fieldnames=columns)
        table.writeheader()
        table.writerows(rows)
    with (out / "rows-for-spreadsheets.csv").open("w", newline="", encoding="utf-8") as stream:
        table = csv.DictWriter(stream, fieldnames=columns)
        table.writeheader()
        table.writerows({name: escape_for_export(value) for name, value in row.items()} for row in rows)
    summary = {
        "since": since.isoformat(),
        "exported_at": datetime.now(UTC).isoformat(),
        "decisions": len(decisions),
        "photos": {split: len(entries) for split, entries in manifests.items()},
        "rows": len(rows),
        "left_out": dict(sorted(left_out.items())),
        "levels": {tree: list(taxonomy.levels) for tree, taxonomy in sorted(trees.items()) if taxonomy},
    }
    (out / "export.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def level_columns(depth: int) -> tuple[str, ...]:
    return tuple(f"level {n}" for n in range(1, depth + 1))


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:120]


def run(args: argparse.Namespace) -> int:
    from catalogist.adapters.storage import StorageBlobs
    from catalogist.models.kinds import KINDS
    from catalogist.wiring import document_store, releases_in_service

    settings = command_settings(args)
    since = datetime.fromisoformat(args.since).replace(tzinfo=UTC) if args.since else datetime(1970, 1, 1, tzinfo=UTC)
    blobs = StorageBlobs(settings.project)
    releases = releases_in_service(settings, blobs)
    trees = {kind.tree: releases[kind.name].taxonomy() for kind in KINDS if kind.tree}
    summary = export(document_store(settings), blobs, Path(args.out), since, trees)
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
