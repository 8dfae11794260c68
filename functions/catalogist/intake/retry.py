"""Retrying an upload by hand: a `failed` one (its attempts ran out on transient errors), one
stuck `received` with no live attempt (its event was lost), or one stuck `importing` (its batch
job died without ending it, `handoff.is_stuck`).

The object is copied onto itself, which makes a new generation of the same bytes: Cloud Storage
(or, locally, the event bridge) then delivers a new finalized event, and the new version is
processed from scratch like any upload, with fresh attempts. The old entry keeps its history and
says which generation retried it. Only the newest generation of an object is retried: an older
one was superseded by what the vendor uploaded since.

Re-running is the same copy for an upload that finished (done or rejected): after its vendor's
column mapping was corrected, or the vendor's fix arrived by other means, the newest version of a
file goes through the normal pipeline again as a new generation. Each version is re-run once:
the first of two people asking at once claims it (`upload_reruns/{upload id}`, create-if-absent),
the other is told who did.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from catalogist.errors import PermanentError
from catalogist.intake import handoff, ledger
from catalogist.intake.events import newest
from catalogist.ports import ObjectCopier, Write

RERUNS = "upload_reruns"
RERUNNABLE = (ledger.Status.DONE, ledger.Status.REJECTED)


class RetryRefused(PermanentError):
    """The upload cannot be retried; the message says why."""


def retry_upload(documents: Any, blobs: ObjectCopier, upload_id: str, who: str, now: datetime, lease: timedelta) -> str:
    """The generation that will be processed in its place."""
    entry = documents.get(ledger.COLLECTION, upload_id)
    if entry is None:
        raise RetryRefused(f"no upload {upload_id}")
    stuck = (
        entry["status"] == ledger.Status.RECEIVED and not ledger.is_running(documents, entry, upload_id, now, lease)
    ) or handoff.is_stuck(documents, entry, upload_id, now, lease)
    if entry["status"] != ledger.Status.FAILED and not stuck:
        raise RetryRefused(f"only failed or stuck uploads are retried; this one is {entry['status']}")
    later = newest(ledger.other_versions(documents, entry).values(), str(entry["generation"]))
    if later:
        raise RetryRefused(f"generation {later} of this object was uploaded since; it is the one that counts")
    generation = blobs.copy_to_new_generation(entry["bucket"], entry["name"], entry["generation"])
    documents.update(ledger.COLLECTION, upload_id, {"retried_as": generation, "retried_by": who, "retried_at": now})
    return generation


def rerun_upload(documents: Any, blobs: ObjectCopier, upload_id: str, who: str, now: datetime) -> str:
    """Process the newest version of a finished upload again, as a new generation of the same
    object through the normal pipeline; that generation."""
    entry = documents.get(ledger.COLLECTION, upload_id)
    if entry is None:
        raise RetryRefused(f"no upload {upload_id}")
    if entry["status"] not in RERUNNABLE:
        hint = " (use Retry)" if entry["status"] == ledger.Status.FAILED else ""
        raise RetryRefused(f"only a finished upload (done or rejected) is re-run; this one is {entry['status']}{hint}")
    later = newest(ledger.other_versions(documents, entry).values(), str(entry["generation"]))
    if later:
        raise RetryRefused(f"generation {later} of this object was uploaded since; re-run that one")
    if not documents.create(RERUNS, upload_id, {"by": who, "at": now, "generation": ""}):
        claim = documents.get(RERUNS, upload_id) or {}
        raise RetryRefused(
            f"{claim.get('by', 'someone')} re-ran this version already"
            + (f", as generation {claim['generation']}" if claim.get("generation") else "")
        )
    try:
        generation = blobs.copy_to_new_generation(entry["bucket"], entry["name"], entry["generation"])
    except Exception:
        documents.commit([Write(RERUNS, upload_id, {}, delete=True)])  # not re-run: free to ask again
        raise
    documents.update(RERUNS, upload_id, {"generation": generation})
    documents.update(ledger.COLLECTION, upload_id, {"rerun_as": generation, "rerun_by": who, "rerun_at": now})
    return generation
