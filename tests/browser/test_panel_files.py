"""Closing the loop on vendor files, in real Chromium against the real stack: an import report
shows each rejected row's values and hands them back as a CSV the vendor can fix (hostile text
stays text there), an import re-runs from the panel after its mapping is corrected, uploads link
to what they made, and Retry says where the upload went."""

from __future__ import annotations

import csv
import io
import threading
from pathlib import Path

import pytest
import requests
from google.cloud.firestore_v1.base_query import FieldFilter

from catalogist.intake import ledger
from tests.support import (
    PANEL_ADMIN,
    dataset_photos,
    final_ledger_entry,
    stored_product,
    upload,
    vendor,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
FORMULA = '=HYPERLINK("http://evil.example","fix me")'
SCRIPT = "<script>window.__pwned = 1</script>Green tea"


def price_list(rows: list[list[str]], delimiter: str = ",") -> bytes:
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter).writerows(rows)
    return text.getvalue().encode()


def uploaded(uploads, firestore, name: str, content: bytes, content_type: str = "text/csv") -> tuple[str, dict]:
    blob = upload(uploads, name, content, content_type)
    entry = final_ledger_entry(firestore, uploads.name, blob, timeout=120)
    return ledger.upload_id(uploads.name, name, str(blob.generation)), entry


def test_an_import_report_shows_each_rejected_row_s_values_and_hands_them_back_as_a_safe_csv(
    page, uploads, firestore, tmp_path
):
    seller = vendor()
    rows = [
        ["SKU", "Name", "Price"],
        ["A-1", "Basmati rice 1 kg", "250"],
        ["", FORMULA, "10"],
        ["A-3", SCRIPT, "abc"],
    ]
    upload_id, entry = uploaded(uploads, firestore, f"{seller}/prices.csv", price_list(rows))
    assert entry["status"] == "done"

    page.goto(f"/imports/{upload_id}")
    table = page.locator("table.rejected-rows")
    table.wait_for()
    shown = {row.split("\t")[0]: row.split("\t") for row in table.locator("tbody tr").all_inner_texts()}
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the rejected rows (CSV) for the vendor to fix").click()
    saved = tmp_path / "rejected.csv"
    download.value.save_as(saved)
    with saved.open(newline="", encoding="utf-8-sig") as stream:
        returned = list(csv.reader(stream))

    assert table.locator("thead th").all_inner_texts() == ["Row", "Problem", "SKU", "Name", "Price"]
    assert shown["3"][2:] == ["", FORMULA, "10"] and "SKU" in shown["3"][1]
    assert shown["4"][2:] == ["A-3", SCRIPT, "abc"] and "price" in shown["4"][1].lower()
    assert page.evaluate("window.__pwned") is None, "vendor text is shown, never run"
    assert returned[0] == ["row", "sheet", "problem", "SKU", "Name", "Price"]
    assert returned[1][0] == "3" and returned[1][3:] == ["", "'" + FORMULA, "10"], "a formula stays text"
    assert returned[2][3:] == ["A-3", SCRIPT, "abc"]


def test_an_import_re_runs_from_the_panel_after_its_mapping_is_corrected(page, uploads, firestore):
    seller = vendor()
    content = price_list([["Spalte 1", "Spalte 2", "Spalte 3"], ["R-1", "Basmati rice 1 kg", "250,00"]], ";")
    upload_id, entry = uploaded(uploads, firestore, f"{seller}/odd.csv", content)  # no column a guess would map
    assert firestore.collection("products").document(f"{seller}:R-1").get().exists is False

    page.goto(f"/vendors/{seller}/mapping")
    page.locator("#field-sku").fill("Spalte 1")
    page.locator("#field-name").fill("Spalte 2")
    page.locator("#field-price").fill("Spalte 3")
    page.get_by_role("button", name="Save").click()
    page.wait_for_selector("p.saved")
    page.locator("ul.recent-imports li").filter(has_text="odd.csv").get_by_role("button", name="Re-run").click()
    page.wait_for_selector("p.saved")
    told = page.locator("p.saved").inner_text()
    page.get_by_role("link", name="Follow it").click()
    page.wait_for_selector("dd.status-done", timeout=60_000)  # the page looks again until then

    rerun = firestore.collection(ledger.COLLECTION).document(upload_id).get().to_dict()
    assert told.startswith(f"Re-run: it is processed as generation {rerun['rerun_as']} of the same file")
    assert rerun["rerun_by"] == PANEL_ADMIN and int(rerun["rerun_as"]) > int(entry["generation"])
    product = stored_product(firestore, f"{seller}:R-1")
    assert product["source_file"]["generation"] == rerun["rerun_as"] and product["vendor_price"]["amount"] == 250.0
    page.get_by_role("link", name="the import report").click()
    assert "1 written" in page.locator("dl.fields").inner_text()


def test_two_people_re_running_one_import_at_once_make_one_new_version(page, uploads, firestore, stack):
    seller = vendor()
    upload_id, _ = uploaded(uploads, firestore, f"{seller}/prices.csv", price_list([["SKU", "Name"], ["A-1", "Rice"]]))
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    cookies = {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}
    start = threading.Barrier(2)
    answers: list[int] = []

    def rerun():
        start.wait()
        answer = requests.post(
            f"{stack.config.panel_url}/uploads/{upload_id}/rerun",
            data={"csrf": token},
            cookies=cookies,
            allow_redirects=False,
            timeout=60,
        )
        answers.append(answer.status_code)

    threads = [threading.Thread(target=rerun) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    copy = uploads.get_blob(f"{seller}/prices.csv")
    final_ledger_entry(firestore, uploads.name, copy, timeout=60)  # the copy went through the pipeline
    recorded = firestore.collection(ledger.COLLECTION).document(upload_id).get().to_dict()["rerun_as"]
    versions = firestore.collection(ledger.COLLECTION).where(filter=FieldFilter("vendor", "==", seller)).get()

    assert sorted(answers) == [302, 409]
    assert str(copy.generation) == str(recorded), "the new version is the one the panel recorded"
    assert len(versions) == 2, "the original and one copy"


def test_uploads_link_to_the_product_and_the_import_report_they_made(
    page, uploads, firestore, reference_classifier: Path
):
    seller = vendor()
    photo, _ = dataset_photos(reference_classifier, 1)[0]
    _, photo_entry = uploaded(uploads, firestore, f"{seller}/SKU-9.jpg", photo.read_bytes(), "image/jpeg")
    file_id, _ = uploaded(uploads, firestore, f"{seller}/prices.csv", price_list([["SKU", "Name"], ["SKU-9", "Rice"]]))

    page.goto(f"/uploads?vendor={seller}")
    page.locator("tr", has_text="SKU-9.jpg").get_by_role("link", name="its product").click()
    page.wait_for_selector("article.card")
    assert page.locator("article.card").get_attribute("data-id") == photo_entry["product_id"]

    page.goto(f"/uploads?vendor={seller}")
    page.locator("tr", has_text="prices.csv").get_by_role("link", name="import report").click()
    page.wait_for_selector("table.rejected-rows")
    assert page.url.endswith(f"/imports/{file_id}")
    page.get_by_role("link", name="its products").click()
    page.wait_for_selector("table.found")
    assert "SKU-9" in page.locator("table.found").inner_text()


def test_retry_says_where_the_upload_went_and_follows_it_there(page, uploads, firestore, reference_classifier: Path):
    seller = vendor()
    photo, _ = dataset_photos(reference_classifier, 1)[0]
    upload_id, entry = uploaded(uploads, firestore, f"{seller}/SKU-7.jpg", photo.read_bytes(), "image/jpeg")
    # its attempts ran out on transient errors (a poison event), as `failed` says
    firestore.collection(ledger.COLLECTION).document(upload_id).update({"status": "failed"})

    page.goto(f"/uploads?vendor={seller}")
    page.locator("tr", has_text="SKU-7.jpg").get_by_role("button", name="Retry").click()
    page.wait_for_selector("p.saved")
    told = page.locator("p.saved").inner_text()
    page.get_by_role("link", name="Follow it").click()
    page.wait_for_selector("dd.status-done", timeout=60_000)

    retried = firestore.collection(ledger.COLLECTION).document(upload_id).get().to_dict()["retried_as"]
    assert told.startswith(f"Retried: it is processed as generation {retried} of the same file")
    assert f"generation {retried}" in page.locator("h1").inner_text()
    assert page.get_by_role("link", name=entry["product_id"]).count() == 1
