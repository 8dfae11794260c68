"""What a job's workers share: the settings it was given (the function's own, read by the
function's table), the store and the blobs built once per worker, the row models loaded once
per worker, and the beat that keeps a job's claim on its upload alive while it works."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import GoogleCloudOptions, PipelineOptions

from catalogist import logs
from catalogist.adapters.storage import StorageBlobs
from catalogist.ports import DocumentStore
from catalogist.settings import BY_FIELD, JOB_FIELDS, Settings, from_job_parameters
from catalogist.wiring import document_store


class CatalogistOptions(PipelineOptions):
    """The function's settings a job runs with, one option each (`settings.JOB_FIELDS`; the
    project is Beam's own `--project`)."""

    @classmethod
    def _add_argparse_args(cls, parser: Any) -> None:
        for name in JOB_FIELDS:
            if name != "project":
                parser.add_argument(f"--{name}", default=None, help=BY_FIELD[name].help)


def job_settings(options: PipelineOptions) -> Settings:
    given = options.view_as(CatalogistOptions)
    parameters = {name: getattr(given, name) for name in JOB_FIELDS if name != "project"}
    parameters["project"] = options.view_as(GoogleCloudOptions).project
    return from_job_parameters({name: str(value) for name, value in parameters.items() if value not in (None, "")})


@dataclass(frozen=True)
class Worker:
    """A worker's clients, built on first use and kept for its DoFns' lifetime (picklable: the
    settings travel, the clients are made where they are used)."""

    settings: Settings

    @cached_property
    def documents(self) -> DocumentStore:
        return document_store(self.settings)

    @cached_property
    def blobs(self) -> StorageBlobs:
        return StorageBlobs(self.settings.project)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.lease_seconds)

    def start(self) -> None:
        logs.configure(self.settings.log_level)


def now() -> datetime:
    return datetime.now(UTC)


class Every:
    """Calls `action` at most once per `seconds` (a worker's checks and progress, page by page)."""

    def __init__(self, seconds: float, action: Callable[[], Any]) -> None:
        self._seconds, self._action = seconds, action
        self._next = 0.0
        self._last: Any = None

    def __call__(self, force: bool = False) -> Any:
        if force or time.monotonic() >= self._next:
            self._next = time.monotonic() + self._seconds
            self._last = self._action()
        return self._last


def retried(attempts: int, work: Callable[[], Any], on_failure: Callable[[int, Exception], None]) -> Any:
    """`work`, tried up to `attempts` times on transient failures (anything but a permanent error,
    as for deliveries), waiting longer each time; `on_failure(try, error)` after each failed try.
    The last failure is raised."""
    from catalogist.errors import PermanentError, Superseded

    for attempt in range(1, attempts + 1):
        try:
            return work()
        except (PermanentError, Superseded):
            raise
        except Exception as error:
            on_failure(attempt, error)
            if attempt == attempts:
                raise
            time.sleep(min(30.0, 2.0**attempt))
    raise AssertionError("unreachable")


def failure(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:1000]


def run_pipeline(options: PipelineOptions, build: Callable[[beam.Pipeline], None]) -> None:
    with beam.Pipeline(options=options) as pipeline:
        build(pipeline)
