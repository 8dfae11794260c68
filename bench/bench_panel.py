"""The review panel at catalogue scale: 100,000 products in the Firestore emulator.

    .venv/bin/python bench/bench_panel.py [--products 100000] [--decisions 200]
    .venv/bin/python bench/bench_panel.py --smoke    # 300 products, 5 decisions: checks that it runs

Seeds the emulator (through the Firestore adapter, 500 products a commit; the category
probabilities drawn so that nearly all of them need a human: the longest queue, the worst case
for the queue's pages), then measures over HTTP on loopback, in one run:
1. queue page (first page, and pages further down by rank) and card: server time p50/p95;
2. a decision's round trip (POST /api/decide): p50/p95;
3. a scripted Chromium session making N decisions by keyboard (Enter, a number key, and `/`
   search in turn), waiting each time for the next card: decisions per minute.
Targets (issue 14): p95 under 300 ms for a page, under 150 ms for a decision round trip.
"""

from __future__ import annotations

import argparse
import re
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {1000 * statistics.median(ordered):6.1f} ms   p95 {1000 * p95:6.1f} ms   (n={len(ordered)})"


def seed(config, count: int, taxonomy) -> list[str]:
    import os

    from catalogist.adapters.firestore import FirestoreDocuments
    from catalogist.documents import products
    from catalogist.documents.values import CategoryDecision
    from catalogist.ports import Write

    os.environ["FIRESTORE_EMULATOR_HOST"] = config.firestore_host
    documents = FirestoreDocuments(config.project)
    rng = np.random.default_rng(7)
    leaves = len(taxonomy.leaves)
    now = datetime.now(UTC)
    vendors = [f"vendor-{v:02d}" for v in range(20)]
    writes, ids = [], []
    started = time.perf_counter()
    for i in range(count):
        concentration = 0.05 if rng.random() < 0.3 else 0.5  # 30% confident, the rest unsure
        draw = rng.dirichlet(np.full(leaves, concentration))
        decision = CategoryDecision.from_decision(taxonomy.decide(draw), "bench", 1).to_fields()
        vendor = vendors[i % len(vendors)]
        product = {
            "vendor": vendor,
            "sku": f"SKU-{i:06d}",
            "name": f"Bench product {i}",
            "image_category": decision,
            "photos": {},
            "updated_at": now - timedelta(seconds=count - i),
        }
        product.update(products.summary_fields(product))
        writes.append(Write("products", f"{vendor}:SKU-{i:06d}", product))
        ids.append(f"{vendor}:SKU-{i:06d}")
        if len(writes) == 500:
            documents.commit(writes)
            writes = []
    if writes:
        documents.commit(writes)
    queued = documents.count("products", [("review_rank", ">", "")], count + 1)
    print(f"seeded {count:,} products in {time.perf_counter() - started:.0f} s; {queued:,} in the review queue")
    return ids


def timed(session: requests.Session, method: str, url: str, **kwargs) -> float:
    started = time.perf_counter()
    answer = session.request(method, url, timeout=30, **kwargs)
    elapsed = time.perf_counter() - started
    answer.raise_for_status()
    return elapsed


def http_figures(config, session: requests.Session, csrf: str, rounds: int) -> None:
    base = config.panel_url
    first_page = [timed(session, "GET", f"{base}/queue") for _ in range(rounds)]
    second = session.get(f"{base}/api/queue", timeout=30).json()["next_after"]  # the cursor after the first page
    deep = []
    after = second
    for _ in range(rounds):  # walk down the queue page by page
        started = time.perf_counter()
        page = session.get(f"{base}/api/queue", params={"after": after}, timeout=30).json()
        deep.append(time.perf_counter() - started)
        after = page["next_after"] or second
    vendor_page = [timed(session, "GET", f"{base}/queue", params={"vendor": "vendor-07"}) for _ in range(rounds)]
    ids = [item["id"] for item in session.get(f"{base}/api/queue", params={"after": after}, timeout=30).json()["items"]]
    cards = [timed(session, "GET", f"{base}/card/{pid}") for pid in ids[: rounds // 2] * 2]
    decisions = []
    for pid in ids[:rounds]:
        decisions.append(
            timed(
                session,
                "POST",
                f"{base}/api/decide",
                json={"product_id": pid, "action": "accept", "request_id": f"bench-{pid}", "revision": 0},
                headers={"X-CSRF-Token": csrf},
            )
        )
    print("\n1. Server time over loopback HTTP")
    print(f"  queue page, first          {percentiles(first_page)}")
    print(f"  queue page, further down   {percentiles(deep)}")
    print(f"  queue page, one vendor     {percentiles(vendor_page)}")
    print(f"  card                       {percentiles(cards)}")
    print("\n2. Decision round trip (POST /api/decide, accept)")
    print(f"  decision                   {percentiles(decisions)}")


def browser_session(config, decisions: int) -> None:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        page = browser.new_context(base_url=config.panel_url).new_page()
        page.goto("/signin")
        page.get_by_role("button", name=config.reviewers.split(",")[0]).click()
        page.goto("/queue?vendor=vendor-03")
        page.wait_for_selector("article.card")
        started = time.perf_counter()
        made = 0
        for i in range(decisions):
            if not page.locator("article.card").count():
                break  # the vendor's queue is empty
            before = page.locator("article.card").get_attribute("data-id")
            if i % 3 == 0:
                page.keyboard.press("Enter")
            elif i % 3 == 1:
                page.keyboard.press("2")
            else:
                page.keyboard.press("/")
                page.locator("#search-input").type("app")
                page.wait_for_selector("#search-results li")
                page.keyboard.press("Enter")
            page.wait_for_function(
                "before => { const c = document.querySelector('article.card'); return !c || c.dataset.id !== before; }",
                arg=before,
            )
            made += 1
        elapsed = time.perf_counter() - started
        browser.close()
    print("\n3. Scripted Chromium session, keyboard only (Enter, a number key, / search in turn)")
    print(f"  {made} decisions in {elapsed:.1f} s: {60 * made / elapsed:.0f} decisions per minute")


# Tiny sizes: every part runs in seconds (a test runs it); the figures mean nothing.
SMOKE = {"products": 300, "decisions": 5, "rounds": 6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--decisions", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--classifier", type=Path, default=REPO / "models" / "classifier")
    parser.add_argument("--smoke", action="store_true", help=f"tiny sizes ({SMOKE}): checks that it runs")
    args = parser.parse_args()
    if args.smoke:  # the smoke sizes replace the defaults; flags given still win
        parser.set_defaults(**SMOKE)
        args = parser.parse_args()

    from catalogist.models.kinds import CLASSIFIER
    from catalogist.models.taxonomy import Taxonomy
    from catalogist.panel.auth import DEV_COOKIE, DevSignIn
    from catalogist_infra.stack import Stack, StackConfig

    release = CLASSIFIER.release_in(args.classifier).resolve()
    taxonomy = Taxonomy.load(release / "taxonomy.json")
    # The bench's own panel secret, so it can sign a reviewer's cookie as the dev sign-in does.
    secret = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory() as tmp:
        config = StackConfig.on_free_ports(Path(tmp), project="bench")
        config.function_env.update({"CATALOGIST_CLASSIFIER_RELEASE": str(release), "CATALOGIST_PANEL_SECRET": secret})
        stack = Stack(config)
        stack.start()
        try:
            seed(config, args.products, taxonomy)
            reviewer = config.reviewers.split(",")[0]
            session = requests.Session()
            session.cookies.set(DEV_COOKIE, DevSignIn(frozenset({reviewer}), secret).cookie_for(reviewer))
            page = session.get(f"{config.panel_url}/queue", timeout=30).text  # the session's own CSRF token
            csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
            http_figures(config, session, csrf, args.rounds)
            browser_session(config, args.decisions)
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
