"""Vendor-file import figures, measured side by side in one run.

    .venv/bin/python bench/bench_import.py [--rows 10000] [--big-rows 1000000]
    .venv/bin/python bench/bench_import.py --smoke    # 200 and 1,000 rows: checks that it runs

1. A 10,000-row price list in each format, uploaded to the local stack: seconds from upload to
   the `done` ledger entry (the function parses, categorizes, prices and writes every row to the
   Firestore emulator), with the import document's own split (parse / models / write).
2. Rows per second for parsing alone and for the two models alone (no Firestore).
3. A large CSV imported with `catalogist import` into the emulator, in its own process: peak
   memory (ru_maxrss) and rows per second. The in-memory emulator holds about 26 KB per product
   document (a million would not fit in this machine's RAM), so while the import runs the bench
   has it drop the products written so far every `--forget-every` seconds (`POST /forget/products`
   on the launcher's admin port); the import itself is unchanged: every SKU is new to it anyway.

Rows are real BigBasket products (name, brand, market price, a pack size from the name), repeated
with distinct SKUs to reach the row count. Models: the committed releases, models/textcat and
models/price (`--textcat`, `--price` for others).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from bench_parse import HEADER, encode  # noqa: E402

BIGBASKET = REPO.parent / "shared" / "datasets" / "bigbasket" / "products.csv"


def catalogue_rows(count: int) -> list[list[str]]:
    with BIGBASKET.open(newline="") as stream:
        products = [r for r in csv.DictReader(stream) if r["product"].strip()]
    rows = []
    for i in range(count):
        p = products[i % len(products)]
        rows.append(
            [f"BB-{i:07d}", p["product"].strip(), p["brand"].strip(), f"₹ {p['market_price']}", p["category"], ""]
        )
    return rows


def end_to_end(files: dict[str, bytes], textcat: Path, price: Path) -> None:
    from catalogist.documents import imports
    from catalogist_infra.stack import (
        Stack,
        StackConfig,
        finished_uploads,
        firestore_client,
        storage_client,
        wait_until,
    )

    with tempfile.TemporaryDirectory() as data_dir:
        config = StackConfig.on_free_ports(Path(data_dir))
        config.function_env.update({"CATALOGIST_TEXTCAT_RELEASE": str(textcat), "CATALOGIST_PRICE_RELEASE": str(price)})
        stack = Stack(config)
        stack.start()
        try:
            bucket = storage_client(config).bucket(config.uploads_bucket)
            documents = firestore_client(config)
            warm = bucket.blob("warm-up/prices.csv")  # loads the models once; not counted
            warm.upload_from_string("SKU,Name\nW-1,Tata Salt 1 kg\n")
            warmed = wait_until(lambda: finished_uploads(documents, bucket.name, [warm]), 300)
            if not warmed or warmed[warm.name]["status"] != "done":
                raise SystemExit(f"the warm-up import did not finish as done: {warmed}")
            for file_format, data in files.items():
                blob = bucket.blob(f"vendor-{file_format}/prices.{file_format}")
                started = time.perf_counter()
                blob.upload_from_string(data)
                entries = wait_until(lambda blob=blob: finished_uploads(documents, bucket.name, [blob]), 600, 0.1)
                if entries is None:
                    raise SystemExit(f"{blob.name} was not processed within 600 s")
                entry = entries[blob.name]
                elapsed = time.perf_counter() - started
                fields = documents.collection(imports.COLLECTION).document(entry["import_id"]).get().to_dict()
                report = imports.ImportReport.from_fields(entry["import_id"], fields)
                split = report.seconds
                print(
                    f"  {file_format:<6} {len(data) / 1e6:5.1f} MB  {entry['status']}: {report.written:,} written, "
                    f"{report.rejected} rejected, {elapsed:5.1f} s upload→done  (in function: parse "
                    f"{split['parse']:.1f} s, read {split['read']:.1f} s, models {split['models']:.1f} s; "
                    f"commit {split['commit']:.1f} s on the writer thread, overlapping them)"
                )
            documents.close()
        finally:
            stack.stop()


def parse_and_predict(data: bytes, textcat: Path, price: Path) -> None:
    from catalogist.imports.rows import price_input
    from catalogist.models.price_model import PriceModel
    from catalogist.models.textcat import TextCategorizer
    from catalogist.vendorfiles import ProductRow, parse_vendor_file

    started = time.perf_counter()
    rows = [r for r in parse_vendor_file(io.BytesIO(data), "bench.csv").rows if isinstance(r, ProductRow)]
    parse_seconds = time.perf_counter() - started
    categorizer, model = TextCategorizer.open(textcat), PriceModel.open(price)
    started = time.perf_counter()
    decisions = categorizer.decide_many([(r.name, r.brand, r.vendor_category) for r in rows])
    textcat_seconds = time.perf_counter() - started
    started = time.perf_counter()
    model.suggest([price_input(r, d, model.currency) for r, d in zip(rows, decisions, strict=True)])
    price_seconds = time.perf_counter() - started
    for label, seconds in (
        ("parse + normalize", parse_seconds),
        ("text categorizer", textcat_seconds),
        ("price model", price_seconds),
    ):
        print(f"  {label:<18} {len(rows) / seconds:9,.0f} rows/s  ({seconds:.2f} s for {len(rows):,} rows)")


def big_import(rows: int, textcat: Path, price: Path, forget_every: float) -> None:
    import urllib.request

    from catalogist_infra.processes import ProcessSpec, start, stop_group, wait_healthy
    from catalogist_infra.stack import free_ports

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.csv"
        with path.open("w", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(HEADER)
            chunk = catalogue_rows(min(rows, 100_000))
            for start_row in range(0, rows, len(chunk)):
                for i, row in enumerate(chunk[: rows - start_row]):
                    writer.writerow([f"BB-{start_row + i:08d}", *row[1:]])
        port, admin = free_ports(2)
        launcher = REPO / "infra" / "firestore-emulator" / "launcher.cjs"
        spec = ProcessSpec(
            "firestore",
            ["node", str(launcher), "--port", str(port), "--admin-port", str(admin)],
            f"http://127.0.0.1:{admin}/health",
            Path(folder) / "firestore.log",
            # a million product documents outgrow Node's default heap (about 4 GB)
            {**os.environ, "NODE_OPTIONS": "--max-old-space-size=16384"},
            launcher.parent,
        )
        emulator = start(spec)
        try:
            wait_healthy(spec, emulator, 30)
            env = {
                **os.environ,
                "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{port}",
                "GOOGLE_CLOUD_PROJECT": "bench",
                "CATALOGIST_TEXTCAT_RELEASE": str(textcat),
                "CATALOGIST_PRICE_RELEASE": str(price),
            }
            started = time.perf_counter()
            importer = subprocess.Popen(
                [str(Path(sys.executable).parent / "catalogist"), "import", str(path), "--vendor", "big"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            dropped, forgot = 0, time.perf_counter()
            while True:
                # wait4: the peak memory of that one process, not of every child this bench had
                pid, status, usage = os.wait4(importer.pid, os.WNOHANG)
                if pid:
                    break
                time.sleep(0.5)
                if time.perf_counter() - forgot >= forget_every:
                    forget = urllib.request.Request(f"http://127.0.0.1:{admin}/forget/products", method="POST")
                    with urllib.request.urlopen(forget) as answer:  # noqa: S310 (http on loopback)
                        dropped += int(answer.read())
                    forgot = time.perf_counter()
                    print(f"    {forgot - started:5.0f} s: {dropped:,} products written and dropped", flush=True)
            importer.returncode = os.waitstatus_to_exitcode(status)
            elapsed = time.perf_counter() - started
            if importer.returncode != 0:
                raise SystemExit(f"catalogist import failed with exit code {importer.returncode}")
        finally:
            stop_group(emulator.pid)
            emulator.wait(5)
        peak_mb = usage.ru_maxrss / 1024
        print(
            f"  {rows:,} rows ({path.stat().st_size / 1e6:.0f} MB CSV) with `catalogist import`: {elapsed:.0f} s, "
            f"{rows / elapsed:,.0f} rows/s, peak memory of the import process {peak_mb:.0f} MB"
        )


# Tiny sizes: every part runs in seconds (a test runs it), the big import long enough to drop
# its products once; the figures mean nothing.
SMOKE = {"rows": 200, "big_rows": 1000, "forget_every": 1.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--big-rows", type=int, default=1_000_000)
    parser.add_argument("--forget-every", type=float, default=30.0, help="seconds between drops of the products")
    parser.add_argument("--textcat", type=Path, default=REPO / "models" / "textcat")
    parser.add_argument("--price", type=Path, default=REPO / "models" / "price")
    parser.add_argument("--skip", nargs="*", default=[], choices=["e2e", "alone", "big"])
    parser.add_argument("--smoke", action="store_true", help=f"tiny sizes ({SMOKE}): checks that it runs")
    args = parser.parse_args()
    if args.smoke:  # the smoke sizes replace the defaults; flags given still win
        parser.set_defaults(**SMOKE)
        args = parser.parse_args()
    args.textcat, args.price = args.textcat.resolve(), args.price.resolve()
    files = encode(catalogue_rows(args.rows))
    if "e2e" not in args.skip:
        cores = f"{os.cpu_count()} cores shared by emulators and function"
        print(f"{args.rows:,} rows per file, uploaded to the local stack ({cores}):")
        end_to_end(files, args.textcat, args.price)
    if "alone" not in args.skip:
        print(f"parsing and predicting alone, {args.rows:,}-row CSV, one process:")
        parse_and_predict(files["csv"], args.textcat, args.price)
    if "big" not in args.skip:
        print("a large CSV imported from the command line into the Firestore emulator:")
        big_import(args.big_rows, args.textcat, args.price, args.forget_every)


if __name__ == "__main__":
    main()
