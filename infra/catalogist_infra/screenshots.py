"""The review panel's pictures in docs/, taken from the demo's data in headless Chromium.

    make screenshots            # catalogist demo --screenshots docs

A card, the queue as a laptop (1024×768) and a phone (390 px wide) show it, the product search,
and the demo price list's import report with its rejected rows: what the README shows.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from catalogist_infra.stack import StackConfig

if TYPE_CHECKING:
    from playwright.sync_api import ViewportSize

LAPTOP: ViewportSize = {"width": 1024, "height": 768}
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def take_screenshots(config: StackConfig, folder: Path, vendor: str) -> list[Path]:
    """The pictures of the panel as `vendor`'s data left it, in `folder`; their paths."""
    from playwright.sync_api import sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    reviewer = config.reviewers.split(",")[0]
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    saved: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)

        def signed_in(viewport: ViewportSize):
            page = browser.new_context(base_url=config.panel_url, viewport=viewport).new_page()
            page.goto("/signin")
            page.get_by_role("button", name=reviewer).click()
            page.wait_for_url("**/queue*")
            return page

        def save(page, name: str, element: str = "", fit: bool = False) -> None:
            """The viewport, one element, or (`fit`) the viewport cut where the page's content ends."""
            page.mouse.move(0, 0)  # no hover highlight on the picture
            path = folder / name
            if element:
                page.locator(element).screenshot(path=str(path))
            else:
                bottom = page.evaluate("Math.ceil(document.querySelector('main').getBoundingClientRect().bottom)")
                size = page.viewport_size
                height = min(bottom, size["height"]) if fit else size["height"]
                page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": size["width"], "height": height})
            saved.append(path)

        for viewport, name in ((LAPTOP, "panel-queue-1024x768.png"), (PHONE, "panel-queue-390.png")):
            page = signed_in(viewport)
            _open_queue(page, vendor)
            save(page, name)
            if viewport is LAPTOP:
                save(page, "panel-card.png", "article.card")
            page.context.close()

        page = signed_in(DESKTOP)
        page.goto("/products?q=Green")
        page.wait_for_selector("table.found")
        save(page, "panel-search.png", fit=True)
        page.goto(f"/imports?vendor={vendor}")
        page.locator("table.imports tbody a").first.click()
        page.wait_for_selector("table.rejected-rows")
        save(page, "panel-import-report.png", fit=True)
        browser.close()
    return saved


def _open_queue(page, vendor: str) -> None:
    page.goto(f"/queue?vendor={vendor}")
    page.wait_for_selector("article.card img")
    page.wait_for_function("() => [...document.images].every(img => img.complete)")
