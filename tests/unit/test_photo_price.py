"""A product known only from its photos gets a rough price from its image category; a
price-list row's price for the same SKU is the one shown, whichever of the two lands last."""

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from catalogist.documents import products
from catalogist.documents.products import shown_price
from catalogist.documents.values import CategoryDecision, PriceSuggestion
from catalogist.models.price_model import CategoryPrices
from catalogist.photos.pipeline import photo_price
from tests.support import run
from tests.unit.fakes import MemoryDocuments

# the shop's price spread per node, as `catalogist train price` writes it: log P10, median, P90, count
TABLES = {
    "category_prices": {
        "type": {"Fruits & Vegetables/Fresh Fruits/Apples": [math.log(80), math.log(150), math.log(260), 40]},
        "sub_category": {"Fruits & Vegetables/Fresh Fruits": [math.log(40), math.log(90), math.log(300), 200]},
        "category": {"Fruits & Vegetables": [math.log(20), math.log(60), math.log(250), 900]},
        "log_discount": -0.1,
    }
}
APPLE = {
    "path": ["Fruit", "Apple", "Golden-Delicious"],
    "path_text": "Fruit/Apple/Golden-Delicious",
    "needs_review": False,
    "decided_level": "fine",
    "confidence": {"top": 1.0, "coarse": 0.99, "fine": 0.98},
}


class ShopPrices:
    """The category half of a price release, without its boosters."""

    version = "price-1"
    currency = "INR"

    def __init__(self) -> None:
        self.categories = CategoryPrices.from_tables(TABLES)

    def suggest_for_category(self, category_path, vendor_prices=()):
        return self.categories.suggest(tuple(category_path), vendor_prices)


def price_from_photos(documents: MemoryDocuments, product_id: str, image_category: dict, pricer: ShopPrices):
    """What the photo path writes of the price (`photo_price`, its own field), as it writes it."""

    def priced(_: str, stored: dict | None) -> dict | None:
        decision = CategoryDecision.from_fields(image_category)
        assert decision is not None, image_category
        price = photo_price(decision, pricer)
        return (
            None
            if price is None
            else {"photo_price": price.to_fields(), "model_versions": {"photo_price": pricer.version}}
        )

    written = products.update(documents, [product_id], priced, "photo", datetime(2026, 12, 1, tzinfo=UTC))
    return written[product_id]["photo_price"] if written else None


def shown_price_of(product: Mapping[str, Any]) -> PriceSuggestion:
    """`shown_price` of a product that has one."""
    price = shown_price(product)
    assert price is not None, product
    return price


def photo_product(documents: MemoryDocuments, sku: str = "R-1") -> str:
    documents.create("products", f"acme:{sku}", {"vendor": "acme", "sku": sku, "image_category": APPLE})
    return f"acme:{sku}"


def test_a_photo_only_product_gets_a_rough_range_from_its_image_category() -> None:
    documents = MemoryDocuments()
    product_id = photo_product(documents)

    written = price_from_photos(documents, product_id, APPLE, ShopPrices())

    product = documents.get("products", product_id)
    price = product["photo_price"]
    assert price == written == shown_price_of(product).to_fields()
    # the photo classifier's path "Fruit/Apple" is found by its words among the shop's types
    assert (price["mode"], price["rough"], price["currency"]) == ("category_text", True, "INR")
    assert (price["low"], price["predicted"], price["high"]) == (80.0, 150.0, 260.0)
    assert product["model_versions"] == {"photo_price": "price-1"}


def test_a_price_list_row_is_shown_instead_of_the_photos_price() -> None:
    documents = MemoryDocuments()
    product_id = photo_product(documents)
    price_from_photos(documents, product_id, APPLE, ShopPrices())

    run("SKU;Name;Brand;Price\nR-1;Basmati rice 1 kg;India Gate;250,00\n", documents)

    shown = shown_price_of(documents.get("products", product_id))
    assert shown.mode == "list_price" and not shown.rough


def test_a_photo_landing_after_the_row_leaves_the_rows_price_shown() -> None:
    # no read-then-write: an import landing between a photo's read and its write cannot lose
    documents = MemoryDocuments()
    run("SKU;Name;Brand;Price\nR-1;Basmati rice 1 kg;India Gate;250,00\n", documents)
    before = documents.get("products", "acme:R-1")["price"]

    price_from_photos(documents, "acme:R-1", APPLE, ShopPrices())

    product = documents.get("products", "acme:R-1")
    assert product["price"] == before and shown_price_of(product).to_fields() == before
    assert product["photo_price"]["rough"]


def test_a_category_the_price_model_cannot_read_leaves_the_product_unpriced() -> None:
    documents = MemoryDocuments()
    product_id = photo_product(documents)
    unknown = {"path": ["Zzz"], "path_text": "Zzz"}

    assert price_from_photos(documents, product_id, unknown, ShopPrices()) is None
    assert shown_price(documents.get("products", product_id)) is None
