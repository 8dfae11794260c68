"""A product known only from its photos gets a rough price from its image category; a
price-list row for the same SKU replaces it, and a photo never replaces a row's price."""

import math

from catalogist.models.price_model import CategoryPrices
from catalogist.photos.pipeline import price_from_photos
from tests.unit.fakes import MemoryDocuments
from tests.unit.test_imports import run

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


def photo_product(documents: MemoryDocuments, sku: str = "R-1") -> str:
    documents.create("products", f"acme:{sku}", {"vendor": "acme", "sku": sku, "image_category": APPLE})
    return f"acme:{sku}"


def test_a_photo_only_product_gets_a_rough_range_from_its_image_category() -> None:
    documents = MemoryDocuments()
    product_id = photo_product(documents)

    written = price_from_photos(documents, product_id, APPLE, ShopPrices())

    price = documents.get("products", product_id)["price"]
    assert price == written
    # the photo classifier's path "Fruit/Apple" is found by its words among the shop's types
    assert (price["mode"], price["rough"], price["currency"]) == ("category_text", True, "INR")
    assert (price["low"], price["predicted"], price["high"]) == (80.0, 150.0, 260.0)
    assert documents.get("products", product_id)["model_versions"] == {"price": "price-1"}


def test_a_price_list_row_replaces_the_photos_price() -> None:
    documents = MemoryDocuments()
    product_id = photo_product(documents)
    price_from_photos(documents, product_id, APPLE, ShopPrices())

    run("SKU;Name;Brand;Price\nR-1;Basmati rice 1 kg;India Gate;250,00\n", documents)

    price = documents.get("products", product_id)["price"]
    assert price["mode"] == "list_price" and "rough" not in price


def test_a_photo_never_replaces_the_price_of_a_row() -> None:
    documents = MemoryDocuments()
    run("SKU;Name;Brand;Price\nR-1;Basmati rice 1 kg;India Gate;250,00\n", documents)
    before = documents.get("products", "acme:R-1")["price"]

    written = price_from_photos(documents, "acme:R-1", APPLE, ShopPrices())

    assert written is None
    assert documents.get("products", "acme:R-1")["price"] == before


def test_a_category_the_price_model_cannot_read_leaves_the_product_unpriced() -> None:
    documents = MemoryDocuments()
    product_id = photo_product(documents)
    unknown = {"path": ["Zzz"], "path_text": "Zzz"}

    assert price_from_photos(documents, product_id, unknown, ShopPrices()) is None
    assert "price" not in documents.get("products", product_id)
