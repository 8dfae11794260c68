"""The upload ledger: one `uploads/{upload_id}` document per object version, and the attempts
made to process it.

The id is derived from bucket, name and generation, so a redelivered event finds the entry it
already wrote instead of adding another. Deliveries are at least once and may arrive together,
so processing is claimed: attempt n of an upload is the document `upload_attempts/{id}-{n}`,
made with create-if-absent, which exactly one delivery wins, in Firestore and in the local
emulator alike (its transactions do not isolate, so they cannot be the claim). The winner holds a
lease that it renews while it works; a delivery that finds a live lease leaves the work to its
holder, and one that finds it expired (the holder was killed) claims the next attempt.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from catalogist.intake.events import StorageEvent, object_name_problem
from catalogist.ports import DocumentStore
from catalogist.vendorfiles.formats import Kind, Verdict

COLLECTION = "uploads"
ATTEMPTS = "upload_attempts"
ATTEMPT_KEPT = timedelta(days=14)
MAX_CLAIM_STEPS = 20  # attempts looked at in one claim; more means something is badly wrong


class Status(enum.StrEnum):
    RECEIVED = "received"
    DONE = "done"
    REJECTED = "rejected"
    # a newer generation of the same object was uploaded; that one is processed instead
    SUPERSEDED = "superseded"
    # transient failures on every allowed attempt; acknowledged and shown, retried by hand
    FAILED = "failed"
    # handed to a batch job (a big vendor file: `intake.handoff`), which ends it like a delivery
    IMPORTING = "importing"


def upload_id(bucket: str, name: str, generation: str) -> str:
    """Stable and safe as a Firestore id (object names contain `/`)."""
    identity = f"{bucket}\n{name}\n{generation}".encode()
    return hashlib.sha256(identity).hexdigest()[:40]


def object_key(bucket: str, name: str) -> str:
    """One key for every generation of an object, so its versions are found with one query."""
    return hashlib.sha256(f"{bucket}\n{name}".encode()).hexdigest()[:24]


def ledger_entry(
    event: StorageEvent, verdict: Verdict, received_at: datetime, claims_vendor: bool = True
) -> dict[str, Any]:
    """The entry of a new upload. `claims_vendor`: False when its folder is not a known vendor,
    so the entry shows under no vendor's name."""
    obj = event.object
    rejected = verdict.kind is Kind.UNSUPPORTED
    return {
        "bucket": obj.bucket,
        "name": obj.name,
        "generation": obj.generation,
        # every generation of the object under one top-level key (queried; nested fields are not
        # queryable in the local emulator)
        "object_key": object_key(obj.bucket, obj.name),
        "size": obj.size,
        "content_type": obj.content_type,
        "md5_hash": obj.md5_hash,
        "time_created": obj.time_created,
        "metadata": dict(obj.metadata),
        # a refused name claims no vendor: the entry must not show under one it may not be
        "vendor": obj.vendor if claims_vendor and not (rejected and object_name_problem(obj.name)) else "",
        "kind": verdict.kind.value,
        "format": verdict.format,
        "status": (Status.REJECTED if rejected else Status.RECEIVED).value,
        "reason": verdict.reason,
        "attempts": 0,
        "event_id": event.event_id,
        "event_time": event.event_time,
        "received_at": received_at,
        "updated_at": received_at,
    }


def attempt_id(upload: str, number: int) -> str:
    return f"{upload}-{number}"


@dataclass(frozen=True)
class Claim:
    """What a delivery found when it tried to claim the next attempt of an upload."""

    attempt: int  # the attempt this delivery now owns; 0 when another delivery holds a live lease
    previous: dict[str, Any] | None = None  # the attempt before, if any (how it ended)


def _alive(attempt: dict[str, Any] | None, now: datetime) -> bool:
    return attempt is not None and not attempt.get("ended_at") and attempt["lease_until"] > now


def claim_attempt(
    documents: DocumentStore, upload: str, entry: dict[str, Any], event_id: str, now: datetime, lease: timedelta
) -> Claim:
    """Claim the next attempt at processing `upload`, unless another delivery is on it.

    Starts from the entry's attempt count, which is only a hint: a claimant may have died
    between creating its attempt and counting it on the entry, so the attempts themselves decide.
    """
    number = int(entry.get("attempts") or 0)
    previous = documents.get(ATTEMPTS, attempt_id(upload, number)) if number else None
    for _ in range(MAX_CLAIM_STEPS):
        if _alive(previous, now):
            return Claim(0, previous)
        record = {
            "upload_id": upload,
            "attempt": number + 1,
            "event_id": event_id,
            "started_at": now,
            "lease_until": now + lease,
            "ended_at": None,
            # Firestore's TTL deletes it after this (terraform/firestore.tf): attempts matter while
            # the platform may still redeliver (a day) and a person may look into a failure
            "expires_at": now + ATTEMPT_KEPT,
        }
        if documents.create(ATTEMPTS, attempt_id(upload, number + 1), record):
            documents.update(COLLECTION, upload, {"attempts": number + 1, "updated_at": now})
            return Claim(number + 1, previous)
        number += 1
        previous = documents.get(ATTEMPTS, attempt_id(upload, number))
    return Claim(0, previous)


def renew_lease(documents: DocumentStore, upload: str, attempt: int, until: datetime) -> None:
    documents.update(ATTEMPTS, attempt_id(upload, attempt), {"lease_until": until})


class KeptLease:
    """Renews an attempt's lease every third of its length while the work inside runs, so a long
    import (in the function or in a batch job) keeps its claim, and one that dies loses it within
    one lease."""

    def __init__(self, documents: DocumentStore, upload: str, attempt: int, lease: timedelta) -> None:
        self._documents, self._upload, self._attempt, self._lease = documents, upload, attempt, lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{upload[:8]}", daemon=True)

    def __enter__(self) -> KeptLease:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._lease.total_seconds() / 3):
            try:
                renew_lease(self._documents, self._upload, self._attempt, datetime.now(UTC) + self._lease)
            except Exception:  # the next renewal may get through; the work itself decides the outcome
                logging.getLogger("catalogist.intake.ledger").warning(
                    "could not renew the lease", extra={"upload_id": self._upload}, exc_info=True
                )


def end_attempt(documents: DocumentStore, upload: str, attempt: int, now: datetime, outcome: str) -> None:
    documents.update(ATTEMPTS, attempt_id(upload, attempt), {"ended_at": now, "outcome": outcome})


def is_running(
    documents: DocumentStore, entry: Mapping[str, Any], upload: str, now: datetime, lease: timedelta
) -> bool:
    """Whether an upload is being processed: received and claimed under a live lease, or received
    so recently that its delivery may still be about to claim it."""
    if entry.get("status") != Status.RECEIVED:
        return False
    number = int(entry.get("attempts") or 0)
    if not number:
        return entry["received_at"] + lease > now
    return _alive(documents.get(ATTEMPTS, attempt_id(upload, number)), now)


def other_versions(documents: DocumentStore, entry: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The ledger entries of the object's other generations, by upload id."""
    versions = documents.find(COLLECTION, "object_key", entry["object_key"])
    return {upload: other for upload, other in versions.items() if other["generation"] != entry["generation"]}
