"""Faults injected into the local stack, one table: scenario, what was injected, outcome, rows
lost, duplicates, time to recover.

    .venv/bin/python bench/reliability.py [--rows 3000] [--textcat DIR --price DIR]
    .venv/bin/python bench/reliability.py --scenarios "function killed mid-import"   # some of them
    .venv/bin/python bench/reliability.py --smoke    # one short fault on a 400-row list: checks that it runs

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
import traceback
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


NOT_MEASURED = "not measured"


def table_row(name: str, scenario: Callable[[], Any]) -> tuple[Any, ...]:
    """The scenario's row; one that raises is a row saying so, so the scenarios after it still run
    and the table shows what was measured (the exit code is then 1)."""
    try:
        r = scenario()
    except Exception as error:
        traceback.print_exc()
        return (name, "", f"{NOT_MEASURED}: {type(error).__name__}: {error}".replace("\n", " "), "–", "–", "–")
    return (r.scenario, r.injected, r.outcome, r.rows_lost, r.duplicates, f"{r.recover_seconds:.1f} s")


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


# name -> the scenario, given the harness, the flags and the photos to upload
SCENARIOS: dict[str, Callable[[Any, argparse.Namespace, list[Path]], Any]] = {
    "redelivery storm": lambda harness, args, photos: harness.redelivery_storm(
        photos[0], times=args.storm, fresh_ids=max(1, args.storm // 5)
    ),
    "Firestore stalls mid-import": lambda harness, args, _: harness.firestore_stall(seconds=args.stall_seconds),
    "Firestore connections reset mid-import": lambda harness, args, _: harness.connection_resets(times=args.resets),
    "function killed mid-import": lambda harness, *_: harness.function_killed_mid_import(),
    "function killed mid-photo": lambda harness, _, photos: harness.function_killed_mid_photos(photos),
    "photo and price-list row of one SKU at once": lambda harness, _, photos: harness.photo_and_row_together(
        photos[:6]
    ),
}
# Tiny sizes and one scenario: the stack, the clean reference import, a fault and the table run;
# the figures mean nothing. Every scenario is asserted on by tests/reliability at its own size, so
# running them all here again would only repeat those minutes in `make test`.
SMOKE = {"rows": 400, "photos": 6, "stall_seconds": 1.0, "resets": 1, "storm": 10, "scenarios": ["redelivery storm"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--classifier", type=Path, default=REPO / "models" / "classifier")
    parser.add_argument("--textcat", type=Path, default=REPO / "models" / "textcat")
    parser.add_argument("--price", type=Path, default=REPO / "models" / "price")
    parser.add_argument("--photos", type=int, default=24, help="photos in the burst the function is killed in")
    parser.add_argument("--stall-seconds", type=float, default=15.0)
    parser.add_argument("--resets", type=int, default=3)
    parser.add_argument("--storm", type=int, default=50, help="concurrent deliveries of one event")
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS), metavar="SCENARIO")
    parser.add_argument("--smoke", action="store_true", help=f"tiny sizes ({SMOKE}): checks that it runs")
    args = parser.parse_args()
    if args.smoke:  # the smoke sizes replace the defaults; flags given still win
        parser.set_defaults(**SMOKE)
        args = parser.parse_args()

    from catalogist_infra.stack import Stack, StackConfig, firestore_client, storage_client
    from tests.reliability.faults import ResettingProxy
    from tests.reliability.scenarios import Harness
    from tests.support import dataset_photos

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
            photos = [path for path, _ in dataset_photos(args.classifier, args.photos)]
            harness.reference()
            table = [table_row(name, partial(SCENARIOS[name], harness, args, photos)) for name in args.scenarios]
        finally:
            documents.close()
            stack.stop()

    print(f"\n{args.rows:,}-row price lists; leases of 4 s; one run, this machine\n")
    print("| scenario | injected | outcome | rows lost | duplicates | time to recover |")
    print("|---|---|---|---|---|---|")
    for cells in table:
        print("| " + " | ".join(str(cell) for cell in cells) + " |")
    unmeasured = [cells[0] for cells in table if cells[2].startswith(NOT_MEASURED)]
    if unmeasured:
        raise SystemExit(f"not measured: {', '.join(unmeasured)} (the errors are in the table)")


if __name__ == "__main__":
    main()
