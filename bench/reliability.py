"""Faults injected into the local stack, one table: scenario, what was injected, outcome, rows
lost, duplicates, time to recover.

    .venv/bin/python bench/reliability.py [--rows 3000] [--textcat DIR --price DIR]

The scenarios are the ones `tests/reliability` asserts on (tests/reliability/scenarios.py): a
redelivery storm, Firestore stalled (SIGSTOP) and its connections reset mid-import, the function
killed (SIGKILL) mid-import and mid-photo, a product's photo and row landing together for two
vendors. Lost rows are compared with a clean import of the same file; duplicates count product
documents beyond the file's SKUs and pipeline runs beyond one per object version.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def trained_row_models(work: Path) -> dict[str, Path]:
    releases = {}
    for kind in ("textcat", "price"):
        out = work / kind
        command = [
            str(Path(sys.executable).parent / "catalogist"),
            "train",
            kind,
            "--data",
            str(REPO.parent / "shared" / "datasets" / "bigbasket" / "products.csv"),
            "--out",
            str(out),
            "--limit",
            "3000",
        ]
        subprocess.run(command, check=True, capture_output=True)
        releases[kind] = out
    return releases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--classifier", type=Path, default=REPO / "models" / "classifier")
    parser.add_argument("--textcat", type=Path, default=REPO / "models" / "textcat")
    parser.add_argument("--price", type=Path, default=REPO / "models" / "price")
    args = parser.parse_args()

    from catalogist_infra.stack import Stack, StackConfig, firestore_client, storage_client
    from tests.integration.test_photos import dataset_photos
    from tests.reliability.faults import ResettingProxy
    from tests.reliability.scenarios import Harness

    with tempfile.TemporaryDirectory() as tmp:
        rows = {"textcat": args.textcat, "price": args.price}
        if not all((folder / "manifest.json").exists() for folder in rows.values()):
            print("no committed row-model releases: training small ones (--limit 3000)")
            rows = trained_row_models(Path(tmp))
        config = StackConfig.on_free_ports(Path(tmp) / "stack", project="reliability")
        proxy = ResettingProxy(("127.0.0.1", config.firestore_port))
        config.function_env.update(
            {
                "FIRESTORE_EMULATOR_HOST": proxy.address,
                "CATALOGIST_LEASE_SECONDS": "4",
                "CATALOGIST_BUSY_WAIT_SECONDS": "2",
                "CATALOGIST_CLASSIFIER_RELEASE": str(args.classifier.resolve()),
                "CATALOGIST_TEXTCAT_RELEASE": str(rows["textcat"].resolve()),
                "CATALOGIST_PRICE_RELEASE": str(rows["price"].resolve()),
            }
        )
        stack = Stack(config)
        stack.start()
        documents = firestore_client(config)
        try:
            harness = Harness(stack, proxy, storage_client(config).bucket(config.uploads_bucket), documents, args.rows)
            photos = [path for path, _ in dataset_photos(args.classifier, 24)]
            harness.reference()
            results = [
                harness.redelivery_storm(photos[0]),
                harness.firestore_stall(seconds=15),
                harness.connection_resets(times=3),
                harness.function_killed_mid_import(),
                harness.function_killed_mid_photos(photos),
                harness.photo_and_row_together(photos[:6]),
            ]
        finally:
            documents.close()
            stack.stop()

    print(f"\n{args.rows:,}-row price lists; leases of 4 s; one run, this machine\n")
    print("| scenario | injected | outcome | rows lost | duplicates | time to recover |")
    print("|---|---|---|---|---|---|")
    for r in results:
        cells = (r.scenario, r.injected, r.outcome, r.rows_lost, r.duplicates, f"{r.recover_seconds:.1f} s")
        print("| " + " | ".join(str(cell) for cell in cells) + " |")


if __name__ == "__main__":
    main()
