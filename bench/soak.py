"""A bounded soak of the local stack: many vendors uploading photos and price lists at once.

    .venv/bin/python bench/soak.py [--photos 2000] [--files 20] [--rows 10000] [--vendors 10] [--workers 2]
    .venv/bin/python bench/soak.py --smoke    # 10 photos and 2 lists of 200 rows: checks that it runs

Uploads everything as fast as the client can, then waits for the function (`--workers` gunicorn
processes of THREADS threads each, as Cloud Run would run several instances) to finish. Prints
upload → done p50/p95/p99 per kind, throughput, each worker's peak memory, and the counts that
must be zero: lost uploads, lost rows, duplicate products, unfinished ledger entries. Many uploads
at once must slow the system down, not lose anything.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def price_list(rows: int, file_number: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["SKU", "Name", "Brand", "Price"])
    words = ("Basmati rice", "Green tea", "Sunflower oil", "Toor dal", "Almonds", "Oats", "Honey", "Ghee")
    for i in range(rows):
        writer.writerow(
            [
                f"F{file_number:02d}-{i:06d}",
                f"{words[i % len(words)]} {1 + i % 9} kg {i}",
                f"Brand {i % 53}",
                40 + i % 500,
            ]
        )
    return out.getvalue().encode()


def worker_peaks(stack) -> list[float]:
    import psutil

    leader = psutil.Process(next(part.pid for part in stack.parts if part.name == "functions"))
    peaks = []
    for process in leader.children(recursive=True):
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return peaks


# Tiny sizes: uploads, waits and counts all run in seconds (a test runs them); the figures mean
# nothing.
SMOKE = {"photos": 10, "files": 2, "rows": 200, "vendors": 2, "workers": 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=2000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--vendors", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--models", type=Path, default=REPO / "models")
    parser.add_argument("--smoke", action="store_true", help=f"tiny sizes ({SMOKE}): checks that it runs")
    args = parser.parse_args()
    if args.smoke:  # the smoke sizes replace the defaults; flags given still win
        parser.set_defaults(**SMOKE)
        args = parser.parse_args()

    from google.cloud.firestore_v1.base_query import FieldFilter

    from catalogist.intake.ledger import upload_id
    from catalogist_infra.stack import Stack, StackConfig, firestore_client, storage_client
    from tests.support import GROCERY

    missing = [
        kind for kind in ("classifier", "textcat", "price") if not (args.models / kind / "manifest.json").exists()
    ]
    if missing:
        raise SystemExit(f"no {', '.join(missing)} release in {args.models}: run `make models` or pass --models")
    sources = sorted((GROCERY / "val").rglob("*.jpg"))
    with tempfile.TemporaryDirectory() as tmp:
        config = StackConfig.on_free_ports(Path(tmp), project="soak")
        config.function_env["WORKERS"] = str(args.workers)
        for kind in ("classifier", "textcat", "price"):
            config.function_env[f"CATALOGIST_{kind.upper()}_RELEASE"] = str((args.models / kind).resolve())
        stack = Stack(config)
        stack.start()
        documents = firestore_client(config)
        bucket = storage_client(config).bucket(config.uploads_bucket)
        try:
            jobs = [
                (f"v{i % args.vendors:02d}/P{i:05d}.jpg", sources[i % len(sources)].read_bytes(), "image/jpeg")
                for i in range(args.photos)
            ]
            jobs += [
                (f"v{f % args.vendors:02d}/list-{f:02d}.csv", price_list(args.rows, f), "text/csv")
                for f in range(args.files)
            ]
            uploaded: dict[str, tuple[float, str]] = {}

            def put(job):
                name, data, content_type = job
                blob = bucket.blob(name)
                blob.upload_from_string(data, content_type=content_type)
                uploaded[name] = (time.monotonic(), str(blob.generation))

            started = time.monotonic()
            with ThreadPoolExecutor(16) as pool:
                list(pool.map(put, jobs))
            took = time.monotonic() - started
            print(f"uploaded {len(jobs):,} objects ({args.photos:,} photos, {args.files} files) in {took:.0f} s")

            done_at: dict[str, float] = {}
            statuses: dict[str, str] = {}
            reasons: dict[str, str] = {}
            deadline = time.monotonic() + 7200
            while len(done_at) < len(jobs) and time.monotonic() < deadline:
                pending = [name for name in uploaded if name not in done_at]
                refs = [
                    documents.collection("uploads").document(upload_id(bucket.name, n, uploaded[n][1])) for n in pending
                ]
                for snapshot in documents.get_all(refs):
                    if snapshot.exists and snapshot.get("status") != "received":
                        name = snapshot.get("name")
                        done_at[name] = time.monotonic()
                        statuses[name] = snapshot.get("status")
                        if statuses[name] != "done":
                            reasons[name] = str(snapshot.to_dict().get("reason", ""))[:200]
                time.sleep(1.0)
            elapsed = time.monotonic() - started
            peaks = worker_peaks(stack)

            rows_written = 0
            duplicates = 0
            for v in range(args.vendors):
                query = documents.collection("products").where(filter=FieldFilter("vendor", "==", f"v{v:02d}"))
                skus = [snapshot.get("sku") for snapshot in query.select(["sku"]).stream()]
                duplicates += len(skus) - len(set(skus))
                rows_written += sum(1 for sku in skus if sku.startswith("F"))
        finally:
            documents.close()
            stack.stop()

    for kind, suffix in (("photo", ".jpg"), ("price list", ".csv")):
        latencies = [done_at[n] - uploaded[n][0] for n in done_at if n.endswith(suffix)]
        if latencies:
            p50, p95, p99 = (percentile(latencies, share) for share in (0.5, 0.95, 0.99))
            print(
                f"{kind:<11} upload → done  p50 {p50:7.1f} s  p95 {p95:7.1f} s  p99 {p99:7.1f} s  (n={len(latencies)})"
            )
    rate = args.files * args.rows / elapsed
    print(f"throughput: {len(done_at) / elapsed:.1f} uploads/s, {rate:.0f} rows/s over {elapsed:.0f} s")
    print(f"function workers' peak memory: {', '.join(f'{p:.0f} MB' for p in peaks)}")
    lost_uploads = sum(1 for n in uploaded if statuses.get(n) not in ("done",))
    for name, reason in sorted(reasons.items())[:5]:
        print(f"  {name}: {statuses[name]}: {reason}")
    print(
        f"must be zero: lost uploads {lost_uploads}, lost rows {args.files * args.rows - rows_written}, "
        f"duplicate products {duplicates}, unfinished ledger entries {len(uploaded) - len(done_at)}"
    )


if __name__ == "__main__":
    main()
