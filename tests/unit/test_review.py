"""The review core with in-memory documents: the queue's order and pages, human decisions that
win and survive the pipelines, undo, the audit sample and its measured precision."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from catalogist.documents import products
from catalogist.models.bounds import clopper_pearson
from catalogist.panel import trust
from catalogist.panel.queries import QueueView, queue_page
from catalogist.panel.review import Choice, NeedsConfirmation, ReviewError, StaleDecision, decide, review_id, undo
from catalogist.ports import REVISION, Write
from tests.support import TREE, image_decision
from tests.unit.fakes import MemoryDocuments

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def put(documents: MemoryDocuments, sku: str, probabilities: list[float], seen: datetime = NOW, **extra) -> str:
    """A product decided from a photo, its summary written as the photo path writes it."""
    product = {
        "vendor": "acme",
        "sku": sku,
        "image_category": image_decision(probabilities),
        "updated_at": seen,
        **extra,
    }
    products.update(documents, [f"acme:{sku}"], lambda _, stored: product, "seed", seen, audit_rate=0.0)
    return f"acme:{sku}"


def test_the_queue_holds_the_unsure_least_confident_first_then_oldest():
    documents = MemoryDocuments()
    put(documents, "SURE", [0.97, 0.01, 0.01, 0.01])
    put(documents, "UNSURE-NEW", [0.25, 0.30, 0.40, 0.05], seen=NOW)
    put(documents, "UNSURE-OLD", [0.25, 0.30, 0.40, 0.05], seen=NOW - timedelta(days=1))
    put(documents, "VERY-UNSURE", [0.30, 0.28, 0.22, 0.20])

    page, _ = queue_page(documents, QueueView(), "", 10)

    assert [product.id for product in page] == ["acme:VERY-UNSURE", "acme:UNSURE-OLD", "acme:UNSURE-NEW"]


def test_paging_by_rank_shows_every_queued_product_exactly_once():
    documents = MemoryDocuments()
    rng = np.random.default_rng(4)
    for i in range(57):
        put(documents, f"S-{i:03d}", list(rng.dirichlet(np.ones(4))), seen=NOW - timedelta(minutes=i % 5))
    queued = {pid for pid, doc in documents.collections["products"].items() if doc["review_rank"]}

    seen, after = [], ""
    while True:
        page, after = queue_page(documents, QueueView(), after, 10)
        seen += [product.id for product in page]
        if not after:
            break

    assert len(seen) == len(set(seen)) == len(queued)
    assert set(seen) == queued


def test_a_human_decision_wins_leaves_the_queue_and_is_recorded():
    documents = MemoryDocuments()
    pid = put(documents, "A-1", [0.25, 0.30, 0.40, 0.05])

    review = decide(documents, pid, Choice("alternative", ("Fruit", "Banana", "Banana")), "ana@shop", "r-1", NOW)

    product = documents.get("products", pid)
    assert product["human_category"]["path_text"] == "Fruit/Banana/Banana"
    assert (product["category_path"], product["category"]["source"]) == ("Fruit/Banana/Banana", "human")
    assert (product["needs_review"], product["review_rank"]) == (False, None)
    assert review["model"]["image_category"]["path_text"] == "Fruit"
    assert (review["reviewer"], review["human"]["human_category"]["reviewed_by"]) == ("ana@shop", "ana@shop")
    assert review["model_guess_correct"] is True, "the chosen leaf was the models' best guess"


def test_a_retried_request_is_applied_once():
    documents = MemoryDocuments()
    pid = put(documents, "A-1", [0.25, 0.30, 0.40, 0.05])

    first = decide(documents, pid, Choice("accept"), "ana@shop", "same-request", NOW)
    again = decide(documents, pid, Choice("accept"), "ana@shop", "same-request", NOW + timedelta(seconds=1))

    assert first["id"] == again["id"]
    assert len(documents.collections["reviews"]) == 1
    # what the card shows (only the top level was sure), never the leaf the model guessed at 40%
    assert documents.get("products", pid)["human_category"]["path_text"] == "Fruit"


def test_undo_restores_what_was_there_before():
    documents = MemoryDocuments()
    pid = put(documents, "A-1", [0.25, 0.30, 0.40, 0.05])
    earlier = decide(documents, pid, Choice("accept"), "ana@shop", "r-1", NOW)
    later = decide(documents, pid, Choice("search", ("Vegetables", "Leek", "Leek")), "bo@shop", "r-2", NOW)

    undo(documents, later["id"], "bo@shop", NOW)
    assert documents.get("products", pid)["human_category"]["review_id"] == earlier["id"]
    undo(documents, earlier["id"], "ana@shop", NOW)

    product = documents.get("products", pid)
    assert product["human_category"] is None
    assert product["needs_review"] and product["review_rank"], "back in the queue"
    assert documents.get("reviews", later["id"])["undone"] is True


def test_a_pipeline_writing_after_a_human_decision_never_undoes_it():
    documents = MemoryDocuments()
    pid = put(documents, "A-1", [0.25, 0.30, 0.40, 0.05])
    stale = documents.get("products", pid)  # a photo read the product before the admin decided
    decide(documents, pid, Choice("accept"), "ana@shop", "r-1", NOW)

    unsure = image_decision([0.30, 0.28, 0.22, 0.20])
    products.update(documents, [pid], lambda _, stored: {"image_category": unsure}, "photo", NOW, known={pid: stale})

    product = documents.get("products", pid)
    assert product["image_category"] == unsure, "the photo's own field is written"
    assert (product["category"]["source"], product["needs_review"], product["review_rank"]) == ("human", False, None)


def test_a_price_needs_a_positive_number_and_keeps_the_card_in_the_queue():
    documents = MemoryDocuments()
    pid = put(
        documents,
        "A-1",
        [0.25, 0.30, 0.40, 0.05],
        price={"predicted": 120.0, "low": 90.0, "high": 150.0, "currency": "INR"},
    )

    with pytest.raises(ReviewError, match="negative"):
        decide(documents, pid, Choice("price", price="-3"), "ana@shop", "r-0", NOW)
    with pytest.raises(ReviewError, match="positive"):
        decide(documents, pid, Choice("price", price="0"), "ana@shop", "r-0", NOW)
    decide(documents, pid, Choice("price", price="99.5"), "ana@shop", "r-1", NOW)

    product = documents.get("products", pid)
    assert product["human_price"]["amount"] == 99.5 and product["human_price"]["currency"] == "INR"
    assert product["review_rank"], "still to be categorized"


@pytest.mark.parametrize("typed, saved", [("12,50", 12.5), ("12.50", 12.5), ("1 299,00", 1299.0), ("₹ 14", 14.0)])
def test_a_price_is_read_as_vendor_files_are(typed, saved):
    documents = MemoryDocuments()
    pid = put(documents, "A-1", [0.25, 0.30, 0.40, 0.05], price={"predicted": 20.0, "currency": "INR"})

    decide(documents, pid, Choice("price", price=typed, confirmed=True), "ana@shop", "r-1", NOW)

    assert documents.get("products", pid)["human_price"]["amount"] == saved


def test_a_price_far_from_the_suggestion_or_the_vendor_s_is_saved_only_when_confirmed():
    documents = MemoryDocuments()
    suggestion = {"predicted": 450.0, "low": 400.0, "high": 490.0, "currency": "INR"}
    pid = put(documents, "A-1", [0.25, 0.30, 0.40, 0.05], price=suggestion, vendor_price={"amount": 495.0})

    with pytest.raises(NeedsConfirmation, match=r"above the suggested P90 of 490\.00 and 202\.0× the vendor's"):
        decide(documents, pid, Choice("price", price="100,000"), "ana@shop", "r-1", NOW)
    assert "human_price" not in documents.get("products", pid)
    decide(documents, pid, Choice("price", price="100,000", confirmed=True), "ana@shop", "r-2", NOW)
    decide(documents, pid, Choice("price", price="450"), "ana@shop", "r-3", NOW)  # inside P10–P90: no question

    assert documents.get("products", pid)["human_price"]["amount"] == 450.0


def test_enter_files_what_the_card_shows_never_a_leaf_the_model_was_not_sure_of():
    documents = MemoryDocuments()
    # sure of nothing below the top level: the card says "Fruit", its first alternative is a 6% leaf
    pid = put(documents, "A-1", [0.34, 0.33, 0.33, 0.0])

    decide(documents, pid, Choice("accept"), "ana@shop", "r-1", NOW)

    human = documents.get("products", pid)["human_category"]
    assert (human["path_text"], human["tree"]) == ("Fruit", "image")


def test_a_second_reviewer_deciding_a_card_the_first_just_decided_is_refused_and_told_who():
    documents = MemoryDocuments()
    pid = put(documents, "A-1", [0.25, 0.30, 0.40, 0.05])
    seen = documents.get("products", pid)[REVISION]  # both opened the card at this revision

    decide(
        documents, pid, Choice("alternative", ("Fruit", "Banana", "Banana")), "admin@shop", "a-1", NOW, revision=seen
    )
    with pytest.raises(StaleDecision, match="admin@shop changed it at 2026-11-30 09:00:00"):
        decide(documents, pid, Choice("accept"), "reviewer@shop", "b-1", NOW, revision=seen)

    product = documents.get("products", pid)
    assert product["human_category"]["reviewed_by"] == "admin@shop"
    refused = documents.get("reviews", review_id(pid, "b-1"))
    assert refused["refused"] and "admin@shop" in refused["refusal"] and refused["human"] == {}


def test_undo_reverts_only_a_decision_that_is_still_the_product_s():
    documents = MemoryDocuments()
    pid = put(documents, "A-1", [0.25, 0.30, 0.40, 0.05])
    seen = documents.get("products", pid)[REVISION]
    admins = decide(
        documents, pid, Choice("alternative", ("Fruit", "Banana", "Banana")), "admin@shop", "a", NOW, revision=seen
    )
    # the reviewer reloaded the card and filed it elsewhere
    reviewers = decide(
        documents,
        pid,
        Choice("search", ("Vegetables", "Leek", "Leek")),
        "rev@shop",
        "b",
        NOW,
        revision=admins["revision"],
    )

    with pytest.raises(StaleDecision, match="rev@shop changed its category"):
        undo(documents, admins["id"], "admin@shop", NOW, revision=admins["revision"])

    product = documents.get("products", pid)
    assert product["human_category"]["path_text"] == "Vegetables/Leek/Leek" and not product["review_rank"]
    assert documents.get("reviews", reviewers["id"])["undone"] is False
    assert documents.get("reviews", admins["id"])["undone"] is False
    assert "rev@shop" in documents.get("reviews", admins["id"])["undo_refused"]["reason"]


def test_undo_of_a_product_changed_since_the_decision_is_refused():
    documents = MemoryDocuments()
    pid = put(documents, "A-1", [0.25, 0.30, 0.40, 0.05])
    record = decide(
        documents, pid, Choice("accept"), "ana@shop", "r-1", NOW, revision=documents.get("products", pid)[REVISION]
    )
    unsure = image_decision([0.30, 0.28, 0.22, 0.20])
    products.update(documents, [pid], lambda _, stored: {"image_category": unsure}, "photo acme/A-1_2.jpg", NOW)

    with pytest.raises(StaleDecision, match=r"photo acme/A-1_2\.jpg changed it"):
        undo(documents, record["id"], "ana@shop", NOW, revision=record["revision"])
    assert documents.get("products", pid)["human_category"]["review_id"] == record["id"]


def test_the_audit_sample_is_the_configured_share_of_automatic_decisions():
    sampled = sum(products.audited(f"vendor-{i % 7}:SKU-{i}", 0.02) for i in range(20_000))

    assert 0.015 < sampled / 20_000 < 0.025


def test_audited_decisions_measure_the_precision_of_automatic_ones():
    documents = MemoryDocuments()
    sure = [0.97, 0.01, 0.01, 0.01]  # decided to Fruit/Apple/Granny-Smith without review
    ids = []
    for i in range(12):
        product = {"vendor": "acme", "sku": f"S-{i}", "image_category": image_decision(sure), "updated_at": NOW}
        product.update(products.summary_fields(product, audit_rate=1.0))  # every one audited
        documents.commit([Write(products.COLLECTION, f"acme:S-{i}", product)])
        ids.append(f"acme:S-{i}")
    assert all(documents.get("products", pid)["review_code"] == "audit" for pid in ids)

    for i, pid in enumerate(ids):
        wrong = i < 3
        choice = Choice("search", ("Fruit", "Banana", "Banana")) if wrong else Choice("accept")
        decide(documents, pid, choice, "ana@shop", f"r-{i}", NOW, audit_rate=1.0)

    (row,) = trust.audit_precision(documents, {"image": TREE.levels})
    assert (row.source, row.level, row.right, row.reviewed) == ("image", "fine", 9, 12)
    assert row.low < 0.75 < row.high
    low, high = clopper_pearson(9, 12)
    assert (round(low, 3), round(high, 3)) == (0.428, 0.945)


def test_audits_recorded_without_their_release_are_given_the_one_they_checked_in_batches():
    """What `catalogist upgrade` does to audits of Catalogist before `audit_version`: each gets
    the release a review records today, across commits of at most 500, once."""
    from catalogist.documents.reviews import AUDIT_VERSION, backfill_audit_versions

    commits = []

    class Counted(MemoryDocuments):
        def commit(self, writes):
            commits.append(len(writes))
            super().commit(writes)

    documents = Counted()
    product = {"vendor": "acme", "sku": "S-1", "image_category": image_decision([0.97, 0.01, 0.01, 0.01])}
    product.update(products.summary_fields({**product, "updated_at": NOW}, audit_rate=1.0))
    documents.commit([Write(products.COLLECTION, "acme:S-1", product)])
    decide(documents, "acme:S-1", Choice("accept"), "ana@shop", "r-1", NOW, audit_rate=1.0)
    ((_, today),) = documents.scan("reviews", [("audit", "==", True)])
    before = {name: value for name, value in today.items() if name != AUDIT_VERSION}
    legacy = [Write("reviews", f"legacy-{i:04d}", before) for i in range(1_201)]
    unknown = Write("reviews", "legacy-unknown", {**before, "model": {"category": {}}})  # no release recorded
    for start in range(0, len(legacy), 500):
        documents.commit(legacy[start : start + 500])
    documents.commit([unknown])
    commits.clear()

    first = backfill_audit_versions(documents)
    written = list(commits)
    second = backfill_audit_versions(documents)

    assert today[AUDIT_VERSION] == product["image_category"]["model_version"] != ""
    assert first == (1_201, 1_203) and second == (0, 1_203)
    assert written == [500, 500, 202], "Firestore takes at most 500 writes a commit"
    stored = {review_id: review for review_id, review in documents.scan("reviews", [("audit", "==", True)])}
    assert stored.pop("legacy-unknown")[AUDIT_VERSION] == ""
    assert {review[AUDIT_VERSION] for review in stored.values()} == {today[AUDIT_VERSION]}
