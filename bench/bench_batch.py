"""The batch pipelines on this machine (issue #26), measured side by side in one run.

    .venv/bin/python bench/bench_batch.py [--rows 100000] [--photos 10000] [--big-rows 1000000]
    .venv/bin/python bench/bench_batch.py --smoke      # the same steps at a few hundred items

1. Re-scoring with Beam's local runner (`catalogist_batch.rescore_job`, one process, the batch
   environment) against the Firestore and Storage emulators: `--rows` row products (imported
   first with the function's own import) and `--photos` photo products (real Grocery Store photos
   in the Storage emulator, their products written as an older release left them), each
   re-scored with a newer release (the reference models with other thresholds: every product
   needs it): products per second and the job's peak memory.
2. A `--big-rows` CSV imported through the import job (`catalogist_batch.import_job` on the
   local runner, as the local stack runs it) and through the function's own import
   (`catalogist import`, what on_upload runs today), one after the other on the same emulator:
   seconds, rows per second, peak memory of each. The in-memory emulator cannot hold a million
   product documents, so it drops the products written so far every FORGET_EVERY seconds (as
   bench/bench_import.py does); both imports meet every SKU as new anyway.

Peak memory is the process's own high-water mark (wait4's ru_maxrss). On Dataflow the same work
spreads over workers: docs/batch.md turns these per-item costs into workers, time and cost.
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
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from bench_import import catalogue_rows  # noqa: E402
from bench_parse import HEADER  # noqa: E402

BATCH_PYTHON = REPO / "batch" / ".venv" / "bin" / "python"
GROCERY = REPO.parent / "shared" / "datasets" / "grocerystore"
MODELS = REPO / "models"
FORGET_EVERY = 30.0
PROJECT = "bench"
OLD = "20200101-000000"


@dataclass(frozen=True)
class Emulators:
    firestore: str
    admin: str
    storage: str

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "GOOGLE_CLOUD_PROJECT": PROJECT,
            "FIRESTORE_EMULATOR_HOST": self.firestore,
            "STORAGE_EMULATOR_HOST": self.storage,
        }

    def forget_products(self) -> int:
        request = urllib.request.Request(f"http://{self.admin}/forget/products", method="POST")
        with urllib.request.urlopen(request) as answer:  # noqa: S310 (http on loopback)
            return int(answer.read())


class Running:
    """The Storage and Firestore emulators alone (no function, no bridge: nothing reacts to the
    objects this bench writes)."""

    def __init__(self, folder: Path) -> None:
        from catalogist_infra.processes import ProcessSpec
        from catalogist_infra.stack import free_ports

        port, admin, storage = free_ports(3)
        launcher = REPO / "infra" / "firestore-emulator" / "launcher.cjs"
        bin_dir = Path(sys.executable).parent
        self.specs = [
            ProcessSpec(
                "firestore",
                ["node", str(launcher), "--port", str(port), "--admin-port", str(admin)],
                f"http://127.0.0.1:{admin}/health",
                folder / "firestore.log",
                {**os.environ, "NODE_OPTIONS": "--max-old-space-size=16384"},
                launcher.parent,
            ),
            ProcessSpec(
                "storage",
                [str(bin_dir / "gcp-storage-emulator"), "start", "--port", str(storage), "--quiet"],
                f"http://127.0.0.1:{storage}/",
                folder / "storage.log",
                {**os.environ, "STORAGE_BASE": str(folder / "storage")},
                folder,
            ),
        ]
        self.emulators = Emulators(f"127.0.0.1:{port}", f"127.0.0.1:{admin}", f"http://127.0.0.1:{storage}")
        self.processes: list[Any] = []

    def __enter__(self) -> Emulators:
        from catalogist_infra.processes import start, wait_healthy

        for spec in self.specs:
            self.processes.append(start(spec))
        for spec, process in zip(self.specs, self.processes, strict=True):
            wait_healthy(spec, process, 60)
        return self.emulators

    def __exit__(self, *exc_info: object) -> None:
        from catalogist_infra.processes import stop_group

        for process in self.processes:
            stop_group(process.pid)
            process.wait(5)


def clients(emulators: Emulators) -> tuple[Any, Any]:
    """The store (the function's adapter for the emulator) and a Storage client."""
    os.environ.update({k: v for k, v in emulators.env().items() if k.endswith("_HOST")})
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage  # type: ignore[attr-defined]

    from catalogist.adapters.firestore import EmulatorDocuments

    blobs = storage.Client(
        project=PROJECT, credentials=AnonymousCredentials(), client_options={"api_endpoint": emulators.storage}
    )
    return EmulatorDocuments(PROJECT), blobs


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_mb: float
    output: str


def measured(command: list[str], env: dict[str, str], while_running: Callable[[], None] | None = None) -> Measured:
    """Run a process to its end: seconds, its own peak memory, its output."""
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.5)
            if while_running:
                while_running()
        elapsed = time.perf_counter() - started
        output.seek(0)
        text = output.read().decode(errors="replace")
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{' '.join(command[:3])} failed ({process.returncode}):\n{text[-3000:]}")
    return Measured(elapsed, usage.ru_maxrss / 1024, text)


def derived_releases(folder: Path) -> dict[str, Path]:
    """Releases newer than the reference ones (same models, other thresholds), so every product
    the reference releases decided needs re-scoring; the price release is the reference one."""
    from catalogist_infra.release import derive

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    classifier = derive(MODELS / "classifier", folder / "classifier", {"fine": 0.7}, stamp).folder
    textcat = derive(MODELS / "textcat", folder / "textcat", {"type": 0.9}, stamp).folder
    return {"classifier": classifier, "textcat": textcat, "price": MODELS / "price"}


def seed_rows(emulators: Emulators, rows: int) -> float:
    """`rows` row products, imported with the function's own import (the reference releases)."""
    from catalogist.imports.pipeline import FileSource, ImportContext, import_file
    from catalogist.models.kinds import PRICE, TEXTCAT
    from catalogist.models.releases import Lazy
    from catalogist.wiring import RowModelsOnce

    documents, _ = clients(emulators)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADER)
    writer.writerows(catalogue_rows(rows))
    models = RowModelsOnce(Lazy(lambda: TEXTCAT.open(MODELS / "textcat")), Lazy(lambda: PRICE.open(MODELS / "price")))
    source = FileSource("bench", "rows.csv", "1", "rows")
    started = time.perf_counter()
    import_file(io.BytesIO(text.getvalue().encode()), source, ImportContext(documents, models))
    return time.perf_counter() - started


def seed_photos(emulators: Emulators, count: int) -> int:
    """`count` photo products: Grocery Store photos (repeated when fewer) in the Storage emulator,
    each product as an older release left it (its scores and decision by `OLD`)."""
    from catalogist.documents import products
    from catalogist.ports import Write

    documents, storage = clients(emulators)
    bucket = storage.create_bucket("bench-uploads")
    # as many distinct photos as the dataset has, up to 2,000 (the rest repeat them)
    photos = sorted(GROCERY.glob("train/**/*.jpg"))[:2000] or [REPO / "infra" / "samples" / "banana.jpg"]
    uploaded = []
    for photo in photos[:count]:
        blob = bucket.blob(f"photos/{photo.parent.name}-{photo.name}")
        blob.upload_from_filename(str(photo), content_type="image/jpeg")
        uploaded.append(blob)
    leaves = 81
    writes = []
    for number in range(count):
        blob = uploaded[number % len(uploaded)]
        key = f"P{number:06d}_jpg"
        old = {
            "object": {"bucket": bucket.name, "name": blob.name, "generation": str(blob.generation)},
            "image": {},
            "probabilities": [1.0 / leaves] * leaves,
            "model_version": OLD,
        }
        decision = {"path": ["Fruit"], "path_text": "Fruit", "decided_level": "top", "confidence": {"top": 0.5}}
        decision.update(alternatives=[], needs_review=True, review_reason="old", model_version=OLD, photos_used=1)
        product = {"vendor": "photos", "sku": f"P{number:06d}", "photos": {key: old}, "image_category": decision}
        writes.append(
            Write(products.COLLECTION, f"photos:P{number:06d}", {**product, **products.summary_fields(product)})
        )
        if len(writes) == 400:
            documents.commit(writes)
            writes = []
    if writes:
        documents.commit(writes)
    return len(uploaded)


def rescore(emulators: Emulators, releases: dict[str, Path], vendor: str, cache: Path) -> Measured:
    command = [str(BATCH_PYTHON), "-m", "catalogist_batch.rescore_job", f"--project={PROJECT}", f"--vendor={vendor}"]
    command += [f"--{kind}_release={folder}" for kind, folder in releases.items()]
    command += [
        f"--firestore_emulator_host={emulators.firestore}",
        f"--model_cache_dir={cache}",
        "--runner=DirectRunner",
    ]
    return measured(command, emulators.env())


def rescoring(args: argparse.Namespace) -> None:
    print(f"re-scoring with the local runner: {args.rows:,} row products, {args.photos:,} photo products")
    with tempfile.TemporaryDirectory() as folder, Running(Path(folder)) as emulators:
        releases = derived_releases(Path(folder) / "releases")
        seeded = seed_rows(emulators, args.rows)
        rate = args.rows / seeded
        print(f"  seeded {args.rows:,} row products with the function's import in {seeded:.0f} s ({rate:,.0f} rows/s)")
        distinct = seed_photos(emulators, args.photos)
        print(f"  seeded {args.photos:,} photo products ({distinct:,} distinct photos in the Storage emulator)")
        print(f"  {'':<7} {'per second':>20} {'seconds':>9} {'peak RSS':>10}   after start-up and reading")
        for vendor, count, unit in (("rows", args.rows, "rows/s"), ("photos", args.photos, "photos/s")):
            run = rescore(emulators, releases, vendor, Path(folder) / "cache")
            # the same run with nothing left to do: start-up, loading the releases, reading the products
            again = rescore(emulators, releases, vendor, Path(folder) / "cache")
            scoring = max(run.seconds - again.seconds, 1e-3)
            print(
                f"  {vendor:<7} {count / run.seconds:11,.0f} {unit:<8} {run.seconds:9.1f} {run.peak_mb:7,.0f} MB"
                f"   {count / scoring:,.0f} {unit} (a second run, with nothing to do, took {again.seconds:.1f} s)"
            )
            report = next((line for line in run.output.splitlines() if line.strip().startswith("re-scored")), "")
            print(f"          {report.strip()}")


def big_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER)
        chunk = catalogue_rows(min(rows, 100_000))
        for first in range(0, rows, len(chunk)):
            for i, row in enumerate(chunk[: rows - first]):
                writer.writerow([f"BB-{first + i:08d}", *row[1:]])


def forgetting(emulators: Emulators) -> Callable[[], None]:
    last = [time.perf_counter()]

    def tick() -> None:
        if time.perf_counter() - last[0] >= FORGET_EVERY:
            emulators.forget_products()
            last[0] = time.perf_counter()

    return tick


def through_the_job(emulators: Emulators, path: Path, folder: Path) -> Measured:
    """The file as an upload on_upload handed to a job, the job run as the local stack runs it."""
    from catalogist.intake import handoff, ledger
    from catalogist.intake.events import StorageEvent, StorageObject
    from catalogist.ports import LaunchedJob
    from catalogist.vendorfiles.formats import Kind, Verdict

    documents, storage = clients(emulators)
    bucket = storage.lookup_bucket("bench-files") or storage.create_bucket("bench-files")
    blob = bucket.blob("big/prices.csv")
    blob.upload_from_filename(str(path), content_type="text/csv")
    obj = StorageObject(bucket.name, blob.name, str(blob.generation), path.stat().st_size, "text/csv")
    now = datetime.now(UTC)
    upload = ledger.upload_id(obj.bucket, obj.name, obj.generation)
    name = handoff.job_name(upload)
    entry = ledger.ledger_entry(StorageEvent("bench", now, obj), Verdict(Kind.VENDOR_FILE, "csv", ""), now)
    documents.create(ledger.COLLECTION, upload, {**entry, "status": "importing", "attempts": 1})
    documents.update(ledger.COLLECTION, upload, handoff.launched_fields(LaunchedJob(name, "bench", "local"), now))
    command = [str(BATCH_PYTHON), "-m", "catalogist_batch.import_job", f"--job_name={name}", f"--upload_id={upload}"]
    command += [f"--project={PROJECT}", "--file_format=csv", f"--firestore_emulator_host={emulators.firestore}"]
    command += [f"--{kind}_release={MODELS / kind}" for kind in ("classifier", "textcat", "price")]
    command += [f"--model_cache_dir={folder / 'cache'}", "--runner=DirectRunner"]
    run = measured(command, emulators.env(), forgetting(emulators))
    ended = documents.get(ledger.COLLECTION, upload) or {}
    if ended.get("status") != "done":
        raise SystemExit(f"the import job ended {ended.get('status')}: {ended.get('reason')}\n{run.output[-3000:]}")
    return run


def through_the_function(emulators: Emulators, path: Path) -> Measured:
    command = [str(Path(sys.executable).parent / "catalogist"), "import", str(path), "--vendor", "function"]
    env = {
        **emulators.env(),
        "CATALOGIST_TEXTCAT_RELEASE": str(MODELS / "textcat"),
        "CATALOGIST_PRICE_RELEASE": str(MODELS / "price"),
    }
    return measured(command, env, forgetting(emulators))


def big_file(args: argparse.Namespace) -> None:
    print(f"a {args.big_rows:,}-row price list: the import job (local runner) beside the function's import")
    with tempfile.TemporaryDirectory() as folder, Running(Path(folder)) as emulators:
        path = Path(folder) / "big.csv"
        big_csv(path, args.big_rows)
        size = path.stat().st_size / 1e6
        for label, run in (
            ("import job, local runner", lambda: through_the_job(emulators, path, Path(folder))),
            ("function (catalogist import)", lambda: through_the_function(emulators, path)),
        ):
            done = run()
            print(
                f"  {label:<30} {done.seconds:7.0f} s {args.big_rows / done.seconds:9,.0f} rows/s"
                f"   peak RSS {done.peak_mb:6,.0f} MB   ({size:.0f} MB CSV)",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--photos", type=int, default=10_000)
    parser.add_argument("--big-rows", type=int, default=1_000_000)
    parser.add_argument("--skip", nargs="*", default=[], choices=["rescore", "big"])
    parser.add_argument("--smoke", action="store_true", help="every step at a few hundred items (a test runs it)")
    args = parser.parse_args()
    if args.smoke:
        args.rows, args.photos, args.big_rows = 300, 20, 2_000
    if not BATCH_PYTHON.exists():
        raise SystemExit(f"no batch environment at {BATCH_PYTHON}: run `make batch`")
    if "rescore" not in args.skip:
        rescoring(args)
    if "big" not in args.skip:
        big_file(args)


if __name__ == "__main__":
    main()
