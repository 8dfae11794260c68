"""Fault scenarios against a running local stack, shared by the tests and bench/reliability.py.

Each returns a `Result`: what was injected, whether the outcome was complete, rows lost, rows
duplicated (product documents beyond the file's SKUs, or pipeline runs beyond one per object
version), and how long the system took to finish after the fault.
"""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from google.cloud.firestore_v1.base_query import FieldFilter

from catalogist.intake.ledger import upload_id
from catalogist_infra.cloudevents import binary_event, object_resource
from catalogist_infra.stack import Stack, finished_uploads, wait_until
from tests.reliability.faults import kill_group, paused
from tests.support import products_of

WORDS = ("Basmati rice", "Green tea", "Sunflower oil", "Toor dal", "Almonds", "Peanut butter", "Oats", "Honey")


@dataclass(frozen=True)
class Result:
    scenario: str
    injected: str
    outcome: str
    complete: bool
    rows_lost: int
    duplicates: int
    recover_seconds: float


def vendor(prefix: str = "r") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def price_list(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["SKU", "Name", "Brand", "Price"])
    for i in range(rows):
        writer.writerow(
            [f"S-{i:05d}", f"{WORDS[i % len(WORDS)]} {1 + i % 9} kg pack {i}", f"Brand {i % 37}", 50 + i % 400]
        )
    return out.getvalue().encode()


def upload(bucket: Any, name: str, data: bytes, content_type: str) -> Any:
    blob = bucket.blob(name)
    blob.upload_from_string(data, content_type=content_type)
    return blob


def finished(documents: Any, bucket: Any, blobs: list[Any], timeout: float) -> dict[str, dict[str, Any]]:
    entries = wait_until(lambda: finished_uploads(documents, bucket.name, blobs), timeout, interval=0.25)
    assert entries is not None, f"not finished within {timeout:.0f} s"
    return entries


def products_by_sku(documents: Any, seller: str) -> dict[str, dict[str, Any]]:
    return {product["sku"]: product for product in products_of(documents, seller).values()}


def comparable(product: dict[str, Any]) -> dict[str, Any]:
    """What a clean import decides for a row, without who, when and which object."""
    return {
        "name": product.get("name"),
        "brand": product.get("brand"),
        "vendor_price": product.get("vendor_price"),
        "text_category": (product.get("text_category") or {}).get("path_text"),
        "price": (product.get("price") or {}).get("predicted"),
        "row": (product.get("source_file") or {}).get("row"),
        "category_path": product.get("category_path"),
        "image_category": (product.get("image_category") or {}).get("path_text"),
    }


def compare(reference: dict[str, dict[str, Any]], found: dict[str, dict[str, Any]]) -> tuple[int, int]:
    """(rows lost or different, extra products) against a clean import of the same file."""
    lost = sum(
        1 for sku, product in reference.items() if sku not in found or comparable(found[sku]) != comparable(product)
    )
    return lost, len(set(found) - set(reference))


def runs_logged(stack: Stack, upload: str) -> int:
    """Pipeline runs of an upload: the function's log lines that end an attempt at it."""
    count = 0
    for line in (stack.config.data_dir / "logs" / "functions.log").read_text(errors="replace").splitlines():
        if line.startswith("{") and upload in line:
            entry = json.loads(line)
            count += entry.get("upload_id") == upload and bool(entry.get("attempt")) and "status" in entry
    return count


class Harness:
    """A stack with a resetting proxy between its functions and its Firestore emulator."""

    def __init__(self, stack: Stack, proxy: Any, bucket: Any, documents: Any, rows: int) -> None:
        self.stack, self.proxy, self.bucket, self.documents, self.rows = stack, proxy, bucket, documents, rows
        self._reference: dict[str, dict[str, Any]] | None = None

    def reference(self) -> dict[str, dict[str, Any]]:
        """A clean import of the scenarios' price list, done once."""
        if self._reference is None:
            seller = vendor("clean")
            blob = upload(self.bucket, f"{seller}/prices.csv", price_list(self.rows), "text/csv")
            assert finished(self.documents, self.bucket, [blob], 600)[blob.name]["status"] == "done"
            self._reference = products_by_sku(self.documents, seller)
            assert len(self._reference) == self.rows
        return self._reference

    def pid(self, part: str) -> int:
        return self.stack._processes[part].pid

    def _import_with(self, scenario: str, injected: str, fault: Any) -> Result:
        reference = self.reference()
        seller = vendor()
        blob = upload(self.bucket, f"{seller}/prices.csv", price_list(self.rows), "text/csv")
        key = upload_id(self.bucket.name, blob.name, str(blob.generation))
        started = wait_until(lambda: len(products_by_sku(self.documents, seller)) >= 400 or None, 300, interval=0.1)
        assert started, "the import never wrote its first page"
        fault()
        after_fault = time.monotonic()
        entry = finished(self.documents, self.bucket, [blob], 900)[blob.name]
        recovered = time.monotonic() - after_fault
        lost, extra = compare(reference, products_by_sku(self.documents, seller))
        runs = runs_logged(self.stack, key)
        attempts = self.documents.collection("uploads").document(key).get().to_dict().get("attempts")
        outcome = f"{entry['status']} after {attempts} attempt(s)"
        return Result(
            scenario, injected, outcome, entry["status"] == "done", lost, extra + max(0, runs - attempts), recovered
        )

    def firestore_stall(self, seconds: float = 15.0) -> Result:
        def stall() -> None:
            with paused(self.pid("firestore")):
                time.sleep(seconds)

        return self._import_with(
            "Firestore stalls mid-import", f"emulator SIGSTOP {seconds:.0f} s, then SIGCONT", stall
        )

    def connection_resets(self, times: int = 3) -> Result:
        def resets() -> None:
            for _ in range(times):
                self.proxy.reset()
                time.sleep(1.5)

        return self._import_with(
            "Firestore connections reset mid-import", f"{times} TCP resets between function and Firestore", resets
        )

    def function_killed_mid_import(self) -> Result:
        def kill() -> None:
            kill_group(self.pid("functions"))
            self.stack.restart("functions")

        return self._import_with("function killed mid-import", "SIGKILL to the function's process group, restart", kill)

    def function_killed_mid_photos(self, photos: list[Path]) -> Result:
        seller, clean = vendor(), vendor("clean")
        reference_blobs = [
            upload(self.bucket, f"{clean}/P{i:03d}.jpg", p.read_bytes(), "image/jpeg") for i, p in enumerate(photos)
        ]
        finished(self.documents, self.bucket, reference_blobs, 300)
        reference = products_by_sku(self.documents, clean)
        blobs = [
            upload(self.bucket, f"{seller}/P{i:03d}.jpg", p.read_bytes(), "image/jpeg") for i, p in enumerate(photos)
        ]
        wait_until(lambda: len(products_by_sku(self.documents, seller)) >= 3 or None, 120, interval=0.05)
        kill_group(self.pid("functions"))
        self.stack.restart("functions")
        after_fault = time.monotonic()
        entries = finished(self.documents, self.bucket, blobs, 600)
        recovered = time.monotonic() - after_fault
        done = [e for e in entries.values() if e["status"] == "done"]
        lost, extra = compare(reference, products_by_sku(self.documents, seller))
        runs = sum(
            max(0, runs_logged(self.stack, upload_id(self.bucket.name, b.name, str(b.generation))) - 1) for b in blobs
        )
        outcome = f"{len(done)} of {len(blobs)} photos done"
        return Result(
            "function killed mid-photo",
            "SIGKILL during a burst of photos, restart",
            outcome,
            len(done) == len(blobs),
            lost,
            extra + runs,
            recovered,
        )

    def redelivery_storm(self, photo: Path, times: int = 50, fresh_ids: int = 10) -> Result:
        seller = vendor()
        direct = self.bucket.client.bucket(self.stack.config.uploads_bucket + "-direct")
        if not direct.exists():
            direct.create()
        blob = upload(direct, f"{seller}/SKU-1.jpg", photo.read_bytes(), "image/jpeg")
        headers, body = binary_event(object_resource(blob))
        started = time.monotonic()
        url = self.stack.config.functions_url

        def deliver(i: int) -> int:
            sent = dict(headers)
            if i >= times:
                sent["ce-id"] = f"fresh-{i}"  # a new event id for the same object version
            return requests.post(url, data=body, headers=sent, timeout=120).status_code

        with ThreadPoolExecutor(32) as pool:
            answers = list(pool.map(deliver, range(times + fresh_ids)))
        key = upload_id(direct.name, blob.name, str(blob.generation))
        entry = wait_until(
            lambda: (
                (doc := self.documents.collection("uploads").document(key).get()).exists
                and doc.get("status") != "received"
                and doc.to_dict()
            ),
            60,
        )
        recovered = time.monotonic() - started
        runs = runs_logged(self.stack, key)
        entries = list(self.documents.collection("uploads").where(filter=FieldFilter("name", "==", blob.name)).stream())
        outcome = f"{entry['status'] if entry else 'unfinished'}; answers {sorted(set(answers))}; {runs} run(s)"
        return Result(
            "redelivery storm",
            f"{times} concurrent deliveries of one event + {fresh_ids} with fresh event ids",
            outcome,
            bool(entry and entry["status"] == "done" and set(answers) <= {200, 409}),
            0,
            max(0, runs - 1) + max(0, len(entries) - 1),
            recovered,
        )

    def photo_and_row_together(self, photos: list[Path], products: int = 6) -> Result:
        """Each product's photo and its price-list row land at the same moment, for two vendors
        with the same SKUs."""
        sellers = [vendor(), vendor()]
        rows = "SKU,Name,Brand,Price\n" + "".join(f"S-{i},Product {i} 1 kg,Acme,{100 + i}\n" for i in range(products))
        started = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            futures = [
                pool.submit(
                    upload, self.bucket, f"{seller}/S-{i}.jpg", photos[i % len(photos)].read_bytes(), "image/jpeg"
                )
                for seller in sellers
                for i in range(products)
            ]
            futures += [
                pool.submit(upload, self.bucket, f"{seller}/prices.csv", rows.encode(), "text/csv")
                for seller in sellers
            ]
            blobs = [future.result() for future in futures]
        finished(self.documents, self.bucket, blobs, 300)
        recovered = time.monotonic() - started
        lost = 0
        for seller in sellers:
            found = products_by_sku(self.documents, seller)
            for i in range(products):
                product = found.get(f"S-{i}") or {}
                summary_right = product.get("category_path") == _expected_path(product)
                if not (
                    product.get("image_category")
                    and product.get("text_category")
                    and product.get("name")
                    and summary_right
                ):
                    lost += 1
        return Result(
            "photo and price-list row of one SKU at once",
            f"{products} photos + a {products}-row list, same SKUs, two vendors, all at once",
            "every product has both",
            lost == 0,
            lost,
            0,
            recovered,
        )


def _expected_path(product: dict[str, Any]) -> str | None:
    """The summary the product's own decisions call for (a confident one first, image first)."""
    from catalogist.documents.products import effective_category

    category = effective_category(product)
    return category["path_text"] if category else None
