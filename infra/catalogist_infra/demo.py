"""The main job on the local stack: uploads in, Firestore documents out, printed.

    catalogist demo

Starts the stack, uploads a sample product photo and a sample vendor price list as the vendor
`demo-vendor`, waits for the ledger entries the function writes, prints them and stops.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from google.cloud.firestore_v1.base_query import FieldFilter

from catalogist_infra.cli import print_parts, stack_config
from catalogist_infra.stack import REPO, Stack, firestore_client, storage_client, wait_until

SAMPLES = REPO / "infra" / "samples"
VENDOR = "demo-vendor"
UPLOADS = (
    ("banana.jpg", f"{VENDOR}/BAN-001.jpg", "image/jpeg"),
    ("price-list.csv", f"{VENDOR}/price-list.csv", "text/csv"),
)


def run(args: argparse.Namespace) -> int:
    stack = Stack(stack_config(args))
    stack.start()
    documents = firestore_client(stack.config)
    try:
        print_parts(stack)
        bucket = storage_client(stack.config).bucket(stack.config.uploads_bucket)
        uploaded = []
        for sample, name, content_type in UPLOADS:
            blob = bucket.blob(name)
            blob.upload_from_filename(str(SAMPLES / sample), content_type=content_type)
            uploaded.append((name, str(blob.generation), time.monotonic()))
            print(f"uploaded gs://{bucket.name}/{name} (generation {blob.generation})")

        def ledger_entries() -> list[dict[str, Any]] | None:
            entries = {
                (entry["name"], entry["generation"]): entry
                for entry in (
                    snapshot.to_dict()
                    for snapshot in documents.collection("uploads")
                    .where(filter=FieldFilter("vendor", "==", VENDOR))
                    .stream()
                )
            }
            found = [entries.get((name, generation)) for name, generation, _ in uploaded]
            return [entry for entry in found if entry] if all(found) else None

        found = wait_until(ledger_entries, timeout=60)
        if not found:
            print("The ledger entries did not appear within 60 s; see the logs above.")
            return 1
        print(f"\nLedger (Firestore uploads/), {len(found)} entries:")
        print(f"  {'object':<34} {'kind':<12} {'format':<7} {'status':<9} reason")
        for entry in found:
            print(
                f"  {entry['name']:<34} {entry['kind']:<12} {entry['format']:<7} "
                f"{entry['status']:<9} {entry['reason']}"
            )
        return 0
    finally:
        documents.close()
        if args.keep_running:
            print("\nThe stack keeps running; stop it with:")
            print(f"  catalogist dev down --data-dir {stack.config.data_dir}")
        else:
            stack.stop()
