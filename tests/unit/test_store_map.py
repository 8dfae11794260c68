"""One category per product in the store's tree: a classifier release's map places a photo's
decision there, and a product with a photo and a price-list row gets one category from both."""

from datetime import UTC, datetime

from catalogist.documents import products
from catalogist.models.store_map import StoreMap
from catalogist.models.taxonomy import Taxonomy
from catalogist.panel.review import Choice, decide
from catalogist.photos.pipeline import image_fields
from tests.unit.fakes import MemoryDocuments

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
PHOTOS = Taxonomy(
    ("top", "coarse", "fine"),
    (("Fruit", "Apple", "Pink-Lady"), ("Fruit", "Apple", "Royal-Gala"), ("Fruit", "Banana"), ("Packages", "Juice")),
    (0.9, 0.9, 0.9),
    "fine",
)
STORE = Taxonomy.from_paths(
    [
        ("Fruits & Vegetables", "Fresh Fruits", "Apples & Pomegranate"),
        ("Fruits & Vegetables", "Fresh Fruits", "Banana, Sapota & Papaya"),
        ("Beverages", "Fruit Juices & Drinks", "Juices"),
        ("Bakery", "Breads", "Brown Bread"),
    ],
    ("category", "sub_category", "type"),
)
MAP = StoreMap(
    {
        ("Fruit",): ("Fruits & Vegetables", "Fresh Fruits"),
        ("Fruit", "Apple"): ("Fruits & Vegetables", "Fresh Fruits", "Apples & Pomegranate"),
        ("Fruit", "Banana"): ("Fruits & Vegetables", "Fresh Fruits", "Banana, Sapota & Papaya"),
    }
).attached(STORE)
APPLES = "Fruits & Vegetables/Fresh Fruits/Apples & Pomegranate"


def photo(probabilities: list[float]) -> dict:
    """The image fields the photo path writes for one photo with these leaf probabilities."""
    scored = {
        "p_jpg": {
            "probabilities": probabilities,
            "model_version": "clf-1",
            "object": {"bucket": "u", "name": "acme/A-1.jpg", "generation": "1"},
            "image": {},
        }
    }
    return image_fields({"photos": scored}, PHOTOS, "clf-1", None, MAP)[products.IMAGE_CATEGORY]


def row(path: tuple[str, ...], sure: bool) -> dict:
    return {
        "path": list(path),
        "path_text": "/".join(path),
        "decided_level": STORE.levels[len(path) - 1],
        "confidence": {level: 0.99 for level in STORE.levels[: len(path)]},
        "alternatives": [{"path_text": APPLES, "confidence": 0.6}],
        "needs_review": not sure,
        "review_reason": None if sure else "not sure enough",
        "model_version": "txt-1",
    }


def filed(image: dict, text: dict | None) -> dict:
    product = {"vendor": "acme", "sku": "A-1", products.IMAGE_CATEGORY: image}
    if text is not None:
        product[products.TEXT_CATEGORY] = text
    return products.summary_fields(product, audit_rate=0.0)


def test_a_photo_decision_lands_on_the_store_node_of_its_deepest_mapped_node():
    sure_apple = photo([0.97, 0.01, 0.01, 0.01])  # sure of Fruit/Apple/Pink-Lady
    only_fruit = photo([0.3, 0.3, 0.35, 0.05])  # sure of Fruit alone
    juice = photo([0.0, 0.0, 0.02, 0.98])  # Packages/Juice: the map says nothing of it

    assert (sure_apple["store_path"], sure_apple["store_leaf"]) == (APPLES.split("/"), True)
    assert sure_apple["store_level"] == "type"
    assert (only_fruit["store_path"], only_fruit["store_leaf"]) == (["Fruits & Vegetables", "Fresh Fruits"], False)
    assert "store_path" not in juice, "a decision the map says nothing of stays in the photo tree"


def test_photo_and_row_agreeing_make_one_category_as_deep_as_the_sure_one_goes():
    unsure_row = row(("Fruits & Vegetables",), sure=False)
    sure_row = row(tuple(APPLES.split("/")), sure=True)

    photo_decides = filed(photo([0.97, 0.01, 0.01, 0.01]), unsure_row)
    both_sure = filed(photo([0.97, 0.01, 0.01, 0.01]), sure_row)
    photo_only_fruit = filed(photo([0.3, 0.3, 0.35, 0.05]), unsure_row)

    assert (photo_decides["category_path"], photo_decides["needs_review"]) == (APPLES, False)
    assert photo_decides["category"]["source"] == "image" and photo_decides["category"]["tree"] == "text"
    assert photo_decides["category"]["decided_level"] == "type"
    assert (both_sure["category_path"], both_sure["needs_review"], both_sure["category"]["source"]) == (
        APPLES,
        False,
        "text",
    )
    assert photo_only_fruit["category_path"] == "Fruits & Vegetables/Fresh Fruits", "the deeper of two unsure"
    assert photo_only_fruit["needs_review"] and photo_only_fruit["review_code"] == "image to sub_category"


def test_photo_and_row_disagreeing_go_to_a_human_told_what_each_said():
    bread = row(("Bakery", "Breads", "Brown Bread"), sure=True)

    summary = filed(photo([0.97, 0.01, 0.01, 0.01]), bread)

    assert summary["needs_review"] and summary["category_path"] == "Bakery/Breads/Brown Bread"
    assert summary["review_reason"] == f"the photo says {APPLES}, the price list says Bakery/Breads/Brown Bread"
    assert summary["category"]["joined"] == {"photo": APPLES, "row": "Bakery/Breads/Brown Bread", "agree": False}
    assert summary["review_code"] == "disagree", "the queue can be filtered to the disagreements"


def test_a_photo_sure_of_a_node_above_its_leaf_files_the_store_leaf_mapped_from_it():
    apple_of_no_sure_variety = photo([0.45, 0.45, 0.05, 0.05])  # sure of Fruit/Apple, not of the variety
    assert apple_of_no_sure_variety["needs_review"] and apple_of_no_sure_variety["sure"]

    for text in (row(("Fruits & Vegetables",), sure=False), row(("Fruits & Vegetables", "Fresh Fruits"), sure=True)):
        summary = filed(apple_of_no_sure_variety, text)

        assert (summary["category_path"], summary["needs_review"]) == (APPLES, False), text["path_text"]
        assert summary["category"]["source"] == "image"


def test_a_disagreement_goes_to_a_human_even_against_a_guess():
    """One of the two is wrong (a banana photo sent for a loaf of bread), and a sure side's
    promise was not measured where the other evidence contradicts it."""
    fruit_guess = photo([0.3, 0.3, 0.0, 0.4])  # not sure even of Fruit (60%)
    sure_juice = row(("Beverages", "Fruit Juices & Drinks", "Juices"), sure=True)
    bread_guess = row(("Bakery", "Breads", "Brown Bread"), sure=False)

    for image, text in ((fruit_guess, sure_juice), (photo([0.97, 0.01, 0.01, 0.01]), bread_guess)):
        summary = filed(image, text)

        assert summary["needs_review"] and summary["review_code"] == "disagree", text["path_text"]
        assert summary["category"]["joined"]["agree"] is False
    assert not fruit_guess["sure"] and fruit_guess["store_path"] == ["Fruits & Vegetables", "Fresh Fruits"]


def test_a_photo_the_map_does_not_place_leaves_the_product_to_its_row():
    from catalogist.documents.products import Product
    from catalogist.panel import words
    from catalogist.panel.review import alternatives

    juice = photo([0.0, 0.0, 0.02, 0.98])  # sure of Packages/Juice, which the map leaves out
    bread = row(("Bakery", "Breads", "Brown Bread"), sure=True)
    fields = {"vendor": "acme", "sku": "A-1", products.IMAGE_CATEGORY: juice, products.TEXT_CATEGORY: bread}
    summary = products.summary_fields(fields, audit_rate=0.0)
    product = Product.from_fields("acme:A-1", {**fields, **summary})

    assert juice["store_unmapped"] and not juice["needs_review"]
    assert (summary["category_path"], summary["needs_review"]) == ("Bakery/Breads/Brown Bread", False)
    assert {option.tree for option in alternatives(product)} == {"text"}, "no photo-tree category is offered"
    assert words.confidence_line(product).endswith("The photo's Juice has no place in the store's tree.")


def test_without_a_map_a_confident_photo_is_filed_in_its_own_tree_as_before():
    unmapped = photo([0.97, 0.01, 0.01, 0.01])
    for field in ("store_path", "store_level", "store_leaf"):
        unmapped.pop(field)

    summary = filed(unmapped, row(("Bakery",), sure=False))

    assert (summary["category_path"], summary["category"]["source"]) == ("Fruit/Apple/Pink-Lady", "image")


def test_enter_on_a_joined_card_files_the_store_category_in_the_store_tree():
    documents = MemoryDocuments()
    product = {"vendor": "acme", "sku": "A-1", products.IMAGE_CATEGORY: photo([0.97, 0.01, 0.01, 0.01])}
    product[products.TEXT_CATEGORY] = row(("Fruits & Vegetables",), sure=False)
    products.update(documents, ["acme:A-1"], lambda _, stored: product, "seed", NOW, audit_rate=1.0)

    decide(documents, "acme:A-1", Choice("accept"), "ana@shop", "r-1", NOW, audit_rate=1.0)

    human = documents.get("products", "acme:A-1")["human_category"]
    assert (human["path_text"], human["tree"]) == (APPLES, "text")


def test_an_audited_joined_decision_counts_in_the_overview_s_precision():
    from catalogist.panel import trust

    documents = MemoryDocuments()
    product = {"vendor": "acme", "sku": "A-1", products.IMAGE_CATEGORY: photo([0.97, 0.01, 0.01, 0.01])}
    product[products.TEXT_CATEGORY] = row(("Fruits & Vegetables",), sure=False)
    products.update(documents, ["acme:A-1"], lambda _, stored: product, "seed", NOW, audit_rate=1.0)
    assert documents.get("products", "acme:A-1")["audit"], "decided without a human, and sampled"

    decide(documents, "acme:A-1", Choice("accept"), "ana@shop", "r-1", NOW, audit_rate=1.0)

    found = trust.audit_precision(documents, {"image": PHOTOS.levels, "text": STORE.levels})
    assert [(p.source, p.level, p.right, p.reviewed) for p in found] == [("joined", "type", 1, 1)]
    assert found[0].sentence.startswith("Of 1 automatic decisions from the photo and price list together")
    serving, replaced = {"image": "clf-1", "text": "txt-9"}, {"image": "clf-2", "text": "txt-9"}
    assert len(trust.audit_precision(documents, {"image": PHOTOS.levels, "text": STORE.levels}, serving)) == 1
    assert trust.audit_precision(documents, {"image": PHOTOS.levels, "text": STORE.levels}, replaced) == []


def test_a_reviewer_finishing_a_sure_part_checks_it_as_an_audit_does():
    """A photo sure of Fruit/Apple, its variety left to a reviewer, was filed at Fruit/Apple
    without a human: the reviewer's variety says whether that part was right."""
    from catalogist.panel import trust

    documents = MemoryDocuments()
    for sku, variety in (("A-1", "Royal-Gala"), ("A-2", None)):
        product = {"vendor": "acme", "sku": sku, products.IMAGE_CATEGORY: photo([0.45, 0.45, 0.05, 0.05])}
        products.update(documents, [f"acme:{sku}"], lambda _, stored, p=product: p, "seed", NOW, audit_rate=0.0)
        path = ("Fruit", "Apple", variety) if variety else ("Fruit", "Banana")  # the photo was wrong
        decide(documents, f"acme:{sku}", Choice("search", path, "image"), "ana@shop", f"r-{sku}", NOW, audit_rate=0.0)

    found = trust.audit_precision(documents, {"image": PHOTOS.levels}, {"image": "clf-1"})

    assert [(p.source, p.level, p.right, p.reviewed) for p in found] == [("image", "coarse", 1, 2)]


def test_a_map_is_refused_for_a_node_either_tree_lacks():
    bad = StoreMap({("Fruit", "Kiwi"): ("Fruits & Vegetables",), ("Fruit",): ("Fruits & Vegetables", "Exotic")})

    problems = bad.problems(PHOTOS, STORE)

    assert problems == [
        "Fruit → Fruits & Vegetables/Exotic: no such category in the store's tree",
        "Fruit/Kiwi is no category of the photo model",
    ]
    assert MAP.problems(PHOTOS, STORE) == []
    assert MAP.store_leaves == {
        tuple(APPLES.split("/")),
        ("Fruits & Vegetables", "Fresh Fruits", "Banana, Sapota & Papaya"),
    }


def test_the_card_says_what_the_photo_and_the_row_each_said():
    from catalogist.documents.products import Product
    from catalogist.panel import words

    def line(image: dict, text: dict) -> str:
        fields = {"vendor": "acme", "sku": "A-1", products.IMAGE_CATEGORY: image, products.TEXT_CATEGORY: text}
        return words.confidence_line(Product.from_fields("acme:A-1", {**fields, **products.summary_fields(fields)}))

    agree = line(photo([0.97, 0.01, 0.01, 0.01]), row(("Fruits & Vegetables",), sure=False))
    disagree = line(photo([0.97, 0.01, 0.01, 0.01]), row(("Bakery", "Breads", "Brown Bread"), sure=True))

    assert agree == (
        "Photo and price list agree on Apples & Pomegranate: the photo Pink Lady (97%), "
        "the price list Fruits & Vegetables (not sure below it)."
    )
    assert disagree == (
        f"Photo and price list disagree: the photo Pink Lady (97%), which is {APPLES} here; the price list Brown Bread."
    )
