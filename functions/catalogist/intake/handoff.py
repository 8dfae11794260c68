"""An upload handed to a batch job (a big vendor file, `imports.jobs`): how the function hands it
over and how the job takes it over, keeps it and ends it on the ledger, in one place.

The delivery that holds the upload's attempt names the job on the entry (`job.name`, state
`launching`, the entry still `received`), launches it, and ends the delivery with the entry
`importing`: redeliveries of the event are answered at once and run nothing. The job name
comes from the upload, so a launch repeated after a lost answer starts no second job (Dataflow
refuses a second active job of one name; the local launcher finds the process running).

The job takes the upload over only while the entry names it: it waits while the launch is still
being recorded, then claims an attempt of its own (`ledger.claim_attempt`, counted against the
same limit as deliveries), renews that attempt's lease while it works, and ends the entry
`done`, `rejected`, `superseded` or `failed` with the same fields and log line as a delivery.
A job that died without ending it leaves an `importing` entry with no live attempt: stuck
(`is_stuck`), so `catalogist retry` and the panel's retry take it.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from catalogist.intake import ledger
from catalogist.intake.events import newest
from catalogist.ports import DocumentStore, LaunchedJob

log = logging.getLogger("catalogist.intake.uploads")  # the delivery's logger: one "<kind> <status>" line per ending

JOB = "job"  # the entry's field: name, id, runner, console, state and when
# A job that has not claimed its attempt by then is taken for lost: Dataflow starts a Flex
# Template job in minutes (a launcher VM, then workers), the local runner in seconds.
START_SECONDS = 1800.0
POLL_SECONDS = 0.5


class JobState(enum.StrEnum):
    LAUNCHING = "launching"  # named on the entry; the launch is under way
    LAUNCHED = "launched"  # the runner accepted it; not started yet
    RUNNING = "running"  # the job took the upload over
    ENDED = "ended"  # it ended the upload (the entry's status says how)


def job_name(upload_id: str) -> str:
    """One name per upload (Dataflow's job names: lower-case letters, digits and dashes)."""
    return f"catalogist-import-{upload_id[:24]}"


def name_job(documents: DocumentStore, upload_id: str, name: str, now: datetime) -> None:
    """Before the launch: the entry says which job will import it (still `received`)."""
    documents.update(ledger.COLLECTION, upload_id, {JOB: {"name": name, "state": JobState.LAUNCHING.value}})


def launched_fields(launched: LaunchedJob, now: datetime) -> dict[str, Any]:
    """The entry's `job` once the runner accepted it."""
    return {
        JOB: {
            "name": launched.name,
            "id": launched.id,
            "runner": launched.runner,
            "console": launched.console,
            "state": JobState.LAUNCHED.value,
            "launched_at": now,
        }
    }


@dataclass(frozen=True)
class TakenUpload:
    """An upload a job took over: its entry as taken, and the attempt the job holds."""

    upload_id: str
    entry: Mapping[str, Any]
    attempt: int
    job: str
    started_at: datetime

    @property
    def kind(self) -> str:
        return str(self.entry.get("kind", ""))


def take_over(
    documents: DocumentStore,
    upload_id: str,
    name: str,
    clock: Callable[[], datetime],
    lease: timedelta,
    max_attempts: int,
) -> TakenUpload | None:
    """Take the upload over for job `name`, or None (and why, in the log) when it is not this
    job's to run: another job's, already ended, superseded by a newer generation (ended so
    here), or out of attempts (ended `failed` here)."""
    context = {"upload_id": upload_id, "job": name}
    entry = _entry_once_launched(documents, upload_id, name, clock, lease)
    if entry is None:
        return None
    job = entry.get(JOB) or {}
    if entry.get("status") != ledger.Status.IMPORTING or job.get("name") != name:
        status = entry.get("status")
        log.info("the upload is not this job's to import: nothing done", extra={**context, "status": status})
        return None
    now = clock()
    claim = _claim(documents, upload_id, entry, name, clock, lease)
    if not claim.attempt:
        log.warning("another run of this job still holds the upload: nothing done", extra=context)
        return None
    taken = TakenUpload(upload_id, entry, claim.attempt, name, now)
    if claim.attempt > max_attempts:
        last = (claim.previous or {}).get("outcome") or "it stopped without a result (killed or out of memory)"
        end(documents, taken, ledger.Status.FAILED, f"gave up after {claim.attempt - 1} attempts; the last: {last}")
        return None
    newer = newest(ledger.other_versions(documents, entry).values(), str(entry["generation"]))
    if newer:
        reason = f"generation {newer} of this object was uploaded later; that version is the one processed"
        end(documents, taken, ledger.Status.SUPERSEDED, reason)
        return None
    documents.update(
        ledger.COLLECTION,
        upload_id,
        {JOB: {**job, "state": JobState.RUNNING.value, "started_at": now, "attempt": claim.attempt}, "updated_at": now},
    )
    log.info("import job took the upload over", extra={**context, "attempt": claim.attempt})
    return taken


def _entry_once_launched(
    documents: DocumentStore, upload_id: str, name: str, clock: Callable[[], datetime], lease: timedelta
) -> dict[str, Any] | None:
    """The entry, once the delivery that launched this job recorded the launch (a local job
    starts before the launching delivery ends; a delivery that died there is lost after `lease`)."""
    deadline = time.monotonic() + 2 * lease.total_seconds()
    while True:
        entry = documents.get(ledger.COLLECTION, upload_id)
        launching = (
            entry is not None
            and entry.get("status") == ledger.Status.RECEIVED
            and (entry.get(JOB) or {}).get("name") == name
        )
        if not launching or time.monotonic() >= deadline:
            if entry is None:
                log.warning("no such upload: nothing done", extra={"upload_id": upload_id, "job": name})
            return entry
        time.sleep(POLL_SECONDS)


def _claim(
    documents: DocumentStore,
    upload_id: str,
    entry: dict[str, Any],
    name: str,
    clock: Callable[[], datetime],
    lease: timedelta,
) -> ledger.Claim:
    """An attempt of the job's own. A live attempt of the same job is an earlier run of it that
    died (a retried work item): it is waited out, as a delivery's would be."""
    deadline = time.monotonic() + 2 * lease.total_seconds()
    while True:
        claim = ledger.claim_attempt(documents, upload_id, entry, name, clock(), lease)
        if claim.attempt or (claim.previous or {}).get("event_id") != name or time.monotonic() >= deadline:
            return claim
        time.sleep(POLL_SECONDS)


def renew(documents: DocumentStore, taken: TakenUpload, until: datetime) -> None:
    ledger.renew_lease(documents, taken.upload_id, taken.attempt, until)


def end(
    documents: DocumentStore,
    taken: TakenUpload,
    status: ledger.Status,
    reason: str,
    result: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """End the upload as a delivery ends one (`uploads.Delivery.end`): its fields and status on
    the entry, the attempt closed, and the "<kind> <status>" log line."""
    result = dict(result or {})
    finished = now or datetime.now(UTC)
    job = {**(taken.entry.get(JOB) or {}), "state": JobState.ENDED.value, "ended_at": finished}
    job.update(attempt=taken.attempt, started_at=taken.started_at)
    ended = {
        **result,
        JOB: job,
        "status": status.value,
        "reason": reason,
        "updated_at": finished,
        "processing_ms": round((finished - taken.started_at).total_seconds() * 1000, 1),
    }
    documents.update(ledger.COLLECTION, taken.upload_id, ended)
    ledger.end_attempt(documents, taken.upload_id, taken.attempt, finished, status.value)
    log.log(
        logging.INFO if status in (ledger.Status.DONE, ledger.Status.SUPERSEDED) else logging.WARNING,
        f"{taken.kind} {status.value}",
        extra={
            "upload_id": taken.upload_id,
            "job": taken.job,
            "attempt": taken.attempt,
            "status": status.value,
            "reason": reason,
            **result,
        },
    )


def still_current(documents: DocumentStore, entry: Mapping[str, Any]) -> bool:
    """Whether no newer generation of the object was uploaded (a job stops for one)."""
    return not newest(ledger.other_versions(documents, entry).values(), str(entry["generation"]))


def is_stuck(
    documents: DocumentStore, entry: Mapping[str, Any], upload_id: str, now: datetime, lease: timedelta
) -> bool:
    """An `importing` upload whose job died without ending it: no live attempt, and either the
    job had started or it was launched longer than `START_SECONDS` ago."""
    if entry.get("status") != ledger.Status.IMPORTING:
        return False
    job = entry.get(JOB) or {}
    attempt = documents.get(ledger.ATTEMPTS, ledger.attempt_id(upload_id, int(entry.get("attempts") or 0)))
    if attempt is not None and not attempt.get("ended_at") and attempt["lease_until"] > now:
        return False
    if job.get("state") == JobState.RUNNING:
        return True
    launched = job.get("launched_at") or entry.get("updated_at")
    return launched is None or launched + timedelta(seconds=START_SECONDS) < now
