"""The review panel in a real headless Chromium (Debian's `chromium`, driven by Playwright for
Python; Playwright's own browser download is unreachable here), against the session's stack."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalogist.models.taxonomy import Taxonomy
from tests.support import PANEL_ADMIN, PANEL_REVIEWER, panel_page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Flags for a closed network and a root user: without the background-networking ones Chromium
# keeps trying to reach Google's hosts.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_report_header() -> str:
    try:
        version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        version = f"not found at {CHROMIUM}"
    return f"browser tests: {version}"


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not at {CHROMIUM}: `make install` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, stack):
    """The panel signed in as the admin, in a browser context of its own."""
    page = panel_page(chromium, stack, PANEL_ADMIN)
    yield page
    page.context.close()


@pytest.fixture
def second_reviewer(chromium, stack):
    """A second reviewer's session beside `page`: leases and races need two."""
    page = panel_page(chromium, stack, PANEL_REVIEWER)
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def taxonomy(reference_classifier: Path) -> Taxonomy:
    return Taxonomy.load(reference_classifier / "taxonomy.json")
