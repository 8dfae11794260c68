"""Re-scoring the catalogue with new releases, on Apache Beam (`catalogist rescore` runs it).

    batch/.venv/bin/python -m catalogist_batch.rescore_job --project=P \\
        --classifier_release=gs://… --textcat_release=gs://… --price_release=gs://… \\
        [--vendor=V …] [--category=Fruit/Apple] [Beam options: --runner, --direct_num_workers, …]

    vendors ─► Read the products ─► Fan out ─► Score (RunInference) ─► Pages ─► Write ─► Add up ─► Report
               (id order, pages;    (Reshuffle)  (the releases once      (≤400)   (fenced by
                what each needs)                  per worker, batched)              revision)

Each product is brought to the run's releases as the function would decide it today
(`catalogist_batch.rescore`): photos classified again at their pinned generations, rows
categorized and priced again from their stored text; human decisions untouched; the review
queue follows. Products already on the releases are read and counted, not scored, so a second
run writes nothing and a run that stopped part way is resumed by running it again. The report
(`rescores/{run_id}`) says what moved, per vendor and per decided level, and is printed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.ml.inference.base import RunInference
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from catalogist.documents import products
from catalogist.documents.rescores import COLLECTION as RESCORES
from catalogist.documents.rescores import ProductOutcome, RescoreReport, Tally
from catalogist.errors import ModelError
from catalogist.models.kinds import KINDS, MANIFEST
from catalogist.models.releases import Release, fetch_release
from catalogist.ports import Write
from catalogist.settings import Settings
from catalogist_batch.handlers import ReleasesHandler
from catalogist_batch.job import Worker, failure, job_settings, now, retried, run_pipeline
from catalogist_batch.rescore import Rewrite, Versions, Work, in_category, plan

log = logging.getLogger("catalogist.batch.rescore")

LEFT_AS_THEY_WERE = "left"
PAGE = 400  # products written in one read-modify-write (Firestore allows 500)


class RescoreOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser: Any) -> None:
        parser.add_argument("--run_id", default="", help="the report's id (default: the time and what the run is)")
        parser.add_argument("--vendor", action="append", default=[], help="re-score this vendor's products only")
        parser.add_argument("--category", default="", help="re-score products filed under this path only")


@dataclass(frozen=True)
class Spec:
    settings: Settings
    versions: Versions
    run_id: str
    vendors: tuple[str, ...]
    category: str
    started_at: datetime
    runner: str

    def worker(self) -> Worker:
        return Worker(self.settings)

    def filters(self) -> dict[str, Any]:
        return {"vendors": list(self.vendors), "category": self.category}


class ReadProducts(beam.DoFn):
    """One vendor's products (or all), page by page in id order, each with the work it needs; those
    that need none go straight to the report (`LEFT_AS_THEY_WERE`)."""

    def __init__(self, spec: Spec) -> None:
        self._spec = spec

    def setup(self) -> None:
        self._worker = self._spec.worker()
        self._worker.start()

    def process(self, vendor: str) -> Iterator[Any]:
        spec = self._spec
        filters: list[tuple[str, str, Any]] = [(products.VENDOR, "==", vendor)] if vendor else []
        if spec.category:
            filters.append((products.TOP_CATEGORY, "==", spec.category.split("/")[0]))
        for product_id, product in self._worker.documents.scan(products.COLLECTION, filters, page=PAGE):
            if not in_category(product, spec.category):
                continue
            work = plan(product_id, product, spec.versions)
            if isinstance(work, Work):
                yield work
            else:
                yield beam.pvalue.TaggedOutput(LEFT_AS_THEY_WERE, ProductOutcome(str(product.get("vendor", "")), work))


class WriteRescored(beam.DoFn):
    """A page of re-scored products written with `products.update` (each product only if nobody
    wrote it since it was read, else decided on again as it is now); each product's outcome."""

    def __init__(self, spec: Spec) -> None:
        self._spec = spec

    def setup(self) -> None:
        self._worker = self._spec.worker()
        self._worker.start()

    def process(self, works: list[Work]) -> Iterator[ProductOutcome]:
        spec, worker = self._spec, self._worker
        rewrite = Rewrite(works, now())
        ids = [work.product_id for work in works]
        known = {work.product_id: work.product for work in works}

        def write() -> dict[str, dict[str, Any]]:
            by = f"rescore {spec.run_id}"
            return products.update(worker.documents, ids, rewrite, by, now(), worker.settings.audit_rate, known)

        def failed(attempt: int, error: Exception) -> None:
            log.warning("a page failed to write; trying again", extra={"try": attempt, "error": failure(error)})

        written = retried(worker.settings.max_attempts, write, failed)
        for product_id in ids:
            yield rewrite.outcome(product_id, written.get(product_id))


class AddTallies(beam.CombineFn):
    def create_accumulator(self) -> Tally:
        return Tally()

    def add_input(self, tally: Tally, outcome: ProductOutcome) -> Tally:
        return tally.add(outcome.tally())

    def merge_accumulators(self, tallies: Any) -> Tally:
        total = Tally()
        for tally in tallies:
            total = total.add(tally)
        return total

    def extract_output(self, tally: Tally) -> Tally:
        return tally


class StoreReport(beam.DoFn):
    def __init__(self, spec: Spec) -> None:
        self._spec = spec

    def setup(self) -> None:
        self._worker = self._spec.worker()
        self._worker.start()

    def process(self, tally: Tally) -> None:
        spec = self._spec
        kinds = tuple(kind.name for kind in KINDS)
        versions = spec.versions.as_dict()
        finished = now()
        report = RescoreReport(
            spec.run_id, versions, kinds, spec.filters(), tally, spec.started_at, finished, spec.runner
        )
        self._worker.documents.commit([Write(RESCORES, spec.run_id, report.to_fields(), merge=False)])
        log.info("catalogue re-scored", extra={"run_id": spec.run_id, **report.to_fields()["counts"]})


def build(pipeline: beam.Pipeline, spec: Spec) -> None:
    read = (
        pipeline
        | "Vendors" >> beam.Create(list(spec.vendors) or [""])
        | "Read the products" >> beam.ParDo(ReadProducts(spec)).with_outputs(LEFT_AS_THEY_WERE, main="work")
    )
    rescored = (
        read.work
        | "Fan out" >> beam.Reshuffle()
        | "Score" >> RunInference(ReleasesHandler(spec.settings))
        | "Pages" >> beam.BatchElements(min_batch_size=50, max_batch_size=PAGE)
        | "Write" >> beam.ParDo(WriteRescored(spec))
    )
    _ = (
        (read[LEFT_AS_THEY_WERE], rescored)
        | "Every product" >> beam.Flatten()
        | "Add up" >> beam.CombineGlobally(AddTallies())
        | "Store the report" >> beam.ParDo(StoreReport(spec))
    )


def release_versions(settings: Settings, worker: Worker) -> Versions:
    """The versions of the run's releases, from their manifests (fetched alone, not the models)."""
    cache = Path(settings.model_cache_dir) / "manifests"
    versions = {}
    for kind in KINDS:
        location = getattr(settings, kind.setting)
        folder = fetch_release(location, worker.blobs, cache / kind.name, only=(MANIFEST,))
        try:
            versions[kind.name] = Release.open(folder, kind.manifest_kind, only=(MANIFEST,)).version
        except ModelError:
            raise ModelError(f"no {kind.name} release at {location} (--{kind.name}-release names one)") from None
    return Versions(**versions)


def run_id(started: datetime, versions: Versions, vendors: tuple[str, ...], category: str) -> str:
    what = json.dumps([versions.as_dict(), sorted(vendors), category], sort_keys=True)
    return f"{started:%Y%m%d-%H%M%S}-{hashlib.sha256(what.encode()).hexdigest()[:8]}"


def main(argv: list[str] | None = None) -> int:
    options = PipelineOptions(sys.argv[1:] if argv is None else argv)
    given = options.view_as(RescoreOptions)
    settings = job_settings(options)
    worker = Worker(settings)
    worker.start()
    try:
        versions = release_versions(settings, worker)
    except ModelError as error:
        print(f"catalogist rescore: {error}", file=sys.stderr)
        return 2
    started = now()
    vendors = tuple(dict.fromkeys(given.vendor))
    runner = str(options.view_as(StandardOptions).runner or "DirectRunner")
    spec = Spec(
        settings,
        versions,
        given.run_id or run_id(started, versions, vendors, given.category),
        vendors,
        given.category.strip("/"),
        started,
        runner,
    )
    log.info("re-scoring the catalogue", extra={"run_id": spec.run_id, **versions.as_dict(), **spec.filters()})
    run_pipeline(options, lambda pipeline: build(pipeline, spec))
    stored = worker.documents.get(RESCORES, spec.run_id)
    if stored is None:
        print(f"rescores/{spec.run_id}: no report was stored", file=sys.stderr)
        return 1
    print("\n".join(RescoreReport.from_fields(stored).lines()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
