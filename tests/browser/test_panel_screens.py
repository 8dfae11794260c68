"""Plain words and any screen, in real Chromium against the real stack: the sign-in page is styled
before anyone signs in; a card says in one line what the model thinks; the overview says its
precision as a sentence and every model's figures at release; list rows and alternatives take
focus with a ring to see; dialogs keep focus and close on Esc; text passes WCAG AA contrast; the
photo has words and a zoom; the queue works from 1024×768 down to a 390 px phone."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from catalogist.intake import ledger
from tests.support import (
    PANEL_ADMIN,
    contrast_failures,
    dataset_photos,
    final_ledger_entry,
    open_queue,
    panel_page,
    seed_unsure,
    upload,
    vendor,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
# What a card said before it spoke the shop's language: field names, mode ids, statistics' names.
INTERNAL_WORDS = re.compile(r"sub_category|category_text|list_price|always reviewed|Clopper|Pearson|_")
LAPTOP = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}


def tab_until(page, selector: str, presses: int = 120) -> bool:
    """Tab through the page until the focused element matches `selector`."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return True
    return False


def focus_ring(page) -> str:
    """The focused element's outline, or its box shadow when it draws its ring that way."""
    return page.evaluate(
        """() => {
          const style = getComputedStyle(document.activeElement);
          return style.outlineStyle !== "none" ? `${style.outlineStyle} ${style.outlineWidth}` : style.boxShadow;
        }"""
    )


def focus_is_in(page, selector: str) -> bool:
    return page.evaluate("s => !!document.activeElement.closest(s)", selector)


# -- 3. the sign-in page -----------------------------------------------------------------------


def test_the_sign_in_page_is_styled_before_anyone_signs_in(chromium, stack):
    context = chromium.new_context(base_url=stack.config.panel_url)
    page = context.new_page()
    page.goto("/signin")
    styled = page.evaluate(
        "() => [...document.styleSheets].some(s => s.href && s.href.endsWith('/assets/panel.css') && s.cssRules.length)"
    )
    button = page.get_by_role("button", name=PANEL_ADMIN)
    shown_as = button.evaluate("b => getComputedStyle(b).display")
    failures = contrast_failures(page)
    queue = context.request.get("/queue", max_redirects=0)
    context.close()

    assert styled, "the stylesheet is served without a sign-in"
    assert shown_as == "block", "the reviewers are buttons laid out by panel.css"
    assert failures == []
    assert queue.status in (302, 303) and "/signin" in queue.headers["location"], "nothing else is open"


# -- 9. plain words ----------------------------------------------------------------------------


def test_a_card_says_in_one_line_what_the_model_thinks_and_how_sure_in_the_shop_s_words(page, firestore, taxonomy):
    seller = vendor()
    price = {"predicted": 120.0, "low": 100.0, "high": 150.0, "currency": "INR", "mode": "category_text"}
    seed_unsure(firestore, taxonomy, seller, [0.30], price=price)
    open_queue(page, seller)

    card = page.locator("article.card")
    lines = card.locator(".confidence-line").all_inner_texts()
    first_alternative = card.locator("button.alternative .pct").first.inner_text()
    said = card.inner_text()

    assert len(lines) == 1
    assert re.fullmatch(r"Model thinks [^()_/]+ \((\d+)%\)(; sure it is [^()_/]+ \(\d+%\))?\.", lines[0]), lines[0]
    assert re.match(r"Model thinks [^(]+ \((\d+%)\)", lines[0]).group(1) == first_alternative, "one figure, not three"
    assert "from the photo's category and the product's name (rough)" in said
    assert not INTERNAL_WORDS.search(said), INTERNAL_WORDS.search(said)


def test_the_overview_says_its_precision_as_a_sentence_and_every_model_s_figures(page, firestore):
    page.goto("/overview")
    serving = {
        row.locator("td").first.inner_text(): row.locator("td").nth(1).inner_text()
        for row in page.locator("table.models tbody tr").all()
    }
    checked = firestore.collection("reviews")
    for number, version in enumerate([serving["Price-list categorizer"]] * 40 + ["an-older-release"] * 5):
        checked.document(f"audit-{uuid.uuid4().hex}").set(
            {
                "product_id": f"audited:{number}",
                "audit": True,
                "undone": False,
                "audit_source": "text",
                "audit_level": "type",
                "audit_correct": number != 0,
                "audit_version": version,
                "reviewed_at": datetime.now(UTC),
            }
        )

    page.goto("/overview")
    sentences = page.locator("ul.precision li").all_inner_texts()
    models = {
        row.locator("td").first.inner_text(): row.locator("td.figures").inner_text()
        for row in page.locator("table.models tbody tr").all()
    }
    said = page.locator("main").inner_text()

    assert (
        "Of 40 automatic decisions from the price list to the type checked, 39 were right; "
        "we are 95% sure the true rate is at least 88%."
    ) in sentences, "the 5 checks of a release no longer in service do not count"
    assert "of validation photos" in models["Photo classifier"]
    assert "On products it did not train on it gets" in models["Price-list categorizer"]
    assert "half its prices are within" in models["Price model"]
    assert not INTERNAL_WORDS.search(said), INTERNAL_WORDS.search(said)


# -- 10. keyboard, dialogs, contrast -----------------------------------------------------------


def test_list_rows_and_alternatives_take_focus_with_a_ring_to_see(page, firestore, taxonomy):
    seller = vendor()
    seed_unsure(firestore, taxonomy, seller, [0.20, 0.30, 0.40])
    open_queue(page, seller)

    reached_row = tab_until(page, "#queue-list a.row")
    row_ring = focus_ring(page)
    reached_alternative = tab_until(page, "button.alternative")
    alternative_ring = focus_ring(page)

    assert reached_row and reached_alternative, "both are reached by Tab"
    for ring in (row_ring, alternative_ring):
        assert re.fullmatch(r"solid [3-9]px", ring), ring


def test_dialogs_keep_focus_inside_and_close_on_esc_wherever_focus_is(page, firestore, taxonomy):
    seller = vendor()
    seed_unsure(firestore, taxonomy, seller, [0.20])
    open_queue(page, seller)
    search = page.locator("#search")

    page.keyboard.press("/")
    search.wait_for()
    semantics = (search.get_attribute("role"), search.get_attribute("aria-modal"))
    started_in_input = focus_is_in(page, "#search-input")
    kept = []
    for key in ["Tab"] * 4 + ["Shift+Tab"] * 5:
        page.keyboard.press(key)
        kept.append(focus_is_in(page, "#search"))
    page.keyboard.press("Escape")  # with focus on the Close button, not the input
    closed = search.is_hidden()
    on_card = page.evaluate("document.activeElement.matches('article.card')")

    assert semantics == ("dialog", "true") and started_in_input
    assert all(kept), kept
    assert closed and on_card, "focus goes back to the card, not into the hidden dialog"


def test_every_page_a_reviewer_reads_passes_aa_contrast(page, firestore, uploads, taxonomy):
    seller = vendor()
    ids = seed_unsure(firestore, taxonomy, seller, [0.20, 0.30])
    text = io.StringIO()
    csv.writer(text).writerows([["SKU", "Name", "Price"], ["A-1", "Rice", "250"], ["A-2", "Tea", "abc"]])
    blob = upload(uploads, f"{seller}/prices.csv", text.getvalue().encode(), "text/csv")
    final_ledger_entry(firestore, uploads.name, blob, timeout=120)
    report = ledger.upload_id(uploads.name, blob.name, str(blob.generation))

    failures = {}
    for path, ready in [
        (f"/queue?vendor={seller}", "#queue-list li.current"),  # the highlighted row too
        (f"/products/{ids[0]}", "main"),
        (f"/products?q={seller}", "table.found"),
        (f"/imports/{report}", "table.rejected-rows td.at-fault"),
        (f"/uploads?vendor={seller}", "table.uploads"),
        ("/overview", "table.models"),
    ]:
        page.goto(path)
        page.wait_for_selector(ready)
        failures[path] = contrast_failures(page)

    assert all(not found for found in failures.values()), failures


# -- 10. photos and screens --------------------------------------------------------------------


def test_at_1024_by_768_the_photo_says_what_it_is_zooms_and_the_alternatives_are_above_the_fold(
    chromium, stack, uploads, firestore, reference_classifier: Path
):
    seller = vendor()
    photo, _ = dataset_photos(reference_classifier, 1)[0]
    blob = upload(uploads, f"{seller}/SKU-5.jpg", photo.read_bytes())
    final_ledger_entry(firestore, uploads.name, blob)
    page = panel_page(chromium, stack, PANEL_ADMIN, viewport=LAPTOP)
    open_queue(page, seller)
    image = page.locator("article.card .photos img").first
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())

    alt = image.get_attribute("alt")
    bottoms = page.locator("button.alternative").evaluate_all("all => all.map(b => b.getBoundingClientRect().bottom)")
    shown_width = image.bounding_box()["width"]
    image.click()
    zoomed = page.locator("#zoom-image")
    zoomed.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=zoomed.element_handle())
    zoom = (zoomed.get_attribute("src"), zoomed.bounding_box()["width"], zoomed.get_attribute("alt"))
    page.keyboard.press("Escape")
    closed = page.locator("#zoom").is_hidden()
    back_on_photo = focus_is_in(page, "button.zoom")
    page.context.close()

    assert re.fullmatch(rf"Photo of the product with SKU SKU-5 from {seller}; the model's best guess is [^/_]+", alt), (
        alt
    )
    assert bottoms and max(bottoms) <= LAPTOP["height"], "above the fold"
    assert "side=720" in zoom[0] and zoom[1] > shown_width and zoom[2] == alt
    assert closed and back_on_photo


def test_at_390_px_the_queue_is_one_column_without_sideways_scrolling_and_stays_on_the_card(
    chromium, stack, firestore, taxonomy
):
    seller = vendor()
    seed_unsure(firestore, taxonomy, seller, [0.10 + 0.02 * i for i in range(30)])
    page = panel_page(chromium, stack, PANEL_ADMIN, viewport=PHONE)
    open_queue(page, seller)
    for sku in ("S-001", "S-002", "S-003", "S-004", "S-005", "S-006", "S-007", "S-008"):
        page.keyboard.press("j")
        page.wait_for_function(f"document.querySelector('article.card .sku').textContent === '{sku}'")
    layout = page.evaluate(
        """() => {
          const card = document.querySelector("article.card").getBoundingClientRect();
          const list = document.querySelector("#queue-list").getBoundingClientRect();
          const current = document.querySelector("#queue-list li.current").getBoundingClientRect();
          return {
            wide: document.documentElement.scrollWidth,
            scrolled: window.scrollY,
            cardAbove: card.bottom <= list.top,
            currentInList: current.top >= list.top - 1 && current.bottom <= list.bottom + 1,
          };
        }"""
    )
    page.context.close()

    assert layout["wide"] <= PHONE["width"], "no sideways scrolling"
    assert layout["cardAbove"], "one column: the card, then the list"
    assert layout["scrolled"] == 0, "moving on scrolls the list, never the page away from the card"
    assert layout["currentInList"], "the list follows the current card"
