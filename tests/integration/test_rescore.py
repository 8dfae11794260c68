"""`catalogist rescore` on the emulators with Beam's local runner (issue #26): the catalogue
brought to the releases named, with the function's own decisions for the same release; human
decisions untouched; a second run changes nothing; the review queue follows the new release."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from catalogist.adapters.firestore import EmulatorDocuments
from catalogist.panel.review import Choice, decide
from catalogist_infra.release import derive, publish
from catalogist_infra.stack import storage_client
from tests.support import dataset_photos, final_ledger_entry, products_of, upload, vendor

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
OLD = "20200101-000000"  # a release older than any served: what the products are made to look decided by
DECISIONS = ("image_category", "photo_price", "text_category", "price", "category", "category_path", "needs_review")
PRICE_LIST = (
    "SKU,Name,Brand,Category,Price\n"
    "R-1,Tata Salt Iodised 1 kg,Tata,Foodgrains,28\n"
    "R-2,Amul Butter Pasteurised 500 g,Amul,Dairy,275\n"
    "R-3,Tetley Green Tea Lemon 100 Bags,Tetley,Beverages,\n"
    "R-4,Red Label Tea 1 kg,Brooke Bond,Beverages,520\n"
    "P-1,Banana Robusta 1 kg,Fresho,Fruits,45\n"
)


def rescore(stack, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **stack.config.client_env(),
        **{k: v for k, v in stack.config.function_env.items() if k.endswith("_RELEASE")},
    }
    command = [str(Path(sys.executable).parent / "catalogist"), "rescore", *flags]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def report_of(firestore, output: str) -> dict:
    run_id = output.split("rescores/", 1)[1].split(":", 1)[0]
    return firestore.collection("rescores").document(run_id).get().to_dict()


def made_old(product: dict) -> dict:
    """The product as an older release would have left it: every model decision by `OLD`, and
    a different answer (the top level only, unsure)."""
    changed: dict = {}
    for name in ("image_category", "text_category"):
        if product.get(name):
            changed[name] = {
                **product[name],
                "model_version": OLD,
                "path": product[name]["path"][:1],
                "path_text": product[name]["path"][0],
                "decided_level": "top",
                "needs_review": True,
            }
    if product.get("photos"):
        changed["photos"] = {
            key: {**photo, "model_version": OLD, "probabilities": list(reversed(photo["probabilities"]))}
            for key, photo in product["photos"].items()
        }
    for name in ("price", "photo_price"):
        if product.get(name):
            changed[name] = {**product[name], "model_version": OLD, "predicted": 1.0}
    return changed


@pytest.fixture(scope="module")
def catalogue(stack, uploads, firestore, reference_classifier):
    """A vendor's photos and price list as the function decided them with the releases it serves."""
    seller = vendor()
    photos = dataset_photos(reference_classifier, 4)
    blobs = [upload(uploads, f"{seller}/P-{n}.jpg", path.read_bytes()) for n, (path, _) in enumerate(photos, start=1)]
    blobs.append(upload(uploads, f"{seller}/prices.csv", PRICE_LIST.encode(), "text/csv"))
    for blob in blobs:
        assert final_ledger_entry(firestore, uploads.name, blob, timeout=120)["status"] == "done"
    return seller, products_of(firestore, seller)


def test_rescoring_makes_the_function_s_decisions_keeps_human_ones_and_a_second_run_changes_nothing(
    stack, firestore, catalogue, monkeypatch
):
    seller, by_function = catalogue
    assert len(by_function) == 8 and sum(bool(p.get("photos")) for p in by_function.values()) == 4
    assert by_function[f"{seller}:P-1"].get("text_category"), "a photo and a row of one product"
    for product_id, product in by_function.items():
        firestore.collection("products").document(product_id).update(made_old(product))
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", stack.config.firestore_host)
    human = f"{seller}:R-2"
    decide(
        EmulatorDocuments(stack.config.project),
        human,
        Choice("search", ("Bakery, Cakes & Dairy", "Dairy", "Butter & Margarine"), "text"),
        "ana@shop",
        "r-human",
        datetime.now(UTC),
    )
    decided = firestore.collection("products").document(human).get().to_dict()
    reviews = [r.to_dict() for r in firestore.collection("reviews").stream() if r.get("product_id") == human]

    first = rescore(stack, "--vendor", seller)

    after = products_of(firestore, seller)
    for product_id, product in after.items():
        expected = by_function[product_id]
        for field in DECISIONS:
            if product_id == human and field in ("category", "category_path", "needs_review"):
                continue
            assert product.get(field) == expected.get(field), (product_id, field)
        assert all(photo["model_version"] != OLD for photo in (product.get("photos") or {}).values())
        assert product["changed_by"].startswith("rescore ")
    kept = after[human]
    assert kept["human_category"] == decided["human_category"]
    assert (kept["category"]["source"], kept["category_path"], kept["needs_review"]) == (
        "human",
        decided["category_path"],
        False,
    )
    assert [r.to_dict() for r in firestore.collection("reviews").stream() if r.get("product_id") == human] == reviews
    report = report_of(firestore, first.stdout)
    assert report["counts"]["rescored"] == 8 and report["counts"]["human_kept"] == 1
    assert report["by_vendor"][seller]["rescored"] == 8
    assert sum(report["by_level"]["image"].values()) == 4 and sum(report["by_level"]["text"].values()) == 5
    assert report["filters"] == {"vendors": [seller], "category": ""}

    revisions = {product_id: product["revision"] for product_id, product in after.items()}
    second = rescore(stack, "--vendor", seller)

    again = report_of(firestore, second.stdout)
    assert (again["counts"]["rescored"], again["counts"]["current"]) == (0, 8)
    assert {product_id: p["revision"] for product_id, p in products_of(firestore, seller).items()} == revisions


def test_a_stricter_release_puts_products_in_the_queue_and_a_looser_one_takes_them_out(
    stack, firestore, catalogue, reference_classifier, tmp_path
):
    seller, _ = catalogue
    models = storage_client(stack.config)
    releases = {}
    for version, fine in (("20990101-000000", 1.01), ("20990102-000000", 0.0)):
        release = derive(reference_classifier, tmp_path / version, {"fine": fine, "coarse": 1.01}, version)
        publish(release.folder, f"gs://{stack.config.models_bucket}/classifier/{version}", models)
        releases[version] = f"gs://{stack.config.models_bucket}/classifier/{version}"
    photos = {pid: p for pid, p in products_of(firestore, seller).items() if p.get("photos")}
    decided = [pid for pid, p in photos.items() if not p["image_category"]["needs_review"]]

    stricter = report_of(
        firestore, rescore(stack, "--vendor", seller, "--classifier-release", releases["20990101-000000"]).stdout
    )

    unsure = products_of(firestore, seller)
    assert all(unsure[pid]["image_category"]["needs_review"] for pid in photos)
    assert all(unsure[pid]["image_category"]["model_version"] == "20990101-000000" for pid in photos)
    assert stricter["counts"]["rescored"] == len(photos), "the rows' releases did not change: only photos"
    assert stricter["by_level"]["image"] == {"top": len(photos)}
    entered = [
        pid for pid in decided if not unsure[pid].get("text_category") or unsure[pid]["text_category"]["needs_review"]
    ]
    assert stricter["counts"]["entered_review"] == len(entered)
    assert all(unsure[pid]["review_rank"] is not None for pid in entered), "in the queue"

    looser = report_of(
        firestore, rescore(stack, "--vendor", seller, "--classifier-release", releases["20990102-000000"]).stdout
    )

    sure = products_of(firestore, seller)
    assert all(not sure[pid]["image_category"]["needs_review"] for pid in photos)
    assert looser["by_level"]["image"] == {"fine": len(photos)}
    assert looser["counts"]["left_review"] >= len(entered) and looser["counts"]["changed"] == len(photos)
    assert all(sure[pid]["category"]["source"] == "image" for pid in photos)
    back = report_of(
        firestore, rescore(stack, "--vendor", seller, "--classifier-release", releases["20990101-000000"]).stdout
    )
    assert back["counts"]["newer_release"] == len(photos), (
        "a newer release's decisions are never replaced by an older one"
    )
