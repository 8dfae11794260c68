"""A team works one queue, in real Chromium against the real stack: one reviewer per card (leases,
with two sessions), prices at a glance, where a card stands in the queue, finding any product and
its history, bulk decisions with preview and one undo, and the queue's filters."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime

import pytest
import requests

from catalogist.panel.auth import DEV_COOKIE, DevSignIn
from tests.support import (
    PANEL_ADMIN,
    PANEL_REVIEWER,
    current_sku,
    open_queue,
    reviews_of,
    seed_unsure,
    stored_product,
    vendor,
)

ADMIN, REVIEWER = PANEL_ADMIN, PANEL_REVIEWER
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def lease_of(firestore, product_id: str) -> dict:
    return firestore.collection("card_leases").document(product_id).get().to_dict() or {}


def wait_until(condition, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.1)


def held_by(firestore, product_id: str, reviewer: str) -> bool:
    lease = lease_of(firestore, product_id)
    return lease.get("reviewer") == reviewer and lease["until"] > datetime.now(UTC)


# -- 1. one reviewer per card ------------------------------------------------------------------


def test_a_card_one_reviewer_has_open_is_passed_by_in_the_other_s_queue(page, second_reviewer, firestore, taxonomy):
    seller = vendor()
    first, second = seed_unsure(firestore, taxonomy, seller, [0.20, 0.30])
    open_queue(page, seller)
    wait_until(lambda: held_by(firestore, first, ADMIN))

    open_queue(second_reviewer, seller)

    assert current_sku(page) == "S-000"
    assert current_sku(second_reviewer) == "S-001", "the admin's card is passed by"
    wait_until(lambda: held_by(firestore, second, REVIEWER))
    row = second_reviewer.locator(f'#queue-list li[data-id="{first}"]')
    assert f"{ADMIN} is on it" in row.inner_text()


def test_opening_a_card_someone_has_open_says_who_and_a_decision_on_it_is_refused(
    page, second_reviewer, firestore, taxonomy
):
    seller = vendor()
    first, _ = seed_unsure(firestore, taxonomy, seller, [0.20, 0.30])
    open_queue(page, seller)
    wait_until(lambda: held_by(firestore, first, ADMIN))
    open_queue(second_reviewer, seller)

    second_reviewer.locator(f'#queue-list li[data-id="{first}"] a.row').click()
    note = second_reviewer.locator("article.card .lease-note")
    note.wait_for()
    second_reviewer.keyboard.press("Enter")
    second_reviewer.wait_for_function("document.querySelector('#status').classList.contains('error')")

    assert f"being reviewed by {ADMIN}" in note.inner_text()
    assert f"being reviewed by {ADMIN}" in second_reviewer.locator("#status").inner_text()
    assert "human_category" not in stored_product(firestore, first)
    # a decision that reaches the server anyway is refused there, and recorded
    answer = second_reviewer.request.post(
        "/api/decide",
        data={"product_id": first, "action": "accept", "revision": 1, "request_id": "around-the-page"},
        headers={"X-CSRF-Token": second_reviewer.locator('meta[name="csrf-token"]').get_attribute("content")},
    )
    assert answer.status == 409 and answer.json()["leased_by"] == ADMIN
    (refused,) = reviews_of(firestore, first)
    assert refused["refused"] and refused["reviewer"] == REVIEWER and ADMIN in refused["refusal"]


def test_the_lease_is_renewed_while_the_card_is_open_and_given_back_on_moving_on(chromium, stack, firestore, taxonomy):
    seller = vendor()
    first, second = seed_unsure(firestore, taxonomy, seller, [0.20, 0.30])
    context = chromium.new_context(base_url=stack.config.panel_url)
    page = context.new_page()
    page.clock.install()  # the page's timers run when the test says so
    page.goto("/signin")
    page.get_by_role("button", name=ADMIN).click()
    page.wait_for_url("**/queue*")
    open_queue(page, seller)
    until = wait_until(lambda: held_by(firestore, first, ADMIN) and lease_of(firestore, first)["until"])

    time.sleep(1.1)
    page.clock.run_for(21_000)  # past the renewal interval (a third of the lease)
    renewed = wait_until(lambda: lease_of(firestore, first)["until"] > until and lease_of(firestore, first)["until"])
    page.keyboard.press("j")
    wait_until(lambda: held_by(firestore, second, ADMIN))

    assert renewed > until
    assert not held_by(firestore, first, ADMIN), "moving on gave the first card back"
    context.close()


def test_two_reviewers_opening_the_queue_at_once_each_get_a_card_of_their_own(
    page, second_reviewer, stack, firestore, taxonomy
):
    seller = vendor()
    ids = seed_unsure(firestore, taxonomy, seller, [0.20, 0.30, 0.40, 0.50])
    url = f"{stack.config.panel_url}/queue?vendor={seller}"

    for each in (page, second_reviewer):  # both navigations start before either is answered
        each.evaluate("url => { location.href = url; }", url)
    for each in (page, second_reviewer):
        each.wait_for_url(f"**/queue?vendor={seller}")
        each.wait_for_selector("article.card")

    def settled():
        shown = {
            who: each.locator("article.card").get_attribute("data-id")
            for who, each in ((ADMIN, page), (REVIEWER, second_reviewer))
        }
        return shown if all(held_by(firestore, pid, who) for who, pid in shown.items()) else None

    shown = wait_until(settled)
    assert shown[ADMIN] != shown[REVIEWER]
    assert set(shown.values()) <= set(ids[:2]), "each took the first card free to them"


def test_leases_asked_for_at_the_same_moment_go_to_exactly_one_reviewer(stack, firestore, taxonomy):
    from catalogist_infra.stack import _panel_secret

    seller = vendor()
    (card,) = seed_unsure(firestore, taxonomy, seller, [0.20])
    secret = _panel_secret(stack.config.data_dir)
    sessions = []
    for i in range(8):  # four browsers of each reviewer
        reviewer = (ADMIN, REVIEWER)[i % 2]
        session = requests.Session()
        session.cookies.set(DEV_COOKIE, DevSignIn(frozenset({reviewer}), secret).cookie_for(reviewer))
        token = re.search(
            r'name="csrf-token" content="([^"]+)"',
            session.get(f"{stack.config.panel_url}/queue?vendor=nobody", timeout=30).text,
        )
        sessions.append((reviewer, session, token.group(1)))
    start = threading.Barrier(len(sessions))
    answers: list[tuple[str, int, dict]] = []

    def ask(reviewer, session, token):
        start.wait()
        answer = session.post(
            f"{stack.config.panel_url}/api/lease",
            json={"product_id": card},
            headers={"X-CSRF-Token": token},
            timeout=30,
        )
        answers.append((reviewer, answer.status_code, answer.json()))

    threads = [threading.Thread(target=ask, args=each) for each in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = {reviewer for reviewer, status, _ in answers if status == 200}
    assert len(winners) == 1, answers
    (winner,) = winners
    assert all(
        status == 409 and body["leased_by"] == winner for reviewer, status, body in answers if reviewer != winner
    )
    assert lease_of(firestore, card)["reviewer"] == winner


# -- 2. prices at a glance ---------------------------------------------------------------------


def test_a_vendor_price_outside_the_suggested_range_is_flagged_and_every_amount_names_its_currency(
    page, firestore, taxonomy
):
    seller = vendor()
    price = {"predicted": 450.0, "low": 400.0, "high": 490.0, "currency": "INR", "mode": "list_price"}
    outside, inside = seed_unsure(firestore, taxonomy, seller, [0.20, 0.30], price=price)
    firestore.collection("products").document(outside).update({"vendor_price": {"amount": 495.0, "currency": ""}})
    firestore.collection("products").document(inside).update({"vendor_price": {"amount": 450.0, "currency": "INR"}})

    open_queue(page, seller)
    flagged = page.locator("article.card .prices").inner_text()
    page.keyboard.press("j")
    page.wait_for_function("document.querySelector('article.card .sku').textContent === 'S-001'")
    plain = page.locator("article.card .prices").inner_text()

    assert "495.00 INR" in flagged and "above the suggested range" in flagged
    assert "450.00 INR, likely 400.00 INR to 490.00 INR (P10–P90), from the vendor's price" in flagged
    assert "suggested range" not in plain
    for text in (flagged, plain):
        amounts = re.findall(r"\d[\d,]*\.\d\d(?: [A-Z]{3})?", text)
        assert amounts and all(amount.endswith(" INR") for amount in amounts), amounts


# -- 4. where a card stands --------------------------------------------------------------------


def test_the_queue_says_which_card_of_how_many_in_what_order_and_each_row_s_confidence(page, firestore, taxonomy):
    seller = vendor()
    seed_unsure(firestore, taxonomy, seller, [0.20 + i / 100 for i in range(30)])
    open_queue(page, seller)

    page.wait_for_function("document.querySelector('#position').textContent === 'Card 1 of 30'")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.wait_for_function("document.querySelector('#position').textContent === 'Card 3 of 30'")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#position').textContent === 'Card 3 of 29'")

    assert "least sure first" in page.locator("#list-title").inner_text()
    confidences = page.locator("#queue-list .conf").all_inner_texts()
    assert len(confidences) == 25 and confidences[:3] == ["20%", "21%", "22%"]


def test_the_list_pages_in_as_the_reviewer_goes_and_keeps_the_current_card_in_view(page, firestore, taxonomy):
    seller = vendor()
    seed_unsure(firestore, taxonomy, seller, [0.20 + i / 200 for i in range(60)])
    open_queue(page, seller)
    assert page.locator("#queue-list li").count() == 25

    for _ in range(27):
        page.keyboard.press("j")
    page.wait_for_function("document.querySelector('article.card .sku').textContent === 'S-027'")

    assert page.locator("#queue-list li").count() >= 50
    current = page.locator("#queue-list li.current")
    assert current.get_attribute("data-id").endswith("S-027")
    box, row = page.locator("#queue-list").bounding_box(), current.bounding_box()
    assert box["y"] <= row["y"] and row["y"] + row["height"] <= box["y"] + box["height"], "scrolled into view"


# -- 5. finding any product --------------------------------------------------------------------


def test_a_product_is_found_by_sku_name_or_vendor_decided_or_not(page, firestore, taxonomy):
    seller = vendor()
    names = [f"Crunchy {seller} muesli", f"Smooth {seller} yoghurt"]
    seed_unsure(firestore, taxonomy, seller, [0.20, 0.30], names=names)
    open_queue(page, seller)
    page.keyboard.press("Enter")  # the first is decided now
    page.wait_for_function("document.querySelector('article.card .sku').textContent === 'S-001'")

    found = {}
    for typed in (f"crunchy {seller}", seller.upper(), f"SMOOTH {seller.upper()}"):
        page.goto("/products?" + requests.compat.urlencode({"q": typed}))
        found[typed] = {row.split("\t")[0]: row for row in page.locator("table.found tbody tr").all_inner_texts()}

    assert list(found[f"crunchy {seller}"]) == [names[0]]
    assert f"decided by {ADMIN}" in found[f"crunchy {seller}"][names[0]]
    assert set(found[seller.upper()]) == set(names), "a vendor's first letters, in any case"
    assert "to review" in found[f"SMOOTH {seller.upper()}"][names[1]]


def test_a_product_s_history_shows_automatic_human_and_undone_decisions_and_corrects_it(page, firestore, taxonomy):
    seller = vendor()
    (card,) = seed_unsure(firestore, taxonomy, seller, [0.30])
    alternatives = stored_product(firestore, card)["image_category"]["alternatives"]
    open_queue(page, seller)
    page.keyboard.press("Enter")
    page.wait_for_selector("#done:not([hidden])")
    page.keyboard.press("u")
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('Undone')")
    page.wait_for_selector("article.card")
    page.keyboard.press("2")
    page.wait_for_selector("#done:not([hidden])")

    page.goto(f"/products/{card}")
    page.wait_for_selector("table.events")
    before = page.locator("table.events tbody tr").all_inner_texts()
    target = alternatives[2]["path_text"]
    page.keyboard.press("/")
    page.locator("#search-input").fill(target.split("/")[-1])
    page.wait_for_selector(f'#search-results li[data-path="{target}"]')
    while page.locator("#search-results li.chosen").get_attribute("data-path") != target:
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => [...document.querySelectorAll('table.events tr.standing')].some(r => r.textContent.includes('search'))"
    )
    corrected = page.locator("table.events tbody tr").all_inner_texts()
    page.get_by_role("button", name="Undo").click()
    page.wait_for_selector("p.saved")

    assert "categorized it automatically" in before[0] and "photo model" in before[0]
    assert any("filed it as the card showed" in row and "undone" in row for row in before)
    assert any("undid that decision" in row for row in before)
    assert any("chose one of the alternatives" in row and "stands" in row for row in before)
    assert any("chose a category from the search" in row and target in row for row in corrected)
    assert any("chose one of the alternatives" in row and "replaced since" in row for row in corrected)
    assert stored_product(firestore, card)["human_category"]["path_text"] == alternatives[1]["path_text"]


# -- 6. bulk decisions -------------------------------------------------------------------------


def test_a_bulk_decision_is_previewed_recorded_per_product_and_for_the_batch_and_undone_as_one(
    page, firestore, taxonomy
):
    seller = vendor()
    ids = seed_unsure(firestore, taxonomy, seller, [0.95, 0.92, 0.91, 0.50, 0.30])
    sure = [
        pid for pid in ids if stored_product(firestore, pid)["image_category"]["alternatives"][0]["confidence"] >= 0.9
    ]
    open_queue(page, f"?vendor={seller}&min=90")
    page.get_by_role("link", name="Decide these in bulk…").click()
    page.wait_for_selector("table.planned")

    assert page.locator("#chosen-title .count").inner_text() == "3"
    planned = {
        row.get_attribute("data-id"): row.locator("td").nth(3).inner_text()
        for row in page.locator("table.planned tbody tr").all()
    }
    firsts = {pid: stored_product(firestore, pid)["image_category"]["alternatives"][0]["path_text"] for pid in sure}
    assert planned == firsts

    page.get_by_role("button", name="File these 3 cards").click()
    page.wait_for_selector(".batch-outcome")
    batch_url = page.url
    assert "3 filed" in page.locator(".batch-outcome").inner_text()
    for pid in ids:
        human = stored_product(firestore, pid).get("human_category")
        assert (human or {}).get("path_text") == firsts.get(pid)
    records = [r for pid in sure for r in reviews_of(firestore, pid)]
    (batch_id,) = {r["batch_id"] for r in records}
    assert len(records) == 3 and all(r["action"] == "alternative" and not r["refused"] for r in records)
    batch = firestore.collection("review_batches").document(batch_id).get().to_dict()
    assert set(batch["applied"]) == set(sure) and batch["reviewer"] == ADMIN

    page.get_by_role("button", name="Undo this batch").click()
    page.wait_for_selector(".batch-outcome .undone")

    assert page.url == batch_url
    for pid in sure:
        product = stored_product(firestore, pid)
        assert product["human_category"] is None and product["review_rank"], "back in the queue"
        (record,) = reviews_of(firestore, pid)
        assert record["undone"] is True and record["undone_by"] == ADMIN
    assert firestore.collection("review_batches").document(batch_id).get().to_dict()["undone"] is True


def test_a_bulk_decision_refuses_a_card_changed_after_the_preview_and_its_undo_keeps_a_later_decision(
    page, firestore, taxonomy
):
    seller = vendor()
    first, second, third = seed_unsure(firestore, taxonomy, seller, [0.95, 0.94, 0.93])
    page.goto(f"/bulk?vendor={seller}&min=90")
    page.wait_for_selector("table.planned")
    # a photo arrives for the first after the preview was shown
    firestore.collection("products").document(first).update(
        {"revision": 2, "changed_by": "photo pipeline", "changed_at": datetime.now(UTC)}
    )

    page.get_by_role("button", name="File these 3 cards").click()
    page.wait_for_selector(".batch-outcome")
    batch_url = page.url
    refused = page.locator("table.refused").inner_text()

    assert "2 filed" in page.locator(".batch-outcome").inner_text()
    assert "changed after the preview: photo pipeline changed it" in refused
    assert "human_category" not in stored_product(firestore, first)
    (record,) = reviews_of(firestore, first)
    assert record["refused"] and "photo pipeline" in record["refusal"]

    # someone corrects the second one by hand; undoing the batch leaves their decision alone
    page.goto(f"/products/{second}")
    page.wait_for_selector("article.card")
    page.keyboard.press("3")
    page.wait_for_function(
        "() => [...document.querySelectorAll('table.events tr.standing')]"
        ".some(r => r.textContent.includes('alternatives') && !r.textContent.includes('batch'))"
    )
    page.goto(batch_url)
    page.get_by_role("button", name="Undo this batch").click()
    page.wait_for_selector(".batch-outcome .undone")

    assert stored_product(firestore, second)["human_category"]["reviewed_by"] == ADMIN
    assert (
        stored_product(firestore, second)["human_category"]["path_text"]
        == (stored_product(firestore, second)["image_category"]["alternatives"][2]["path_text"])
    )
    assert stored_product(firestore, third)["human_category"] is None
    assert "decided it again" in page.locator("table.applied").inner_text()


# -- 7. filters --------------------------------------------------------------------------------


def test_vendor_and_category_filters_take_a_prefix_in_any_case(page, firestore, taxonomy):
    seller, other = vendor(), vendor()
    ids = seed_unsure(firestore, taxonomy, seller, [0.2 + i / 100 for i in range(8)])
    seed_unsure(firestore, taxonomy, other, [0.2])
    tops = {pid: stored_product(firestore, pid)["top_category"] for pid in ids}
    top = sorted(set(tops.values()))[0]

    page.goto("/queue?" + requests.compat.urlencode({"vendor": seller.upper(), "category": top[:3].lower()}))
    page.wait_for_selector("article.card")

    listed = [li.get_attribute("data-id") for li in page.locator("#queue-list li").all()]
    assert listed and set(listed) == {pid for pid, t in tops.items() if t == top}
    notes = page.locator(".filters .notes").inner_text()
    assert f"vendor '{seller.upper()}': {seller}" in notes and f": {top}" in notes
    assert page.locator('datalist#category-names option[value="' + top + '"]').count() == 1


def test_the_status_filter_shows_open_skipped_decided_and_mine(page, second_reviewer, firestore, taxonomy):
    seller = vendor()
    ids = seed_unsure(firestore, taxonomy, seller, [0.20, 0.30, 0.40, 0.50])
    open_queue(page, seller)
    page.keyboard.press("s")  # S-000: not now
    page.wait_for_function("document.querySelector('article.card .sku').textContent === 'S-001'")
    page.keyboard.press("Enter")  # S-001: the admin's
    page.wait_for_function("document.querySelector('article.card .sku').textContent === 'S-002'")
    second_reviewer.goto(f"/products/{ids[3]}")
    second_reviewer.wait_for_selector("article.card")
    second_reviewer.keyboard.press("Enter")  # S-003: the reviewer's
    second_reviewer.wait_for_selector("tr.standing")

    listed = {}
    for status in ("open", "skipped", "decided", "mine"):
        page.goto(f"/queue?vendor={seller}&status={status}")
        page.wait_for_selector("#queue-list")
        listed[status] = [li.get_attribute("data-id").split(":")[1] for li in page.locator("#queue-list li").all()]

    assert listed == {"open": ["S-002"], "skipped": ["S-000"], "decided": ["S-003", "S-001"], "mine": ["S-001"]}


def test_a_confidence_range_narrows_the_queue(page, firestore, taxonomy):
    seller = vendor()
    seed_unsure(firestore, taxonomy, seller, [0.20, 0.45, 0.55, 0.80])

    open_queue(page, f"?vendor={seller}&min=40&max=60")

    assert [li.get_attribute("data-id").split(":")[1] for li in page.locator("#queue-list li").all()] == [
        "S-001",
        "S-002",
    ]
    page.wait_for_function("document.querySelector('#position').textContent === 'Card 1 of 2'")
