"""What `catalogist export reviews` writes for training is the data as it is: the copy for
people is the one escaped for spreadsheets, so a formula-like name still meets its twin."""

import csv
from datetime import UTC, datetime

from catalogist.documents import products
from catalogist.panel.review import Choice, decide
from catalogist_infra.export_reviews import export
from catalogist_training.vendor_data import load_products, product_key
from tests.unit.fakes import MemoryBlobs, MemoryDocuments

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_a_formula_like_name_round_trips_through_export_and_training(tmp_path):
    documents = MemoryDocuments()
    row = {"vendor": "acme", "sku": "M-1", "name": "-2+3", "brand": "=Brand", "description": "@note"}
    text = {"path": ["Snacks"], "path_text": "Snacks", "needs_review": True, "decided_level": "category"}
    products.update(documents, ["acme:M-1"], lambda _, stored: {**row, "text_category": text}, "import", NOW)
    decide(documents, "acme:M-1", Choice("search", ("Snacks", "Chips", "Nachos"), "text"), "ana@shop", "r-1", NOW)

    export(documents, MemoryBlobs(), tmp_path, NOW)

    (trained,) = load_products(tmp_path / "rows.csv")
    assert (trained.name, trained.brand) == ("-2+3", "=Brand")
    assert product_key(trained) == "-2+3|=brand", "the same key as the catalogue's row of it"
    with (tmp_path / "rows-for-spreadsheets.csv").open(newline="") as stream:
        (for_people,) = csv.DictReader(stream)
    assert (for_people["product"], for_people["brand"], for_people["description"]) == ("'-2+3", "'=Brand", "'@note")
