"""Big vendor files through an import job (issue #26): the function hands the upload to the Beam
pipeline (on the local runner, as the local stack runs it for Dataflow) and answers; the job
imports every row once, with the function's decisions, and ends the upload; a newer generation
stops a job that is still running."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from catalogist_infra.stack import wait_until
from tests.support import BIG_FILE_BYTES, BIGBASKET, final_ledger_entry, products_of, require_data, upload, vendor

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
JOB_TIMEOUT = 240.0  # a job starts Beam and loads the row models before its first row
BIG_ROWS = 2_000  # 161 KB: above the stack's BIG_FILE_BYTES (128 KB), five pages of the job's writes


def price_list(rows: int, first: int = 0, name_suffix: str = "") -> tuple[bytes, dict[str, int]]:
    """BigBasket products as a vendor's price list (`rows` rows from the `first`), with a row the
    import rejects and a SKU repeated pages apart (the later row must win); the row number each
    SKU's winning row has."""
    products = require_data(BIGBASKET, "the BigBasket catalogue")
    with products.open(newline="", encoding="utf-8") as handle:
        catalogue = list(csv.DictReader(handle))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(["SKU", "Name", "Brand", "Category", "Price"])
    last_row: dict[str, int] = {}
    for number in range(rows):
        item = catalogue[(first + number) % len(catalogue)]
        sku = f"S-{first + number:06d}"
        if number == rows - 1:
            sku = "S-REPEATED"  # also the file's second row: this later one wins
        if number == 1:
            sku = "S-REPEATED"
        name = f"{item['product']}{name_suffix}" if number != 7 else ""  # row 9: no name, rejected
        writer.writerow([sku, name, item["brand"], item["category"], item["sale_price"]])
        if name:
            last_row[sku] = number + 2  # the header is row 1
    return buffer.getvalue().encode(), last_row


def test_a_big_file_is_imported_by_a_job_every_row_once_with_the_function_s_decisions(
    stack, uploads, firestore, tmp_path
):
    content, last_row = price_list(BIG_ROWS)
    assert len(content) > BIG_FILE_BYTES
    seller = vendor()
    blob = upload(uploads, f"{seller}/big.csv", content, "text/csv")

    entry = final_ledger_entry(firestore, uploads.name, blob, timeout=60)
    assert (entry["status"], entry["job"]["runner"], entry["job"]["state"]) == ("importing", "local", "launched")
    done = wait_until(
        lambda: (
            (e := firestore.collection("uploads").document(entry["import_id"]).get().to_dict())["status"] != "importing"
            and e
        ),
        JOB_TIMEOUT,
        interval=1.0,
    )

    assert done is not None, f"the job did not end within {JOB_TIMEOUT:.0f} s; see {entry['job']['console']}"
    assert done["status"] == "done", done.get("reason")
    assert (done["job"]["name"], done["job"]["state"]) == (entry["job"]["name"], "ended")
    report = firestore.collection("imports").document(entry["import_id"]).get().to_dict()
    assert (report["status"], report["job"], report["format"]) == ("done", entry["job"]["name"], "csv")
    assert (report["rows_seen"], report["rejected"]) == (BIG_ROWS, 1)
    assert report["first_rejected"][0]["row"] == 9 and report["first_rejected"][0]["field"] == "name"
    # every row once: the repeated SKU's two rows are one written and one superseded by the other
    assert report["written"] + report["unchanged"] + report["superseded"] + report["rejected"] == BIG_ROWS
    assert report["duplicate_skus"] == 1
    assert (done["rows_seen"], done["rows_written"], done["rows_rejected"]) == (BIG_ROWS, report["written"], 1)
    written = products_of(firestore, seller)
    assert len(written) == len(last_row) == BIG_ROWS - 2  # one rejected, one SKU twice
    assert {p["sku"]: p["source_file"]["row"] for p in written.values()} == last_row
    assert all(p["source_file"]["generation"] == str(blob.generation) for p in written.values())

    # The same rows through the function's own import: the same decisions, product by product.
    listing = tmp_path / "big.csv"
    listing.write_bytes(content)
    twin = vendor()
    command = [str(Path(sys.executable).parent / "catalogist"), "import", str(listing), "--vendor", twin]
    env = {
        **os.environ,
        **stack.config.client_env(),
        **{k: v for k, v in stack.config.function_env.items() if k.endswith("_RELEASE")},
        "CATALOGIST_MODEL_CACHE_DIR": str(tmp_path / "cache"),
    }
    imported = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert imported.returncode == 0, imported.stderr[-2000:]
    by_function = {p["sku"]: p for p in products_of(firestore, twin).values()}
    for product in written.values():
        twin_product = by_function[product["sku"]]
        for field in ("text_category", "price", "category", "needs_review", "name", "vendor_price", "pack"):
            assert product[field] == twin_product[field], (product["sku"], field)


def test_a_newer_generation_supersedes_a_running_job(uploads, firestore):
    first, _ = price_list(30_000, name_suffix=" (old list)")
    seller = vendor()
    blob = upload(uploads, f"{seller}/prices.csv", first, "text/csv")
    old = final_ledger_entry(firestore, uploads.name, blob, timeout=60)
    assert old["status"] == "importing"
    old_entry = firestore.collection("uploads").document(old["import_id"])
    running = wait_until(
        lambda: (old_entry.get().to_dict().get("job") or {}).get("state") == "running", JOB_TIMEOUT, interval=0.5
    )
    assert running, "the job never started"

    newer = upload(uploads, f"{seller}/prices.csv", b"SKU;Name;Price\nS-000003;Fresh list item;10\n", "text/csv")
    assert final_ledger_entry(firestore, uploads.name, newer, timeout=90)["status"] == "done"
    ended = wait_until(lambda: (e := old_entry.get().to_dict())["status"] != "importing" and e, 120, interval=0.5)

    assert ended is not None, "the old job never stopped"
    assert ended["status"] == "superseded"
    assert "newer generation" in ended["reason"]
    assert ended["job"]["state"] == "ended"
    report = firestore.collection("imports").document(old["import_id"]).get().to_dict()
    assert report["status"] == "superseded"
    assert report["rows_seen"] > 0, "the reader's progress is kept"
    assert report.get("written", 0) < 29_999, "stopped before the end"
    product = firestore.collection("products").document(f"{seller}:S-000003").get().to_dict()
    assert product["name"] == "Fresh list item", "the newer upload's row wins, whatever the old job wrote"
    assert product["source_file"]["generation"] == str(newer.generation)
