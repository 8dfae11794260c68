"""Big vendor files go to a batch job, not through the delivery (issue #26).

A Pub/Sub push delivery must answer within its ack deadline (at most 600 s), and the function
imports about 80 KB of price list a second, so a file above `CATALOGIST_BIG_FILE_BYTES` is
imported by the Apache Beam pipeline of `batch/` instead: a Dataflow Flex Template job in GCP,
the same pipeline on Beam's local runner beside the local stack (`CATALOGIST_IMPORT_JOBS`).
The file's size decides, before a byte is read: its rows are not known until it is read, and
the threshold is set from the bytes the function imports within its timeout.

The delivery records the hand-over on the ledger (`intake.handoff`), shows the import waiting
for its job, launches the job with the function's own settings (`settings.job_parameters`) and
answers; the job takes the upload over and ends it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from catalogist.errors import HandedToJob
from catalogist.imports.pipeline import FileSource, Import, ImportContext
from catalogist.intake import handoff
from catalogist.intake.events import StorageObject
from catalogist.ports import JobLauncher

UPLOAD_ID, FILE_FORMAT = "upload_id", "file_format"  # the job's own parameters, beside the settings


@dataclass(frozen=True)
class ImportJobs:
    """Where big files go: the launcher of their jobs, what counts as big, and the settings the
    jobs run with."""

    launcher: JobLauncher
    big_file_bytes: int
    settings: Mapping[str, str]  # `settings.job_parameters` of the function's settings

    def takes(self, obj: StorageObject) -> bool:
        return obj.size > self.big_file_bytes

    def hand_over(self, source: FileSource, context: ImportContext, file_format: str, now: datetime) -> HandedToJob:
        """Launch the file's import job; what the delivery raises to end with the upload
        `importing`. A refused launch raises, as any transient failure (retried, then `failed`)."""
        upload = source.import_id
        name = handoff.job_name(upload)
        handoff.name_job(context.documents, upload, name, now)
        Import(source, replace(context, job=name)).announce(f"waiting for the batch job {name} to start")
        launched = self.launcher.launch(name, {**self.settings, UPLOAD_ID: upload, FILE_FORMAT: file_format})
        fields = {**handoff.launched_fields(launched, now), "import_id": upload}
        return HandedToJob(f"imported by the batch job {name} ({launched.runner})", fields)
