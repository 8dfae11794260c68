"""Local stack figures: start-up time, upload-to-ledger latency, shut-down.

    .venv/bin/python bench/bench_stack.py [--uploads 20]
    .venv/bin/python bench/bench_stack.py --smoke    # 3 uploads: checks that it runs

Starts a private stack on free loopback ports, uploads photos one at a time with the official
Storage client and times each until its ledger document is readable with the official
Firestore client. The bridge polls every 0.2 s, so about 0.1 s of each latency is polling.
The function serves the committed classifier (`--classifier`), so each photo goes on to be
classified as in `catalogist dev up`, rather than failing for want of a model.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

from catalogist.intake.ledger import upload_id
from catalogist.models.kinds import CLASSIFIER
from catalogist.settings import BY_FIELD
from catalogist_infra.stack import Stack, StackConfig, firestore_client, storage_client, wait_until

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--classifier", type=Path, default=REPO / "models" / "classifier")
    parser.add_argument("--smoke", action="store_true", help="3 uploads: checks that it runs, figures meaningless")
    args = parser.parse_args()
    if args.smoke:  # the smoke size replaces the default; a flag given still wins
        parser.set_defaults(uploads=3)
        args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data_dir:
        config = StackConfig.on_free_ports(Path(data_dir))
        release = CLASSIFIER.release_in(args.classifier).resolve()
        config.function_env[BY_FIELD[CLASSIFIER.setting].env] = str(release)
        stack = Stack(config)
        started = time.perf_counter()
        stack.start()
        startup = time.perf_counter() - started
        bucket = storage_client(config).bucket(config.uploads_bucket)
        documents = firestore_client(config)
        buffer = io.BytesIO()
        Image.new("RGB", (640, 480), (240, 200, 60)).save(buffer, format="JPEG")
        photo = buffer.getvalue()

        latencies = []
        for number in range(args.uploads):
            blob = bucket.blob(f"bench-vendor/SKU-{number:03d}.jpg")
            blob.upload_from_string(photo, content_type="image/jpeg")
            uploaded = time.perf_counter()
            reference = documents.collection("uploads").document(
                upload_id(bucket.name, blob.name, str(blob.generation))
            )
            if not wait_until(lambda ref=reference: ref.get().exists, timeout=30, interval=0.005):
                raise SystemExit(f"no ledger entry for {blob.name} within 30 s")
            latencies.append(time.perf_counter() - uploaded)
        documents.close()

        stopping = time.perf_counter()
        stack.stop()
        shutdown = time.perf_counter() - stopping

    latencies.sort()
    print(f"stack start-up (all {len(stack.parts)} parts healthy): {startup:.2f} s")
    for part in stack.parts:
        print(f"  {part.name:<10} ready after {part.ready_seconds:.2f} s")
    print(
        f"upload → ledger document, {len(latencies)} uploads: "
        f"median {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {latencies[round(0.95 * (len(latencies) - 1))] * 1000:.0f} ms, "
        f"min {latencies[0] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
    )
    print(f"stack shut-down: {shutdown:.2f} s")


if __name__ == "__main__":
    main()
