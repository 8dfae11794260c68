"""An admin reviews products in the panel by keyboard, in real Chromium against the real stack."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
import requests

from tests.support import (
    PANEL_ADMIN,
    PANEL_REVIEWER,
    current_sku,
    final_ledger_entry,
    open_queue,
    reviews_of,
    seed_unsure,
    stored_product,
    vendor,
)

ADMIN, REVIEWER = PANEL_ADMIN, PANEL_REVIEWER
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">Dates'

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


seed = seed_unsure
product = stored_product


def test_the_first_card_is_the_least_confident(page, firestore, taxonomy):
    seller = vendor()
    seed(firestore, taxonomy, seller, [0.45, 0.20, 0.35])

    open_queue(page, seller)

    assert current_sku(page) == "S-001"
    assert page.locator("#queue-list li").count() == 3


def test_enter_files_what_the_card_says_with_one_audit_record(page, firestore, taxonomy):
    seller = vendor()
    (first,) = seed(firestore, taxonomy, seller, [0.30])
    shown = product(firestore, first)["category"]["path_text"]  # sure of the top level only
    open_queue(page, seller)

    said = page.locator("article.card .enter-files").inner_text()
    page.keyboard.press("Enter")
    page.wait_for_selector("#done:not([hidden])")

    decided = product(firestore, first)
    assert said.startswith(f"Enter files it under {shown} (only the top level")
    assert (decided["human_category"]["path_text"], decided["human_category"]["reviewed_by"]) == (shown, ADMIN)
    assert decided["human_category"]["path_text"] != decided["image_category"]["alternatives"][0]["path_text"]
    assert (decided["category"]["source"], decided["needs_review"]) == ("human", False)
    (record,) = reviews_of(firestore, first)
    assert (record["action"], record["reviewer"], record["model"]["image_category"]["model_version"]) == (
        "accept",
        ADMIN,
        "seeded",
    )


def test_enter_after_a_click_on_a_key_button_files_the_next_card_as_shown(page, firestore, taxonomy):
    seller = vendor()
    first, second = seed(firestore, taxonomy, seller, [0.30, 0.40])
    shown = product(firestore, second)["category"]["path_text"]
    open_queue(page, seller)

    page.click("#keys button[data-key='s']")  # the mouse skips the first card
    page.wait_for_function("document.querySelector('article.card .sku').textContent === 'S-001'")
    page.keyboard.press("Enter")
    page.wait_for_selector("#done:not([hidden])")

    assert product(firestore, second)["human_category"]["path_text"] == shown, "filed, not skipped by the button"
    assert "human_category" not in product(firestore, first)


def test_a_number_key_picks_that_alternative(page, firestore, taxonomy):
    seller = vendor()
    (first,) = seed(firestore, taxonomy, seller, [0.30])
    second = product(firestore, first)["image_category"]["alternatives"][1]["path_text"]
    open_queue(page, seller)

    page.keyboard.press("2")
    page.wait_for_selector("#done:not([hidden])")

    assert product(firestore, first)["human_category"]["path_text"] == second
    assert len(reviews_of(firestore, first)) == 1


def test_slash_searches_the_taxonomy_by_a_few_letters(page, firestore, taxonomy):
    seller = vendor()
    (first,) = seed(firestore, taxonomy, seller, [0.30])
    target = taxonomy.leaves[-1]
    open_queue(page, seller)

    page.keyboard.press("/")
    page.locator("#search-input").type(target[-1][:5].lower())
    page.wait_for_selector(f'#search-results li[data-path="{"/".join(target)}"]')
    while page.locator("#search-results li.chosen").get_attribute("data-path") != "/".join(target):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_selector("#done:not([hidden])")

    assert product(firestore, first)["human_category"]["path_text"] == "/".join(target)
    assert reviews_of(firestore, first)[0]["action"] == "search"


def test_u_undoes_the_last_decision(page, firestore, taxonomy):
    seller = vendor()
    first, second = seed(firestore, taxonomy, seller, [0.30, 0.40])
    open_queue(page, seller)

    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('article.card .sku').textContent === 'S-001'")
    page.keyboard.press("u")
    page.wait_for_function("document.querySelector('article.card .sku').textContent === 'S-000'")

    restored = product(firestore, first)
    assert restored["human_category"] is None and restored["needs_review"] and restored["review_rank"]
    assert reviews_of(firestore, first)[0]["undone"] is True
    assert "human_category" not in product(firestore, second)


def test_paging_shows_every_queued_product_exactly_once(page, firestore, taxonomy):
    seller = vendor()
    ids = seed(firestore, taxonomy, seller, list(np.linspace(0.2, 0.5, 60)))  # more than two pages of 25
    open_queue(page, seller)

    shown = []
    while page.locator("article.card").count():
        shown.append(current_sku(page))
        page.keyboard.press("s")
        page.wait_for_function(
            "last => !document.querySelector('article.card')"
            " || document.querySelector('article.card .sku').textContent !== last",
            arg=shown[-1],
        )

    ranked = sorted(ids, key=lambda pid: product(firestore, pid)["review_rank"])
    served = [item["id"] for item in page.request.get(f"/api/queue?vendor={seller}").json()["items"]]
    assert len(shown) == len(set(shown)) == len(ids)
    assert shown == [pid.split(":")[1] for pid in ranked], f"in the queue's order, across pages; served {served[:5]}"


def test_a_product_s_photo_loads_on_its_card(page, uploads, firestore, reference_classifier):
    from tests.support import dataset_photos, upload

    seller = vendor()
    photo, _ = dataset_photos(reference_classifier, 1)[0]
    blob = upload(uploads, f"{seller}/SKU-1.jpg", photo.read_bytes())
    entry = final_ledger_entry(firestore, uploads.name, blob)

    page.goto(f"/card/{entry['product_id']}")
    image = page.locator("article.card .photos img").first
    image.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())

    assert image.evaluate("img => img.naturalWidth") > 100
    assert f"generation {blob.generation}" in page.locator("figcaption").first.inner_text()


def test_an_import_s_rejected_rows_show_with_their_reasons(page, uploads, firestore):
    from tests.support import upload

    seller = vendor()
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerows(
        [
            ["SKU", "Name", "Price"],
            ["A-1", "Basmati rice 1 kg", "250"],
            ["", "Row without a SKU", "10"],
            ["A-3", "Green tea", "abc"],
        ]
    )
    blob = upload(uploads, f"{seller}/prices.csv", rows.getvalue().encode(), "text/csv")
    assert final_ledger_entry(firestore, uploads.name, blob, timeout=120)["status"] == "done"

    page.goto(f"/imports?vendor={seller}")
    page.locator("table.list a").first.click()
    page.wait_for_selector("table.rejected-rows")
    rejected = page.locator("table.rejected-rows tbody tr").all_inner_texts()

    assert any(text.startswith("3") and "sku" in text.lower() for text in rejected), rejected


def test_vendor_text_renders_inert(page, firestore, taxonomy):
    seller = vendor()
    seed(firestore, taxonomy, seller, [0.3], names=[HOSTILE])
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    open_queue(page, seller)

    assert page.locator("article.card h1").inner_text() == HOSTILE
    assert page.evaluate("window.__pwned") is None and dialogs == []


def test_an_unsigned_request_and_a_non_reviewer_are_refused(chromium, stack):
    context = chromium.new_context(base_url=stack.config.panel_url)
    page = context.new_page()
    page.goto("/queue")
    assert "/signin" in page.url
    assert requests.get(f"{stack.config.panel_url}/api/queue", timeout=10).status_code == 401
    assert requests.get(f"{stack.config.panel_url}/card/x:y", timeout=10, allow_redirects=False).status_code in (
        302,
        401,
    )

    answer = page.request.post(f"{stack.config.panel_url}/signin", form={"email": "mallory@elsewhere.example"})
    assert answer.status == 403
    context.close()


def test_a_card_whose_lease_lapsed_is_still_checked_by_revision_and_undo_keeps_the_other_s_work(
    page, second_reviewer, firestore, taxonomy
):
    seller = vendor()
    (card,) = seed(firestore, taxonomy, seller, [0.30])
    second = product(firestore, card)["image_category"]["alternatives"][1]["path_text"]
    open_queue(second_reviewer, seller)  # the reviewer has the card open, then their laptop sleeps:
    lease = firestore.collection("card_leases").document(card)
    _wait(lambda: (lease.get().to_dict() or {}).get("reviewer") == REVIEWER)
    lease.delete()  # their lease lapses unrenewed
    open_queue(page, seller)  # so the admin gets the card

    page.keyboard.press("2")
    page.wait_for_selector("#done:not([hidden])")
    second_reviewer.keyboard.press("Enter")
    second_reviewer.wait_for_function("document.querySelector('#status').classList.contains('error')")

    told = second_reviewer.locator("#status").inner_text()
    assert told.startswith("Not saved: the product changed after this card was shown: " + ADMIN), told
    second_reviewer.wait_for_selector("article.card .human-category")  # the card reloaded: it shows the admin's
    assert ADMIN in second_reviewer.locator("article.card .human-category").inner_text()
    decided = product(firestore, card)
    assert (decided["human_category"]["path_text"], decided["human_category"]["reviewed_by"]) == (second, ADMIN)
    records = {r["reviewer"]: r for r in reviews_of(firestore, card)}
    assert records[REVIEWER]["refused"] and ADMIN in records[REVIEWER]["refusal"]
    assert not records[ADMIN]["refused"]

    # the reviewer, now on the current card, files it elsewhere; the admin's undo is refused
    second_reviewer.keyboard.press("Enter")
    second_reviewer.wait_for_selector("#done:not([hidden])")
    page.keyboard.press("u")
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('Not undone')")

    final = product(firestore, card)
    assert final["human_category"]["reviewed_by"] == REVIEWER
    assert not final["review_rank"], "still decided: nobody's undo put it back in the queue"
    records = {(r["reviewer"], r["refused"]): r for r in reviews_of(firestore, card)}
    assert records[(ADMIN, False)]["undone"] is False and records[(ADMIN, False)]["undo_refused"]["by"] == ADMIN
    assert records[(REVIEWER, False)]["undone"] is False


def _wait(condition, timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.1)


def test_a_price_with_a_decimal_comma_is_saved_as_written(page, firestore, taxonomy):
    seller = vendor()
    (card,) = seed(firestore, taxonomy, seller, [0.30])
    firestore.collection("products").document(card).update(
        {"photo_price": {"predicted": 11.0, "low": 8.0, "high": 16.0, "currency": "INR", "mode": "category"}}
    )
    open_queue(page, seller)

    page.keyboard.press("p")
    page.locator("#price-input").fill("12,50")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('Price saved')")

    assert product(firestore, card)["human_price"] == {
        **product(firestore, card)["human_price"],
        "amount": 12.5,
        "currency": "INR",
    }


def test_a_price_far_from_the_vendor_s_asks_before_it_is_saved(page, firestore, taxonomy):
    seller = vendor()
    (card,) = seed(firestore, taxonomy, seller, [0.30])
    firestore.collection("products").document(card).update(
        {
            "price": {"predicted": 450.0, "low": 400.0, "high": 490.0, "currency": "INR", "mode": "list_price"},
            "vendor_price": {"amount": 495.0, "currency": "INR"},
        }
    )
    open_queue(page, seller)

    page.keyboard.press("p")
    page.locator("#price-input").fill("100,000")
    page.keyboard.press("Enter")
    page.wait_for_selector("#price-question:not([hidden])")
    question = page.locator("#price-question").inner_text()
    assert "above the suggested P90 of 490.00" in question and "202.0× the vendor's price" in question
    assert "human_price" not in product(firestore, card)

    page.keyboard.press("Enter")  # the same amount again: confirmed
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('Price saved')")

    assert product(firestore, card)["human_price"]["amount"] == 100_000.0
