"""Re-scoring's rules without Beam or a store (catalogist_batch.rescore): what a product needs,
what is written on the product as it is when written, and what the report says moved. The
pipeline itself runs in tests/integration/test_rescore.py."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from catalogist.documents import products
from catalogist.documents.rescores import ProductOutcome, RescoreReport, Tally
from catalogist.documents.values import CategoryDecision
from catalogist_batch.rescore import Rewrite, Versions, Work, in_category, newer, plan
from tests.support import TREE, image_decision

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
RUN = Versions(classifier="20261201-000000", textcat="20261201-000001", price="20261201-000002")


def photo(version: str, generation: str = "1") -> dict:
    return {
        "object": {"bucket": "uploads", "name": "acme/A.jpg", "generation": generation},
        "image": {},
        "probabilities": [0.7, 0.1, 0.1, 0.1],
        "model_version": version,
    }


def photo_product(version: str) -> dict:
    decision = {**image_decision([0.7, 0.1, 0.1, 0.1]), "model_version": version}
    return {"vendor": "acme", "sku": "A", "photos": {"A_jpg": photo(version)}, "image_category": decision}


def row_product(textcat: str, price: str) -> dict:
    text = CategoryDecision.from_decision(TREE.decide(np.array([0.9, 0.05, 0.03, 0.02])), textcat).to_fields()
    return {
        "vendor": "acme",
        "sku": "R",
        "name": "Basmati rice",
        "text_category": text,
        "price": {"predicted": 10.0, "low": 9.0, "high": 11.0, "currency": "INR", "model_version": price},
        "source_row_hash": "h1",
    }


def test_release_versions_sort_in_time():
    assert newer("20261202-000000", "20261201-235959")
    assert not newer("20261201-000000", "20261201-000000")
    assert not newer("", "20261201-000000") and not newer("20261201-000000", "")


def test_a_product_on_the_run_s_releases_needs_nothing_and_one_on_a_newer_release_is_left_alone():
    assert plan("acme:A", photo_product(RUN.classifier), RUN) == "current"
    assert plan("acme:R", row_product(RUN.textcat, RUN.price), RUN) == "current"
    assert plan("acme:A", photo_product("20270101-000000"), RUN) == "newer_release"
    assert plan("acme:R", row_product("20270101-000000", RUN.price), RUN) == "newer_release"


def test_an_older_product_is_scored_again_only_where_it_is_older():
    work = plan("acme:A", photo_product("20250101-000000"), RUN)
    assert isinstance(work, Work)
    assert (work.image, work.row, list(work.photos)) == (True, False, ["A_jpg"])
    assert work.photos["A_jpg"].generation == "1", "the pinned generation"
    priced_again = plan("acme:R", row_product(RUN.textcat, "20250101-000000"), RUN)
    assert isinstance(priced_again, Work) and (priced_again.image, priced_again.row) == (False, True)


def test_a_rewrite_keeps_the_product_as_it_is_now_and_leaves_one_whose_photos_changed():
    product = photo_product("20250101-000000")
    work = plan("acme:A", product, RUN)
    assert isinstance(work, Work)
    new_decision = {**image_decision([0.05, 0.05, 0.85, 0.05]), "model_version": RUN.classifier}
    work.image_fields = {
        "photos": {"A_jpg": photo(RUN.classifier)},
        products.IMAGE_CATEGORY: new_decision,
        "model_versions": {"classifier": RUN.classifier},
    }
    rewrite = Rewrite([work], NOW)
    reviewed = {**product, "human_category": {"path": ["Fruit"]}, "model_versions": {"textcat": "t"}}

    fields = rewrite("acme:A", reviewed)
    another_photo = {**product, "photos": {**product["photos"], "A_2_jpg": photo("20250101-000000", "9")}}

    assert fields is not None
    assert fields[products.IMAGE_CATEGORY] == new_decision
    assert fields["model_versions"] == {"textcat": "t", "classifier": RUN.classifier}
    assert "human_category" not in fields, "a human decision is never written"
    assert rewrite("acme:A", another_photo) is None
    assert rewrite("acme:A", None) is None


def test_an_outcome_says_what_moved():
    product = {**photo_product("20250101-000000"), products.NEEDS_REVIEW: True}
    work = plan("acme:A", product, RUN)
    assert isinstance(work, Work)
    rewrite = Rewrite([work], NOW)
    rewrite("acme:A", product)
    decided = {**image_decision([0.05, 0.05, 0.85, 0.05]), "model_version": RUN.classifier}

    outcome = rewrite.outcome("acme:A", {products.IMAGE_CATEGORY: decided, products.NEEDS_REVIEW: False})

    assert outcome == ProductOutcome("acme", "rescored", ("changed", "left_review"), (("image", "fine"),))
    work.image_fields = {products.IMAGE_CATEGORY: decided}
    assert rewrite.outcome("acme:A", None).outcome == "changed_meanwhile", "scored, but not written"


def test_the_report_adds_up_per_vendor_and_level_and_reads_back():
    outcomes = [
        ProductOutcome("acme", "rescored", ("changed", "entered_review"), (("image", "top"),)),
        ProductOutcome("acme", "current"),
        ProductOutcome("zeta", "rescored", ("changed", "left_review", "human_kept"), (("text", "type"),)),
    ]
    tally = Tally()
    for outcome in outcomes:
        tally = tally.add(outcome.tally())
    report = RescoreReport("run-1", RUN.as_dict(), ("classifier",), {"vendors": []}, tally, NOW, NOW, "DirectRunner")

    fields = report.to_fields()

    assert fields["seen"] == 3
    assert fields["counts"] | {} == {
        **dict.fromkeys(("newer_release", "changed_meanwhile", "gone", "photos_unreadable"), 0),
        "rescored": 2,
        "current": 1,
        "changed": 2,
        "left_review": 1,
        "entered_review": 1,
        "human_kept": 1,
    }
    assert fields["by_vendor"]["acme"] == {"rescored": 1, "current": 1, "changed": 1, "entered_review": 1}
    assert fields["by_level"] == {"image": {"top": 1}, "text": {"type": 1}}
    assert RescoreReport.from_fields(fields).to_fields() == fields
    assert any("left the review queue 1" in line for line in report.lines())


def test_a_category_filter_is_a_path_prefix():
    product = {"category_path": "Fruit/Apple/Granny-Smith"}
    assert in_category(product, "Fruit") and in_category(product, "Fruit/Apple/") and in_category(product, "")
    assert not in_category(product, "Fruit/App") and not in_category({"category_path": "Fruitcake"}, "Fruit")
