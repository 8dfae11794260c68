"""One instance, many requests at once: each object version is processed once, byte-identical
photos get identical scores, and the newest generation of an object wins whatever order its
events come in.

The Storage emulator serves the newest bytes for any generation, so the generation-order tests
run the real pipelines in this process against the real Firestore emulator, with a blob reader
that serves each generation's own bytes, as Cloud Storage does for a versioned bucket.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import requests
from google.cloud.firestore_v1.base_query import FieldFilter

from catalogist import wiring
from catalogist.intake.events import FINALIZED, parse_storage_event
from catalogist.intake.ledger import upload_id
from catalogist.intake.uploads import handle_upload
from catalogist.models.kinds import KINDS
from catalogist.settings import Settings
from catalogist_infra.cloudevents import binary_event, object_resource
from tests.support import dataset_photos, final_ledger_entry, upload, vendor
from tests.unit.fakes import MemoryBlobs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::UserWarning")


def runs_logged(stack, upload: str) -> list[dict]:
    """The function's log lines that end an attempt at this upload (one per pipeline run)."""
    lines = (stack.config.data_dir / "logs" / "functions.log").read_text().splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{") and upload in line]
    return [e for e in entries if e.get("upload_id") == upload and e.get("attempt") and "status" in e]


def deliver_concurrently(stack, blob, times: int) -> list[int]:
    headers, body = binary_event(object_resource(blob))
    with ThreadPoolExecutor(times) as pool:
        answers = pool.map(
            lambda _: requests.post(stack.config.functions_url, data=body, headers=headers, timeout=60), range(times)
        )
        return [answer.status_code for answer in answers]


@pytest.fixture(scope="module")
def unwatched(uploads):
    """A bucket the event bridge does not watch: only the test's own deliveries reach the function."""
    return uploads.client.create_bucket(f"direct-{vendor()}")


@pytest.mark.parametrize("kind", ["photo", "vendor_file"])
def test_twenty_concurrent_deliveries_of_one_upload_run_it_once(
    stack, unwatched, firestore, reference_classifier, kind
):
    seller = vendor()
    if kind == "photo":
        photo, _ = dataset_photos(reference_classifier, 1)[0]
        blob = upload(unwatched, f"{seller}/SKU-1.jpg", photo.read_bytes())
    else:
        rows = "".join(f"S-{i},Basmati rice {i} kg,India Gate,{100 + i}\n" for i in range(600))
        blob = upload(unwatched, f"{seller}/prices.csv", ("SKU,Name,Brand,Price\n" + rows).encode(), "text/csv")
    upload_key = upload_id(unwatched.name, blob.name, str(blob.generation))

    answers = deliver_concurrently(stack, blob, 20)

    # Each answer is an acknowledgement, or 409 (still in progress: Eventarc would redeliver).
    assert set(answers) <= {200, 409}, answers
    entry = firestore.collection("uploads").document(upload_key).get().to_dict()
    assert (entry["status"], entry["attempts"]) == ("done", 1)
    assert len(runs_logged(stack, upload_key)) == 1, "one pipeline run, whatever the number of deliveries"


def test_byte_identical_photos_uploaded_at_once_get_identical_scores(uploads, firestore, reference_classifier):
    seller = vendor()
    photos = [path for path, _ in dataset_photos(reference_classifier, 10)]
    copies = 6
    with ThreadPoolExecutor(8) as pool:
        blobs = list(
            pool.map(
                lambda n: (
                    n % len(photos),
                    upload(uploads, f"{seller}/P{n:03d}.jpg", photos[n % len(photos)].read_bytes()),
                ),
                range(len(photos) * copies),
            )
        )

    scores: dict[int, list[list[float]]] = {}
    for original, blob in blobs:
        entry = final_ledger_entry(firestore, uploads.name, blob, timeout=120)
        assert entry["status"] == "done", entry.get("reason")
        product = firestore.collection("products").document(entry["product_id"]).get().to_dict()
        (photo,) = product["photos"].values()
        scores.setdefault(original, []).append(photo["probabilities"])

    for original, copies_scores in scores.items():
        assert all(s == copies_scores[0] for s in copies_scores), f"copies of photo {original} were scored differently"


# -- the newest generation wins ---------------------------------------------------------------

GENERATIONS = (101, 102)


def event_for(bucket: str, name: str, generation: int, data: bytes, content_type: str):
    resource = {
        "bucket": bucket,
        "name": name,
        "generation": str(generation),
        "size": str(len(data)),
        "contentType": content_type,
    }
    return parse_storage_event({"type": FINALIZED, "id": f"e-{generation}", "time": datetime.now(UTC)}, resource)


@pytest.fixture
def in_process(stack, reference_releases, monkeypatch, tmp_path):
    """The function's core and real pipelines (its own wiring) in this process, on the stack's
    Firestore emulator, reading objects from a generation-true blob reader."""
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", stack.config.firestore_host)
    blobs = MemoryBlobs()
    settings = replace(
        Settings.from_env(stack.config.client_env()),
        busy_wait_seconds=60.0,
        model_cache_dir=str(tmp_path / "cache"),
        **{kind.setting: str(reference_releases[kind.name]) for kind in KINDS},
    )
    documents = wiring.document_store(settings)  # the emulator's, as the function's own wiring picks
    pipelines = wiring.pipelines(settings, blobs, documents)

    def deliver(name: str, generation: int, data: bytes, content_type: str) -> str:
        blobs.objects[("uploads", name, str(generation))] = data
        event = event_for("uploads", name, generation, data, content_type)
        return handle_upload(event, settings, blobs, documents, pipelines).status

    return deliver


def price_list(prices: dict[str, tuple[str, int]], filler: int = 0) -> bytes:
    rows = [f"{sku},{name},Acme,{price}" for sku, (name, price) in prices.items()]
    rows += [f"F-{i},Filler product {i},Acme,{10 + i % 50}" for i in range(filler)]
    return ("SKU,Name,Brand,Price\n" + "\n".join(rows) + "\n").encode()


OLD = {"R-1": ("Basmati rice 1 kg", 45), "T-1": ("Green tea 100 g", 189)}
NEW = {"R-1": ("Basmati rice 1 kg premium", 99), "T-1": ("Green tea 100 g", 250)}


def vendor_prices(firestore, seller: str) -> dict[str, tuple[str, float, str]]:
    found = {}
    for sku in NEW:
        product = firestore.collection("products").document(f"{seller}:{sku}").get().to_dict()
        found[sku] = (product["name"], product["vendor_price"]["amount"], product["source_file"]["generation"])
    return found


EXPECTED = {sku: (name, float(price), "102") for sku, (name, price) in NEW.items()}


def test_a_price_list_version_delivered_late_changes_nothing(in_process, firestore):
    seller = vendor()
    name = f"{seller}/prices.csv"

    assert in_process(name, 102, price_list(NEW), "text/csv") == "done"
    assert in_process(name, 101, price_list(OLD), "text/csv") == "superseded"

    assert vendor_prices(firestore, seller) == EXPECTED


def test_two_price_list_versions_processed_at_once_end_with_the_newer(in_process, firestore):
    seller = vendor()
    name = f"{seller}/prices.csv"
    with ThreadPoolExecutor(2) as pool:
        older = pool.submit(in_process, name, 101, price_list(OLD, filler=4000), "text/csv")
        first_product = f"{seller}:R-1"
        deadline = time.monotonic() + 60
        while not firestore.collection("products").document(first_product).get().exists:
            assert time.monotonic() < deadline, "the older version never wrote its first page"
            time.sleep(0.05)
        newer = pool.submit(in_process, name, 102, price_list(NEW), "text/csv")
        statuses = (older.result(), newer.result())

    assert statuses == ("superseded", "done")
    assert vendor_prices(firestore, seller) == EXPECTED


def test_an_older_file_delivered_last_never_overwrites_what_a_newer_file_said(in_process, firestore):
    """prices.csv (102) then b.csv (300) with the same row, then a.csv (250, older, delivered
    last) with another price: the product keeps b.csv's, traced to b.csv."""
    seller = vendor()
    juice = {"APL-002": ("Apple juice 1 l", 250)}

    assert in_process(f"{seller}/prices.csv", 102, price_list(juice), "text/csv") == "done"
    assert in_process(f"{seller}/b.csv", 300, price_list(juice), "text/csv") == "done"
    assert in_process(f"{seller}/a.csv", 250, price_list({"APL-002": ("Apple juice 1 l", 189)}), "text/csv") == "done"

    product = firestore.collection("products").document(f"{seller}:APL-002").get().to_dict()
    assert product["vendor_price"]["amount"] == 250.0
    assert (product["source_file"]["name"], product["source_file"]["generation"]) == (f"{seller}/b.csv", "300")
    reports = {
        doc.get("object")["name"].rsplit("/", 1)[1]: doc.to_dict()
        for doc in firestore.collection("imports").where(filter=FieldFilter("vendor", "==", seller)).stream()
    }
    assert (reports["b.csv"]["unchanged"], reports["b.csv"]["refreshed"]) == (1, 1)
    assert reports["a.csv"]["superseded"] == 1


def two_photos(reference_classifier: Path) -> tuple[bytes, bytes]:
    """Photos of two different categories, so whose scores were kept shows."""
    by_category: dict[str, Path] = {}
    for path, truth in dataset_photos(reference_classifier, 20):
        by_category.setdefault(truth, path)
    first, second = list(by_category.values())[:2]
    return first.read_bytes(), second.read_bytes()


@pytest.mark.parametrize("order", ["late", "together"])
def test_the_newer_photo_of_a_name_keeps_its_scores(in_process, firestore, reference_classifier, order):
    older_photo, newer_photo = two_photos(reference_classifier)
    seller = vendor()
    name = f"{seller}/SKU-5.jpg"
    if order == "late":
        statuses = (in_process(name, 102, newer_photo, "image/jpeg"), in_process(name, 101, older_photo, "image/jpeg"))
        assert statuses == ("done", "superseded")
    else:
        with ThreadPoolExecutor(2) as pool:
            results = list(
                pool.map(lambda g: in_process(name, g[0], g[1], "image/jpeg"), [(101, older_photo), (102, newer_photo)])
            )
        assert results[1] == "done" and results[0] in ("done", "superseded")

    product = firestore.collection("products").document(f"{seller}:SKU-5").get().to_dict()
    (photo,) = product["photos"].values()
    assert photo["object"]["generation"] == "102"
    alone = in_process(f"{seller}/ALONE.jpg", 103, newer_photo, "image/jpeg")
    assert alone == "done"
    reference = firestore.collection("products").document(f"{seller}:ALONE").get().to_dict()
    assert np.array_equal(photo["probabilities"], next(iter(reference["photos"].values()))["probabilities"])
