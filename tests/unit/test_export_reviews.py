"""What `catalogist export reviews` writes for training is the data as it is: the copy for
people is the one escaped for spreadsheets, so a formula-like name still meets its twin; and a
store's tree of mixed depths is exported leaf for leaf, never padded or cut to one depth."""

import csv
import json
from datetime import UTC, datetime

from catalogist.documents import products
from catalogist.models.taxonomy import Taxonomy
from catalogist.panel.review import Choice, decide
from catalogist_infra.export_reviews import export
from catalogist_training.catalogue import read_catalogue
from catalogist_training.vendor_data import load_products, product_key
from tests.unit.fakes import MemoryBlobs, MemoryDocuments

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_a_formula_like_name_round_trips_through_export_and_training(tmp_path):
    documents = MemoryDocuments()
    row = {"vendor": "acme", "sku": "M-1", "name": "-2+3", "brand": "=Brand", "description": "@note"}
    text = {"path": ["Snacks"], "path_text": "Snacks", "needs_review": True, "decided_level": "category"}
    products.update(documents, ["acme:M-1"], lambda _, stored: {**row, "text_category": text}, "import", NOW)
    decide(documents, "acme:M-1", Choice("search", ("Snacks", "Chips", "Nachos"), "text"), "ana@shop", "r-1", NOW)

    export(documents, MemoryBlobs(), tmp_path, NOW, {"text": Taxonomy.from_paths([("Snacks", "Chips", "Nachos")])})

    (trained,) = load_products(tmp_path / "rows.csv")
    assert (trained.name, trained.brand) == ("-2+3", "=Brand")
    assert product_key(trained) == "-2+3|=brand", "the same key as the catalogue's row of it"
    with (tmp_path / "rows-for-spreadsheets.csv").open(newline="") as stream:
        (for_people,) = csv.DictReader(stream)
    assert (for_people["product"], for_people["brand"], for_people["description"]) == ("'-2+3", "'=Brand", "'@note")


STORE_TEXT = Taxonomy.from_paths(
    [("Food", "Dairy", "Yoghurt", "Greek"), ("Food", "Bread"), ("Drinks", "Juice", "Apple")],
    ("department", "aisle", "shelf", "variety"),
)
STORE_PHOTOS = Taxonomy.from_paths([("Fresh", "Fruit", "Apple"), ("Drinks", "Juice")])


def listed(documents: MemoryDocuments, sku: str, photo: bool) -> str:
    product_id = f"acme:{sku}"
    fields: dict[str, object] = {
        "vendor": "acme",
        "sku": sku,
        "name": f"Item {sku}",
        "brand": "Acme",
        "description": "",
    }
    if photo:
        fields["photos"] = {"front": {"object": {"bucket": "up", "name": f"acme/{sku}.jpg", "generation": 7}}}
    products.update(documents, [product_id], lambda _, stored: fields, "import", NOW)
    return product_id


def test_a_store_tree_of_mixed_depths_is_exported_leaf_for_leaf_and_a_node_above_the_leaves_is_left_out(tmp_path):
    documents = MemoryDocuments()
    blobs = MemoryBlobs({("up", f"acme/{sku}.jpg"): b"jpeg " + sku.encode() for sku in ("P1", "P2", "P3")})
    filed = {
        "P1": (("Drinks", "Juice"), "image"),  # a photo leaf at depth 2
        "P2": (("Fresh", "Fruit", "Apple"), "image"),
        "P3": (("Fresh", "Fruit"), "image"),  # a node above a leaf: no label
        "R1": (("Food", "Bread"), "text"),  # a row leaf at depth 2
        "R2": (("Food", "Dairy", "Yoghurt", "Greek"), "text"),
        "R3": (("Food", "Dairy"), "text"),
    }
    for sku, (path, tree) in filed.items():
        product_id = listed(documents, sku, photo=tree == "image")
        decide(documents, product_id, Choice("search", path, tree), "ana@shop", f"r-{sku}", NOW)

    summary = export(documents, blobs, tmp_path, NOW, {"image": STORE_PHOTOS, "text": STORE_TEXT})

    photos = {}
    for split in ("train", "val"):
        with (tmp_path / "photos" / f"{split}.csv").open(newline="") as stream:
            photos |= {row["category"]: row["image"] for row in csv.DictReader(stream)}
    assert sorted(photos) == ["Drinks/Juice", "Fresh/Fruit/Apple"], "each leaf at its own depth, nothing padded"
    assert (tmp_path / "photos" / photos["Drinks/Juice"]).read_bytes() == b"jpeg P1"
    catalogue = read_catalogue(tmp_path / "rows.csv")  # as `train textcat --extra` reads it
    assert sorted(listing.category_path for listing in catalogue.listings) == [
        ("Food", "Bread"),
        ("Food", "Dairy", "Yoghurt", "Greek"),
    ]
    assert catalogue.report.rows_read == 2 and not catalogue.report.rejected
    assert summary["left_out"] == {"image tree: not a leaf of the tree in service": 1,
                                   "text tree: not a leaf of the tree in service": 1}  # fmt: skip
    written = json.loads((tmp_path / "export.json").read_text())
    assert written["levels"]["text"] == ["department", "aisle", "shelf", "variety"]


def test_decisions_in_a_tree_no_release_serves_are_counted_not_guessed_at(tmp_path):
    documents = MemoryDocuments()
    product_id = listed(documents, "R1", photo=False)
    decide(documents, product_id, Choice("search", ("Food", "Bread"), "text"), "ana@shop", "r-1", NOW)

    summary = export(documents, MemoryBlobs(), tmp_path, NOW, {"image": STORE_PHOTOS, "text": None})

    assert summary["rows"] == 0 and summary["left_out"] == {"text tree: no release of that tree could be read": 1}
