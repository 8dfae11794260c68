"""A human decision made in the panel wins over every model and survives what the pipelines do
afterwards: a new version of the price list, a new photo of the product."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from catalogist.adapters.firestore import EmulatorDocuments
from catalogist.panel.review import Choice, decide
from tests.support import final_ledger_entry, upload, vendor

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
BANANA = Path(__file__).parents[2] / "infra" / "samples" / "banana.jpg"


def test_a_human_category_survives_a_new_price_list_and_a_new_photo(stack, uploads, firestore, monkeypatch):
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", stack.config.firestore_host)
    documents = EmulatorDocuments(stack.config.project)
    seller = vendor()
    first = upload(
        uploads, f"{seller}/prices.csv", b"SKU,Name,Brand,Price\nR-1,Robusta banana 1 kg,Fresho,45\n", "text/csv"
    )
    assert final_ledger_entry(firestore, uploads.name, first)["status"] == "done"
    decide(
        documents,
        f"{seller}:R-1",
        Choice("search", ("Fruit", "Banana"), "image"),
        "ana@shop",
        "r-1",
        datetime.now(UTC),
    )

    second = upload(
        uploads, f"{seller}/prices.csv", b"SKU,Name,Brand,Price\nR-1,Robusta bananas 1 kg,Fresho,49\n", "text/csv"
    )
    photo = upload(uploads, f"{seller}/R-1.jpg", BANANA.read_bytes())
    for blob in (second, photo):
        assert final_ledger_entry(firestore, uploads.name, blob)["status"] == "done"

    product = firestore.collection("products").document(f"{seller}:R-1").get().to_dict()
    assert product["name"] == "Robusta bananas 1 kg" and product["vendor_price"]["amount"] == 49.0, (
        "the vendor's new data"
    )
    assert product["image_category"] and product["text_category"], "both models decided again"
    assert product["human_category"]["path_text"] == "Fruit/Banana"
    assert (product["category"]["source"], product["category_path"], product["needs_review"]) == (
        "human",
        "Fruit/Banana",
        False,
    )
    assert product["review_rank"] is None
