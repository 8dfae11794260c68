"""The panel's pages and API with in-memory documents (Flask's test client): nothing before
sign-in, every POST with its CSRF token, vendor text inert, photos pinned to their generation."""

import io
import re
import time
from datetime import UTC, datetime

import numpy as np
import pytest
from PIL import Image

from catalogist.documents import products
from catalogist.panel.app import create_app
from catalogist.panel.auth import DEV_COOKIE, DevSignIn
from catalogist.settings import PanelSettings, Settings
from tests.support import TREE, image_decision
from tests.unit.fakes import MemoryBlobs, MemoryDocuments

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SETTINGS = Settings(project="p", models_bucket="m", model_location="gs://m")
PANEL = PanelSettings(
    panel_auth="dev", reviewers=frozenset({"ana@shop.example"}), panel_secret="s3cret", panel_page_size=3
)
REVIEWERS = frozenset({"ana@shop.example"})
HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'


def jpeg(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), colour).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def panel():
    documents = MemoryDocuments()
    blobs = MemoryBlobs(
        {("uploads", "acme/H-1.jpg", "41"): jpeg((250, 220, 0)), ("uploads", "acme/H-1.jpg", "42"): jpeg((0, 90, 200))}
    )
    for i, name in enumerate([HOSTILE, '=HYPERLINK("http://evil","x")', "Leek 1 kg"]):
        product = {
            "vendor": "acme",
            "sku": f"H-{i + 1}",
            "name": name,
            "image_category": image_decision([0.25, 0.30, 0.40, 0.05]),
            "updated_at": NOW,
            "photos": {
                "H-1_jpg": {"object": {"bucket": "uploads", "name": "acme/H-1.jpg", "generation": "42"}, "image": {}}
            },
        }
        products.update(documents, [f"acme:H-{i + 1}"], lambda _, stored, product=product: product, "seed", NOW, 0.0)
    documents.create("uploads", "upload-1", {"vendor": "acme", "status": "done", "received_at": NOW})
    sign_in = DevSignIn(REVIEWERS, PANEL.panel_secret)
    app = create_app(SETTINGS, PANEL, documents, blobs, sign_in, {"image": lambda: TREE}, clock=lambda: NOW)
    client = app.test_client()
    return client, documents, sign_in


def signed_in(client, sign_in, email="ana@shop.example"):
    client.set_cookie(
        DEV_COOKIE,
        sign_in.cookie_for(email)
        if email in REVIEWERS
        else DevSignIn(frozenset({email}), PANEL.panel_secret).cookie_for(email),
    )
    return client


def page_token(client) -> str:
    """The CSRF token as the browser gets it: from a page of the panel, for this session."""
    page = client.get("/queue").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def test_nothing_is_served_before_sign_in(panel):
    client, _, _ = panel

    assert client.get("/queue").status_code == 302
    assert client.get("/queue").headers["Location"].startswith("/signin")
    assert client.get("/api/queue").status_code == 401
    assert client.get("/photo/acme:H-1/H-1_jpg").status_code in (302, 401)
    assert client.get("/card/acme:H-1").status_code in (302, 401)


def test_someone_not_on_the_list_is_refused(panel):
    client, _, sign_in = panel
    signed_in(client, sign_in, "mallory@elsewhere.example")

    assert client.get("/queue").status_code == 403
    assert client.post("/api/decide", json={}).status_code == 403


def test_vendor_text_is_shown_as_text_never_run(panel):
    client, _, sign_in = panel
    signed_in(client, sign_in)

    page = client.get("/queue").get_data(as_text=True)

    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in page
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "=HYPERLINK(&#34;http://evil&#34;" in page


def test_a_decision_needs_the_page_csrf_token(panel):
    client, documents, sign_in = panel
    signed_in(client, sign_in)
    body = {"product_id": "acme:H-3", "action": "accept", "request_id": "r-1", "revision": 1}

    refused = client.post("/api/decide", json=body)
    assert refused.status_code == 403 and "human_category" not in documents.get("products", "acme:H-3")
    accepted = client.post("/api/decide", json=body, headers={"X-CSRF-Token": page_token(client)})

    assert accepted.status_code == 200
    assert documents.get("products", "acme:H-3")["human_category"]["reviewed_by"] == "ana@shop.example"


def test_a_category_outside_the_store_s_trees_is_refused(panel):
    client, _, sign_in = panel
    signed_in(client, sign_in)
    body = {"product_id": "acme:H-3", "action": "search", "path": "Fruit/Durian", "request_id": "r-1", "revision": 1}

    answer = client.post("/api/decide", json=body, headers={"X-CSRF-Token": page_token(client)})

    assert answer.status_code == 400 and "not a category" in answer.get_json()["error"]


def test_the_photo_is_the_generation_that_was_scored_resized(panel):
    client, _, sign_in = panel
    signed_in(client, sign_in)

    answer = client.get("/photo/acme:H-1/H-1_jpg?side=160")

    image = Image.open(io.BytesIO(answer.data))
    assert answer.headers["Content-Type"] == "image/jpeg" and max(image.size) == 160
    red, _, blue = np.asarray(image.convert("RGB")).reshape(-1, 3).mean(axis=0)
    assert blue > 150 > red, "generation 42 (blue), not 41 (yellow)"


def test_the_taxonomy_search_finds_any_level(panel):
    client, _, sign_in = panel
    signed_in(client, sign_in)

    found = client.get("/api/taxonomy?q=appl").get_json()["paths"]

    assert [p["path"] for p in found] == ["Fruit/Apple/Granny-Smith", "Fruit/Apple/Pink-Lady"]


def test_a_corrected_column_mapping_reads_the_vendor_s_next_file(panel):
    from catalogist.imports.pipeline import FileSource, ImportContext, import_file
    from tests.support import Models

    client, documents, sign_in = panel
    signed_in(client, sign_in)
    token = page_token(client)
    odd_file = "Code;Bezeichnung X;Hersteller Y\nR-1;Basmati rice 1 kg;India Gate\n"  # no column a guess would map

    saved = client.post(
        "/vendors/acme/mapping", data={"csrf": token, "sku": "Code", "name": "Bezeichnung X", "brand": "Hersteller Y"}
    )
    source = FileSource("uploads", "acme/odd.csv", "1", "acme")
    summary = import_file(io.BytesIO(odd_file.encode()), source, ImportContext(documents, Models(), NOW))

    assert saved.status_code == 302
    assert (summary["status"], summary["written"]) == ("done", 1)
    assert documents.get("products", "acme:R-1")["brand"] == "India Gate"


def test_the_overview_shows_the_backlog_and_the_measured_precision(panel):
    client, _, sign_in = panel
    signed_in(client, sign_in)

    page = client.get("/overview").get_data(as_text=True)

    assert "Review backlog" in page and ">3<" in page.replace(" ", "").replace("\n", "")
    assert "No automatic decision has been checked yet." in page


def overview_page(documents: MemoryDocuments, trees: dict, models: list[dict]) -> str:
    """The overview as a signed-in reviewer sees it, with these trees and releases in service."""
    sign_in = DevSignIn(REVIEWERS, PANEL.panel_secret)
    app = create_app(SETTINGS, PANEL, documents, MemoryBlobs({}), sign_in, trees, lambda: models, clock=lambda: NOW)
    return signed_in(app.test_client(), sign_in).get("/overview").get_data(as_text=True)


def test_the_overview_sets_each_release_s_promise_beside_the_live_audit():
    promise = "98.7% of the categories filed without a human were right on photos the thresholds were not set on"
    models = [
        {"kind": "image-classifier", "version": "20261206-1", "location": "gs://m", "metrics": {}, "promise": promise},
        {"kind": "textcat", "version": "20261206-2", "location": "gs://m", "metrics": {}, "promise": None},
    ]

    page = overview_page(MemoryDocuments(), {}, models)

    assert f"Photo classifier, as measured at release 20261206-1: {promise}." in page
    assert "Price-list categorizer, as measured" not in page  # a release without a promise claims none
    assert page.index("Are automatic decisions right?") < page.index(promise) < page.index("Models serving")


def test_the_audit_beside_a_promise_counts_the_release_in_service_only():
    from catalogist.ports import Write

    documents = MemoryDocuments()
    audit = {"audit": True, "undone": False, "audit_source": "image", "audit_level": "fine", "reviewed_at": NOW}
    documents.commit(
        [Write("reviews", f"old-{i}", {**audit, "audit_correct": False, "audit_version": "v1"}) for i in range(3)]
        + [Write("reviews", f"new-{i}", {**audit, "audit_correct": True, "audit_version": "v2"}) for i in range(4)]
    )
    models = [{"kind": "image-classifier", "version": "v2", "location": "gs://m", "metrics": {}, "promise": None}]

    page = overview_page(documents, {"image": lambda: TREE}, models)

    assert "Of 4 automatic decisions from the photo to the product checked, 4 were right" in page
    assert "Counted for the releases in service only (photos v2)" in page


def test_each_audit_is_held_against_the_precision_its_release_was_set_for():
    """A release calibrated for 99% is flagged where its audit cannot reach 99%; one set for 90%
    is not, on the same counts, and the overview says both targets (not a fixed 98%)."""
    from catalogist.models.taxonomy import Taxonomy
    from catalogist.ports import Write

    text_tree = Taxonomy.from_paths(
        [("Food", "Dairy", "Yoghurt"), ("Food", "Bakery", "Bread")], ("category", "sub_category", "type")
    )
    documents = MemoryDocuments()
    checks = []
    for source, level, version in (("image", "fine", "photo-1"), ("text", "type", "text-1")):
        audit = {"audit": True, "undone": False, "audit_source": source, "audit_level": level}
        checks += [
            Write("reviews", f"{source}-{i}", {**audit, "audit_correct": i >= 7, "audit_version": version})
            for i in range(100)  # 93 of 100 right: 95% sure the rate is under 97.2%
        ]
    documents.commit(checks)
    serving = {"location": "gs://m", "metrics": {}}
    photos = {"kind": "image-classifier", "version": "photo-1", "target_precision": 0.9, **serving}

    def overview(text_release: dict) -> tuple[str, dict[str, str]]:
        page = overview_page(documents, {"image": lambda: TREE, "text": lambda: text_tree}, [photos, text_release])
        audited = [item for item in page.split("<li")[1:] if " automatic decisions from the " in item]
        return page, {item.split(" automatic decisions from the ")[1].split(" checked")[0]: item for item in audited}

    page, rows = overview({"kind": "textcat", "version": "text-1", "target_precision": 0.99, **serving})
    # a release that names no target (derived by hand, or older) is held to training's default
    unnamed, unnamed_rows = overview({"kind": "textcat", "version": "text-1", "target_precision": None, **serving})

    assert "meant to be right 90% of the time for photos and 99% for price lists." in page
    assert "Below the 99% it is meant to reach." in rows["price list to the type"]
    assert 'class="below"' in rows["price list to the type"]
    assert "Below" not in rows["photo to the product"] and 'class="below"' not in rows["photo to the product"]
    assert "meant to be right 90% of the time for photos and 98% for price lists." in unnamed
    assert "Below the 98% it is meant to reach." in unnamed_rows["price list to the type"]


def test_the_reference_releases_say_the_precision_they_were_set_for(reference_releases):
    """The target lives in each manifest's training config; the price model decides nothing by
    threshold and claims none."""
    from catalogist.models.releases import Release
    from catalogist.panel import words

    opened = {
        name: Release.open(reference_releases[name], kind)
        for name, kind in (("classifier", "image-classifier"), ("textcat", "textcat"), ("price", "price"))
    }

    assert {name: release.target_precision for name, release in opened.items()} == {
        "classifier": 0.98,
        "textcat": 0.98,
        "price": None,
    }
    recalibrated = Release(
        reference_releases["classifier"], {**opened["classifier"].manifest, "target_precision": 0.97}
    )
    assert recalibrated.target_precision == 0.97, "`catalogist calibrate --target-precision` writes it at the top"
    classifier = opened["classifier"]
    said = words.model_figures(classifier.kind, classifier.manifest["metrics"], classifier.target_precision)
    assert said.endswith(" What it decides alone is meant to be right 98% of the time."), said


def test_an_undecided_photo_is_not_called_decided(panel):
    client, _, sign_in = panel
    signed_in(client, sign_in)

    card = client.get("/card/acme:H-3").get_data(as_text=True)

    assert "(only the top level: pick a deeper one with 1–5 or /)" in card
    assert "decided to" not in card


@pytest.mark.parametrize(
    "method, url, body",
    [
        ("GET", "/photo/acme:H-1/H-1_jpg?side=abc", None),
        ("GET", "/photo/acme:H-1/H-1_jpg?side=1e9", None),
        ("GET", "/photo/acme:H-1/H-1_jpg?side=-5", None),
        ("GET", "/photo/acme:x/..%2F..", None),
        ("GET", "/card/acme:x%2F..", None),
        ("POST", "/api/decide", {"product_id": "products/x", "action": "accept", "revision": 0}),
        ("POST", "/api/decide", {"product_id": "acme:H-1", "action": "accept"}),  # no revision
        ("POST", "/api/decide", {"product_id": "acme:H-1", "action": "accept", "revision": "1"}),
        ("POST", "/api/decide", ["not", "an", "object"]),
        ("POST", "/api/decide", {"product_id": "acme:H-1", "action": "drop-table", "revision": 1}),
        ("POST", "/api/undo", {"review_id": "../x", "revision": 1}),
        ("POST", "/vendors/" + "v" * 2000 + "/mapping", {"sku": "Code", "name": "Name"}),
        ("POST", "/vendors/a vendor with spaces/mapping", {"sku": "Code", "name": "Name"}),
        ("GET", "/imports/..", None),
    ],
)
def test_a_hostile_request_gets_a_reason_never_a_crash(panel, method, url, body):
    client, documents, sign_in = panel
    signed_in(client, sign_in)
    headers = {"X-CSRF-Token": page_token(client)}

    if method == "GET":
        answer = client.get(url)
    elif url.startswith("/api/"):
        answer = client.post(url, json=body, headers=headers)
    else:
        answer = client.post(url, data={**body, "csrf": headers["X-CSRF-Token"]})

    assert answer.status_code in (400, 404), answer.get_data(as_text=True)[:300]
    assert "vendors" not in documents.collections


def test_a_mapping_is_written_only_for_a_vendor_that_exists(panel):
    client, documents, sign_in = panel
    signed_in(client, sign_in)
    token = page_token(client)

    unknown = client.post("/vendors/nobody-uploaded/mapping", data={"csrf": token, "sku": "Code", "name": "Name"})
    known = client.post("/vendors/acme/mapping", data={"csrf": token, "sku": "Code", "name": "Name"})

    assert unknown.status_code == 404 and documents.get("vendors", "nobody-uploaded") is None
    assert known.status_code == 302 and documents.get("vendors", "acme")["column_mapping"]["sku"] == "Code"


def test_a_csrf_token_is_good_for_one_session_and_a_new_sign_in_changes_it(panel):
    client, _, sign_in = panel
    signed_in(client, sign_in)
    first = page_token(client)
    body = {"product_id": "acme:H-3", "action": "accept", "request_id": "r-1", "revision": 1}

    client.post("/signin", data={"email": "ana@shop.example"})  # signs in again: a new session
    second = page_token(client)
    stale = client.post("/api/decide", json=body, headers={"X-CSRF-Token": first})
    fresh = client.post("/api/decide", json=body, headers={"X-CSRF-Token": second})

    assert first != second
    assert stale.status_code == 403 and fresh.status_code == 200


def test_the_sign_in_and_session_cookies_expire(panel):
    client, _, _ = panel

    answer = client.post("/signin", data={"email": "ana@shop.example"})

    cookies = answer.headers.getlist("Set-Cookie")
    assert len(cookies) == 2 and all("Max-Age=43200" in c and "HttpOnly" in c for c in cookies)


def test_a_sign_in_older_than_a_working_day_is_refused(panel, monkeypatch):
    client, _, sign_in = panel
    signed_in(client, sign_in)
    assert client.get("/queue").status_code == 200

    later = time.time() + 13 * 3600
    monkeypatch.setattr(time, "time", lambda: later)

    assert client.get("/api/queue").status_code == 401


def test_the_sign_in_page_is_styled_before_sign_in(panel):
    client, _, _ = panel

    for asset in ("/assets/panel.css", "/assets/panel.js"):
        with client.get(asset) as answer:
            assert answer.status_code == 200


def test_a_store_tree_s_own_levels_name_the_audit_and_the_queue_s_reasons():
    """A store whose catalogue tree is department › aisle › shelf sees its own levels in the
    overview's precision and the queue's reason filter, not the reference trees' names."""
    from catalogist.models.taxonomy import Taxonomy
    from catalogist.ports import Write

    store_tree = Taxonomy.from_paths(
        [("Food", "Dairy", "Yoghurt"), ("Food", "Bread")], ("department", "aisle", "shelf")
    )
    documents = MemoryDocuments()
    audit = {"audit": True, "undone": False, "audit_source": "text", "audit_level": "aisle"}
    documents.commit(
        [Write("reviews", f"r-{i}", {**audit, "audit_correct": i > 0, "reviewed_at": NOW}) for i in range(5)]
    )
    sign_in = DevSignIn(REVIEWERS, PANEL.panel_secret)
    app = create_app(
        SETTINGS, PANEL, documents, MemoryBlobs({}), sign_in, {"text": lambda: store_tree}, clock=lambda: NOW
    )
    client = signed_in(app.test_client(), sign_in)

    overview = client.get("/overview").get_data(as_text=True)
    queue = client.get("/queue?reason=text+to+aisle")
    old_reason = client.get("/queue?reason=text+to+sub_category")

    assert "Of 5 automatic decisions from the price list to the aisle checked, 4 were right" in overview
    assert queue.status_code == 200
    assert "price list: not sure below the aisle" in queue.get_data(as_text=True)
    assert old_reason.status_code == 400, "a level the tree in service does not have is no reason"
    assert client.get("/queue?reason=disagree").status_code == 400, "no photos in service, no disagreement"

    both = create_app(
        SETTINGS, PANEL, documents, MemoryBlobs({}), sign_in, {"image": lambda: TREE, "text": lambda: store_tree}
    )
    answer = signed_in(both.test_client(), sign_in).get("/queue?reason=disagree")
    assert answer.status_code == 200 and "photo and price list disagree" in answer.get_data(as_text=True)
