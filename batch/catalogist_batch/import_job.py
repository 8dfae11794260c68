"""The import job: one big vendor file imported by the function's own import, on Apache Beam.

    batch/.venv/bin/python -m catalogist_batch.import_job --job_name=NAME --upload_id=ID \\
        --project=P --textcat_release=gs://… --price_release=gs://… [the other settings] [Beam options]

`on_upload` launches it for a file above `CATALOGIST_BIG_FILE_BYTES` (`catalogist.imports.jobs`):
a Dataflow Flex Template whose image is batch/Dockerfile in GCP, this module as a process on
Beam's local runner beside the local stack. Its parameters are the function's settings
(`settings.job_parameters`) and the upload.

    upload ─► Read the file ─► pages of 400 rows ─► Fan out ─► Categorize, price and write ─► Add up ─► End
              (one reader:                          (Reshuffle)  (workers; the row models     (the counts)  (report,
               formats are not splittable)                        loaded once per worker)                  ledger)

The job takes the upload over on the ledger (`intake.handoff`), reads the file once, streaming,
with the function's readers (`Import.open`, `Import.read_pages`), and hands its pages to workers
that write them as the function does (`Import.write_pages`: the newest upload and the later row of
a SKU win, whatever order pages land in). The counts added up end the import report and the
upload (`Import.finish`, `handoff.end`). A newer generation of the file stops it at the next page
(`superseded`); a transient failure is tried again, page by page or from the file's start,
within the upload's attempts, and ends the upload `failed` after them; a bad file ends it
`rejected`, as in the function.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

import apache_beam as beam
from apache_beam.options.pipeline_options import GoogleCloudOptions, PipelineOptions, WorkerOptions
from apache_beam.utils.shared import Shared

from catalogist.documents.imports import COLLECTION as IMPORTS
from catalogist.errors import PermanentError, Superseded
from catalogist.imports.jobs import FILE_FORMAT, UPLOAD_ID
from catalogist.imports.pipeline import Counts, FileFacts, FileSource, Import, ImportContext, SizedStream
from catalogist.intake import handoff, ledger
from catalogist.settings import Settings
from catalogist.vendorfiles import ProductRow
from catalogist_batch.handlers import Releases
from catalogist_batch.job import Every, Worker, failure, job_settings, now, retried, run_pipeline

log = logging.getLogger("catalogist.batch.import")

FACTS = "facts"
CHECK_SECONDS = 5.0  # how often a worker looks for a newer generation and shows its progress


class ImportOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser: Any) -> None:
        parser.add_argument(f"--{UPLOAD_ID}", required=True, help="the upload (its ledger entry) to import")
        parser.add_argument(f"--{FILE_FORMAT}", default="", help="the format the ledger decided")


@dataclass(frozen=True)
class Spec:
    settings: Settings
    upload_id: str
    job: str
    file_format: str

    def worker(self) -> Worker:
        return Worker(self.settings)


@dataclass(frozen=True)
class ReadDone:
    """What the reader hands the end of the job: the upload it took, what the file was, and the
    counts of reading it (rows seen, rejected, the first problems, the parse time)."""

    taken: handoff.TakenUpload
    facts: FileFacts
    counts: Counts
    started: float


def source_of(entry: dict[str, Any]) -> FileSource:
    return FileSource(
        str(entry["bucket"]),
        str(entry["name"]),
        str(entry["generation"]),
        str(entry["vendor"]),
        str(entry.get("content_type") or ""),
    )


class ReadFile(beam.DoFn):
    """The one reader of the file: takes the upload over, emits its pages numbered, and at the end
    what the file was (`FACTS`). A transient failure reads the file again from the start within
    the upload's attempts, emitting only the pages not emitted yet (parsing is deterministic)."""

    def __init__(self, spec: Spec) -> None:
        self._spec = spec

    def setup(self) -> None:
        self._worker = self._spec.worker()
        self._worker.start()

    def process(self, upload_id: str) -> Iterator[Any]:
        spec, worker = self._spec, self._worker
        documents, settings = worker.documents, worker.settings
        emitted = 0
        while True:
            taken = handoff.take_over(documents, upload_id, spec.job, now, worker.lease, settings.max_attempts)
            if taken is None:
                return
            started = time.perf_counter()
            source = source_of(dict(taken.entry))
            context = ImportContext(documents, Releases(settings), now(), settings.audit_rate, spec.job)
            entry = taken.entry
            current = functools.partial(handoff.still_current, documents, entry)
            the_import = Import(source, context, still_current=current)
            try:
                with ledger.KeptLease(documents, taken.upload_id, taken.attempt, worker.lease):
                    stream = SizedStream(
                        worker.blobs.open_stream(source.bucket, source.name, source.generation), int(entry["size"])
                    )
                    with stream:
                        parsed = the_import.open(cast(BinaryIO, stream), spec.file_format)
                        for number, page in enumerate(the_import.read_pages(parsed)):
                            if number >= emitted:  # pages emitted before a failed attempt are not sent again
                                yield number, page
                                emitted += 1
                        stream.check_complete()
            except PermanentError as error:
                handoff.end(documents, taken, ledger.Status.REJECTED, error.reason)
                return
            except Superseded as superseded:
                the_import.stop(str(superseded))
                handoff.end(documents, taken, ledger.Status.SUPERSEDED, str(superseded))
                return
            except Exception as error:
                reason = failure(error)
                if taken.attempt >= settings.max_attempts:
                    reason = f"gave up after {taken.attempt} attempts; the last failed with {reason}"
                    handoff.end(documents, taken, ledger.Status.FAILED, reason)
                    return
                fail_attempt(documents, taken, reason)
                time.sleep(min(30.0, 2.0**taken.attempt))
                continue
            yield beam.pvalue.TaggedOutput(FACTS, ReadDone(taken, FileFacts.of(parsed), the_import.counts, started))
            return


def owned_by(entry: dict[str, Any], job: str) -> bool:
    """Whether the upload is still being imported by `job` (not ended, not another job's)."""
    return entry.get("status") == ledger.Status.IMPORTING and (entry.get(handoff.JOB) or {}).get("name") == job


def fail_attempt(documents: Any, taken: handoff.TakenUpload, reason: str) -> None:
    finished = now()
    ledger.end_attempt(documents, taken.upload_id, taken.attempt, finished, reason)
    documents.update(ledger.COLLECTION, taken.upload_id, {"last_error": reason, "updated_at": finished})
    log.warning("import job attempt failed; trying again", extra={"upload_id": taken.upload_id, "error": reason})


class WritePages(beam.DoFn):
    """Categorizes, prices and writes pages on a worker, the row models loaded once per worker
    process; yields each page's counts. Stops writing once the upload is no longer this job's
    (superseded by a newer generation, or failed)."""

    def __init__(self, spec: Spec, shared: Shared) -> None:
        self._spec, self._shared = spec, shared

    def setup(self) -> None:
        spec = self._spec
        self._worker = spec.worker()
        self._worker.start()
        self._releases = self._shared.acquire(lambda: Releases(spec.settings), tag=f"releases-{spec.job}")
        documents = self._worker.documents
        self._entry = documents.get(ledger.COLLECTION, spec.upload_id) or {}
        self._ours = Every(CHECK_SECONDS, self._still_ours)
        self._current = Every(CHECK_SECONDS, lambda: handoff.still_current(documents, self._entry))
        self._shown = Counts()
        self._progress = Every(CHECK_SECONDS, self._add_progress)

    def _still_ours(self) -> bool:
        entry = self._worker.documents.get(ledger.COLLECTION, self._spec.upload_id) or {}
        job = entry.get(handoff.JOB) or {}
        ours = owned_by(entry, self._spec.job)
        if ours and job.get("attempt"):
            self._taken = handoff.TakenUpload(self._spec.upload_id, entry, int(job["attempt"]), self._spec.job, now())
            handoff.renew(self._worker.documents, self._taken, now() + self._worker.lease)
        return ours

    def process(self, page: tuple[int, list[ProductRow]]) -> Iterator[Counts]:
        number, rows = page
        if not self._ours():
            return
        spec, worker = self._spec, self._worker
        source = source_of(self._entry)
        context = ImportContext(worker.documents, self._releases, now(), worker.settings.audit_rate, spec.job)

        def write() -> Counts:
            the_import = Import(source, context, still_current=self._current)
            the_import.write_pages([rows])
            return the_import.counts

        def failed(attempt: int, error: Exception) -> None:
            log.warning(
                "a page failed to write; trying again",
                extra={"upload_id": spec.upload_id, "page": number, "try": attempt, "error": failure(error)},
            )

        try:
            counts = retried(worker.settings.max_attempts, write, failed)
        except Superseded as superseded:
            self._end(ledger.Status.SUPERSEDED, str(superseded))
            return
        except Exception as error:
            tries = worker.settings.max_attempts
            reason = f"page {number + 1} of the file failed {tries} times; the last: {failure(error)}"
            self._end(ledger.Status.FAILED, reason)
            return
        self._show(counts)
        yield counts

    def _show(self, counts: Counts) -> None:
        self._shown = self._shown.add(counts)
        self._progress()

    def finish_bundle(self) -> None:
        self._progress(force=True)

    def _add_progress(self) -> None:
        """The import's progress while the job runs: each worker adds what it wrote since it last
        did (a read-modify-write the store keeps safe against the other workers' at the same time),
        and the ledger shows the total."""
        shown, self._shown = self._shown, Counts()
        if not (shown.written or shown.unchanged):
            return

        def add(_: str, stored: dict[str, Any] | None) -> dict[str, Any] | None:
            if stored is None or stored.get("status") != "running":
                return None
            return {
                "written": int(stored.get("written") or 0) + shown.written,
                "unchanged": int(stored.get("unchanged") or 0) + shown.unchanged,
            }

        progress = self._worker.documents.modify(IMPORTS, [self._spec.upload_id], add)
        written = progress.get(self._spec.upload_id, {}).get("written")
        if written is not None:
            self._worker.documents.update(ledger.COLLECTION, self._spec.upload_id, {"rows_written": written})

    def _end(self, status: ledger.Status, reason: str) -> None:
        """The upload ends here (once: the other workers find it no longer this job's)."""
        entry = self._worker.documents.get(ledger.COLLECTION, self._spec.upload_id) or {}
        job = entry.get(handoff.JOB) or {}
        if not owned_by(entry, self._spec.job):
            return
        taken = handoff.TakenUpload(self._spec.upload_id, entry, int(job.get("attempt") or 0), self._spec.job, now())
        if status is ledger.Status.SUPERSEDED:
            Import(source_of(entry), ImportContext(self._worker.documents, self._releases)).stop(reason)
        handoff.end(self._worker.documents, taken, status, reason)


class AddCounts(beam.CombineFn):
    def create_accumulator(self) -> Counts:
        return Counts()

    def add_input(self, accumulator: Counts, counts: Counts) -> Counts:
        return accumulator.add(counts)

    def merge_accumulators(self, accumulators: Any) -> Counts:
        total = Counts()
        for counts in accumulators:
            total = total.add(counts)
        return total

    def extract_output(self, accumulator: Counts) -> Counts:
        return accumulator


class EndImport(beam.DoFn):
    """The import's report from the reader's counts and the workers', and the upload `done`,
    unless it ended otherwise meanwhile (superseded, failed)."""

    def __init__(self, spec: Spec) -> None:
        self._spec = spec

    def setup(self) -> None:
        self._worker = self._spec.worker()
        self._worker.start()

    def process(self, read: ReadDone, written: Counts) -> None:
        documents = self._worker.documents
        entry = documents.get(ledger.COLLECTION, self._spec.upload_id) or {}
        if not owned_by(entry, self._spec.job):
            return
        source = source_of(entry)
        context = ImportContext(documents, Releases(self._worker.settings), read.taken.started_at, job=self._spec.job)
        total = read.counts.add(written)  # rows seen and rejected by the reader, the rest by the workers
        summary = Import(source, context).finish(read.facts, total, time.perf_counter() - read.started)
        result = {
            "import_id": source.import_id,
            "rows_seen": summary["rows_seen"],
            "rows_written": summary["written"],
            "rows_rejected": summary["rejected"],
        }
        handoff.end(documents, read.taken, ledger.Status.DONE, "", result)


def run_on_this_image(options: PipelineOptions) -> None:
    """On Dataflow, the workers run the image the template launcher runs (batch/Dockerfile records
    its own name at build time, `CATALOGIST_WORKER_IMAGE`): they need the same packages, and the
    Beam SDK's own image has none of ours."""
    worker = options.view_as(WorkerOptions)
    image = os.environ.get("CATALOGIST_WORKER_IMAGE", "")  # the container's, not a setting
    if image and not worker.sdk_container_image:
        worker.sdk_container_image = image


def build(pipeline: beam.Pipeline, spec: Spec) -> None:
    read = (
        pipeline
        | "The upload" >> beam.Create([spec.upload_id])
        | "Read the file" >> beam.ParDo(ReadFile(spec)).with_outputs(FACTS, main="pages")
    )
    written = (
        read.pages
        | "Fan out" >> beam.Reshuffle()
        | "Categorize, price and write" >> beam.ParDo(WritePages(spec, Shared()))
        | "Add up" >> beam.CombineGlobally(AddCounts())
    )
    _ = read[FACTS] | "End the import" >> beam.ParDo(EndImport(spec), beam.pvalue.AsSingleton(written))


def main(argv: list[str] | None = None) -> int:
    options = PipelineOptions(sys.argv[1:] if argv is None else argv)
    run_on_this_image(options)
    given = options.view_as(ImportOptions)
    job = options.view_as(GoogleCloudOptions).job_name or handoff.job_name(given.upload_id)
    spec = Spec(job_settings(options), given.upload_id, job, given.file_format)
    spec.worker().start()
    log.info("import job starting", extra={"upload_id": spec.upload_id, "job": job})
    run_pipeline(options, lambda pipeline: build(pipeline, spec))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
