"""Photos per second and peak memory of one function instance at 1, 2, 4 and 8 request threads.

    .venv/bin/python bench/bench_concurrency.py [--release models/classifier] [--photos 240]
    .venv/bin/python bench/bench_concurrency.py --smoke    # 4 photos, 1 and 2 threads: checks that it runs

1. The photo core in a fresh process per thread count: decode (with the instance's decode
   budget) → int8 classifier → decision, on the Grocery Store validation photos plus a few
   worst-case ones (6300×6300 RGBA PNGs, the largest frame accepted), from N threads at once.
   Prints photos/s and the process's peak RSS (ru_maxrss).
2. The same photos through the local stack end to end (upload → ledger `done`), with the
   function started with THREADS=N: photos/s, upload → done p50/p95, and the function process's
   peak RSS (VmHWM). The emulators share the machine's cores with the function, so these figures
   are lower than a deployed instance's; they rank the thread counts against each other.
The thread counts run one after another in this one run, so their figures compare.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from catalogist.models.kinds import CLASSIFIER

REPO = Path(__file__).resolve().parents[1]
GROCERY = REPO.parent / "shared" / "datasets" / "grocerystore"

CORE = """
import json, resource, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from catalogist.models.classifier import PhotoClassifier
from catalogist.imaging import DecodeBudget, photo_pixels_with_facts
from catalogist.settings import Settings
threads, release, folder = int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
photos = [p.read_bytes() for p in sorted(folder.iterdir())]
classifier = PhotoClassifier.open(release, max_interpreters=threads)
budget = DecodeBudget(Settings.decode_memory_bytes)
def categorize(photo):
    pixels, _ = photo_pixels_with_facts(photo, classifier.image_size, budget)
    return classifier.taxonomy.decide(classifier.probabilities(pixels))
categorize(photos[0])
idle = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
with ThreadPoolExecutor(threads) as pool:
    list(pool.map(categorize, photos))
elapsed = time.perf_counter() - started
print(json.dumps({"photos_per_second": len(photos) / elapsed, "idle_mb": idle / 1024,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "interpreters": classifier.model.interpreters_created}))
"""


def worst_png() -> bytes:
    import numpy as np
    from PIL import Image

    side = 6300
    blocks = np.random.default_rng(0).integers(0, 256, (side // 100, side // 100, 4), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(blocks, "RGBA").resize((side, side), Image.Resampling.NEAREST).save(buffer, "PNG")
    return buffer.getvalue()


def photo_folder(count: int, worst: int, folder: Path) -> list[Path]:
    sources = sorted((GROCERY / "val").rglob("*.jpg"))
    paths = []
    for i in range(count):
        path = folder / f"P{i:04d}.jpg"
        path.write_bytes(sources[i % len(sources)].read_bytes())
        paths.append(path)
    big = worst_png()
    for i in range(worst):
        path = folder / f"W{i:02d}.png"
        path.write_bytes(big)
        paths.append(path)
    return paths


def core(release: Path, folder: Path, thread_counts: list[int]) -> None:
    print("\n1. Photo core in one process (decode + int8 classifier + decision)")
    print(f"{'threads':>8} {'photos/s':>9} {'idle RSS MB':>12} {'peak RSS MB':>12} {'interpreters':>13}")
    for threads in thread_counts:
        out = subprocess.run(
            [sys.executable, "-c", CORE, str(threads), str(release), str(folder)],
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{threads:>8} {figures['photos_per_second']:>9.1f} {figures['idle_mb']:>12.0f} "
            f"{figures['peak_mb']:>12.0f} {figures['interpreters']:>13}"
        )


def function_peak_mb(stack) -> float:
    """VmHWM of the functions-framework processes (gunicorn master and its worker)."""
    import psutil

    leader = psutil.Process(next(p.pid for p in stack.parts if p.name == "functions"))
    peaks = []
    for process in [leader, *leader.children(recursive=True)]:
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks)


def through_stack(release: Path, photos: list[Path], thread_counts: list[int], work: Path) -> None:
    from catalogist_infra.stack import (
        Stack,
        StackConfig,
    )

    print("\n2. Through the local stack (upload → ledger done), function started with THREADS=N")
    print(f"{'threads':>8} {'photos/s':>9} {'p50 s':>7} {'p95 s':>7} {'function peak RSS MB':>21}")
    for threads in thread_counts:
        config = StackConfig.on_free_ports(work / f"stack-{threads}", project="bench")
        config.function_env.update({"THREADS": str(threads), "CATALOGIST_CLASSIFIER_RELEASE": str(release)})
        stack = Stack(config)
        stack.start()
        try:
            rate, p50, p95 = _run_on_stack(config, photos)
            print(f"{threads:>8} {rate:>9.1f} {p50:>7.2f} {p95:>7.2f} {function_peak_mb(stack):>21.0f}")
        finally:
            stack.stop()


def _run_on_stack(config, photos: list[Path]) -> tuple[float, float, float]:
    from catalogist_infra.stack import finished_uploads, firestore_client, storage_client, wait_until

    bucket = storage_client(config).bucket(config.uploads_bucket)
    documents = firestore_client(config)
    warm = bucket.blob("bench/warm.jpg")
    warm.upload_from_filename(str(photos[0]))
    wait_until(lambda: finished_uploads(documents, bucket.name, [warm]), 120)
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        blobs = list(pool.map(lambda p: _upload(bucket, p), photos))
    done_at: dict[str, float] = {}
    statuses: dict[str, str] = {}
    deadline = time.monotonic() + 900
    while len(done_at) < len(blobs) and time.monotonic() < deadline:
        for blob in [b for b in blobs if b.name not in done_at][:50]:
            if entries := finished_uploads(documents, bucket.name, [blob]):
                done_at[blob.name] = time.monotonic()
                statuses[blob.name] = entries[blob.name]["status"]
        time.sleep(0.1)
    # a photo that failed finishes fast: counted, it would flatter the rate
    if len(done_at) < len(blobs) or set(statuses.values()) != {"done"}:
        unfinished = len(blobs) - len(done_at)
        counts = Counter(statuses.values())
        raise SystemExit(f"not every photo ended done within 900 s: {unfinished} unfinished, {dict(counts)}")
    elapsed = max(done_at.values()) - started
    latencies = sorted(done_at[b.name] - b._bench_uploaded for b in blobs if b.name in done_at)
    return len(done_at) / elapsed, statistics.median(latencies), latencies[int(0.95 * (len(latencies) - 1))]


def _upload(bucket, path: Path):
    blob = bucket.blob(f"bench/{path.stem}.{path.suffix.lstrip('.')}")
    blob.upload_from_filename(str(path))
    blob._bench_uploaded = time.monotonic()
    return blob


# Tiny sizes: both parts run in seconds (a test runs them); their figures mean nothing.
SMOKE = {"photos": 4, "worst": 1, "threads": [1, 2]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--release", type=Path, default=REPO / "models" / "classifier")
    parser.add_argument("--photos", type=int, default=240, help="Grocery Store validation photos (repeated)")
    parser.add_argument("--worst", type=int, default=8, help="6300×6300 RGBA PNGs among them")
    parser.add_argument("--threads", type=int, nargs="*", default=[1, 2, 4, 8])
    parser.add_argument("--skip", nargs="*", default=[], choices=["core", "stack"])
    parser.add_argument("--smoke", action="store_true", help=f"tiny sizes ({SMOKE}): checks that it runs")
    args = parser.parse_args()
    if args.smoke:  # the smoke sizes replace the defaults; flags given still win
        parser.set_defaults(**SMOKE)
        args = parser.parse_args()
    args.release = CLASSIFIER.release_in(args.release).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        photos = photo_folder(args.photos, args.worst, folder)
        print(f"{args.photos} shop photos and {args.worst} worst-case PNGs; release {args.release}")
        if "core" not in args.skip:
            core(args.release, folder, args.threads)
        if "stack" not in args.skip:
            through_stack(args.release, photos, args.threads, Path(tmp))


if __name__ == "__main__":
    main()
