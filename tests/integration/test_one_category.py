"""One category per product, in the local stack: the reference classifier carries a store map
(models/maps/grocery-to-bigbasket.json), so a banana photo lands in BigBasket's tree, and a
product with that photo and a price-list row is filed once, from both, with each piece kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalogist.documents.products import Product
from catalogist.panel.cards import Card
from catalogist.panel.review import first_alternative
from tests.support import final_ledger_entry, upload, vendor

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
BANANA = Path(__file__).parents[2] / "infra" / "samples" / "banana.jpg"
BANANAS = ["Fruits & Vegetables", "Fresh Fruits", "Banana, Sapota & Papaya"]


def test_a_photo_and_a_row_of_one_product_are_filed_once_in_the_store_s_tree(stack, uploads, firestore):
    seller = vendor()
    rows = b"SKU,Name,Brand,Price\nB-1,Robusta banana 1 kg,Fresho,45\nS-1,Whole wheat brown bread 400 g,Harvest,40\n"
    blobs = [
        upload(uploads, f"{seller}/prices.csv", rows, "text/csv"),
        upload(uploads, f"{seller}/B-1.jpg", BANANA.read_bytes()),
        upload(uploads, f"{seller}/S-1.jpg", BANANA.read_bytes()),  # a banana photo for a loaf of bread
    ]
    for blob in blobs:
        assert final_ledger_entry(firestore, uploads.name, blob)["status"] == "done"

    banana = firestore.collection("products").document(f"{seller}:B-1").get().to_dict()
    bread = firestore.collection("products").document(f"{seller}:S-1").get().to_dict()

    assert banana["image_category"]["path_text"] == "Fruit/Banana", "the photo model's own decision is kept"
    assert banana["image_category"]["store_path"] == BANANAS, "and where it sits in the store's tree"
    assert banana["category"]["tree"] == "text" and banana["category_path"] == "/".join(BANANAS)
    assert banana["category"]["joined"]["agree"] and not banana["needs_review"], "both say bananas: decided"
    assert bread["needs_review"], "a photo and a row that disagree go to a human"
    assert bread["review_reason"].startswith("the photo says Fruits & Vegetables")
    assert bread["category"]["joined"] == {
        "photo": "/".join(BANANAS),
        "row": bread["text_category"]["path_text"],
        "agree": False,
    }

    for product_id, fields in ((f"{seller}:B-1", banana), (f"{seller}:S-1", bread)):
        product = Product.from_fields(product_id, fields)
        offered = Card.of(product).alternatives
        assert {option.tree for option in offered} == {"text"}, "a product of the store's tree is offered its tree"
        assert offered[0].path == "/".join(fields["image_category"]["store_path"]), "the photo's node comes first"
        assert [o.path for o in offered[1:]] == [
            a["path_text"] for a in fields["text_category"]["alternatives"] if a["path_text"] != offered[0].path
        ][: len(offered) - 1]
        assert first_alternative(product) == (tuple(BANANAS), "text"), "key 1 files what the card shows first"
