"""Documents in Firestore with the official client (one client per instance).

Batched writes of plain data (what file imports write, 400 products a commit) are encoded
straight into the client's own `Write` protobufs: the client's `set(..., merge=[...])` builds
them through proto-plus wrappers at about 1.1 ms a product document, this at 0.18 ms
(bench/bench_import.py shows the whole import). The result is the same message `set` sends:
the fields, and with `merge` an update mask of the top-level names. Anything else (field-path
merges, sentinels, references) goes through the client's `set`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import random
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from functools import cache, cached_property
from typing import Any

from google.api_core import exceptions as gexc
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.api_core.retry import Retry, if_exception_type
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.field_path import FieldPath
from google.cloud.firestore_v1.types import common as common_types
from google.cloud.firestore_v1.types import document as document_types
from google.cloud.firestore_v1.types import write as write_types
from google.protobuf import struct_pb2, timestamp_pb2

from catalogist.ports import REVISION, Change, Filter, ModifyConflict, Order, Write

BATCH_LIMIT = 500  # Firestore's limit on writes per commit
MODIFY_ATTEMPTS = 10  # a document that changed under every one of them is left to a redelivery
# Optimistic claims are not queued as Firestore's locks are: N processes writing one document
# lose up to N-1 rounds each (with random back-off), so the emulator's writers get more attempts.
EMULATOR_ATTEMPTS = 30
LOCAL_TURNS = 64  # locks shared by the documents this process writes, by hash
# A stream the emulator or the network cut; the rest of it is read again.
_BROKEN_STREAM = (gexc.DeadlineExceeded, gexc.ServiceUnavailable, gexc.InternalServerError, gexc.Aborted)
_NEVER_RETRY = Retry(predicate=if_exception_type())
PAGE_ATTEMPTS = 5  # reads of one page of a scan whose stream broke
_DIRECTIONS = {"asc": firestore.Query.ASCENDING, "desc": firestore.Query.DESCENDING}

_WritePb = write_types.Write.pb()
_DocumentPb = document_types.Document.pb()
_ValuePb = document_types.Value.pb()
_MapValuePb = document_types.MapValue.pb()
_ArrayValuePb = document_types.ArrayValue.pb()
_MaskPb = common_types.DocumentMask.pb()
_PreconditionPb = common_types.Precondition.pb()


class FirestoreDocuments:
    def __init__(self, project: str, database: str = "(default)") -> None:
        self._project = project
        self._database = database

    @cached_property
    def client(self) -> firestore.Client:
        # Against the emulator (FIRESTORE_EMULATOR_HOST) the client needs no credentials.
        return firestore.Client(project=self._project, database=self._database)

    def get(self, collection: str, document_id: str) -> dict[str, Any] | None:
        snapshot = self.client.collection(collection).document(document_id).get()
        return self._fields(snapshot) if snapshot.exists else None

    def get_many(self, collection: str, document_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        references = [self.client.collection(collection).document(i) for i in document_ids]
        return {s.id: self._fields(s) for s in self.client.get_all(references) if s.exists}

    def create(self, collection: str, document_id: str, fields: Mapping[str, Any]) -> bool:
        try:
            self.client.collection(collection).document(document_id).create(_client_fields(fields))
        except gexc.AlreadyExists:
            return False
        return True

    def update(self, collection: str, document_id: str, fields: Mapping[str, Any]) -> None:
        self.client.collection(collection).document(document_id).update(_client_fields(fields))

    def commit(self, writes: Sequence[Write]) -> None:
        if len(writes) > BATCH_LIMIT:
            raise ValueError(f"a batch holds at most {BATCH_LIMIT} writes, got {len(writes)}")
        batch = self.client.batch()
        for write in writes:
            encoded = None if write.paths else self._encoded(write)
            if encoded is not None:
                batch._add_write_pbs([write_types.Write.wrap(encoded)])  # what `set` itself does
                continue
            reference = self.client.collection(write.collection).document(write.document_id)
            if write.delete:
                batch.delete(reference)
            elif write.create:
                batch.create(reference, _client_fields(write.fields))
            elif not write.merge:
                batch.set(reference, _client_fields(write.fields))
            else:
                paths = write.paths or tuple((name,) for name in write.fields)
                batch.set(reference, _client_fields(write.fields), merge=[FieldPath(*path) for path in paths])
        batch.commit()

    def modify(
        self,
        collection: str,
        document_ids: Sequence[str],
        change: Change,
        known: Mapping[str, dict[str, Any] | None] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """In a Firestore transaction: its reads lock the documents until the commit, and the
        client runs it again when the commit loses to another writer. (`known` cannot be used:
        the documents must be read inside the transaction.)"""
        references = {i: self.client.collection(collection).document(i) for i in dict.fromkeys(document_ids)}
        written: dict[str, dict[str, Any]] = {}

        @firestore.transactional
        def apply(transaction: firestore.Transaction) -> None:
            written.clear()
            stored = {s.id: s.to_dict() for s in transaction.get_all(list(references.values())) if s.exists}
            for document_id, reference in references.items():
                fields = _changed(document_id, stored.get(document_id), change)
                if fields is not None:
                    transaction.set(reference, _client_fields(fields), merge=[FieldPath(name) for name in fields])
                    written[document_id] = fields

        try:
            apply(self.client.transaction(max_attempts=MODIFY_ATTEMPTS))
        except ValueError as error:  # what the client raises when every attempt lost
            if not isinstance(error.__cause__, gexc.Aborted):
                raise
            raise ModifyConflict(f"{collection}: {error}") from error
        return written

    def find(self, collection: str, field: str, value: Any, limit: int = 1000) -> dict[str, dict[str, Any]]:
        query = self.client.collection(collection).where(filter=FieldFilter(field, "==", value)).limit(limit)
        return {snapshot.id: self._fields(snapshot) for snapshot in query.stream()}

    def query(
        self, collection: str, filters: Sequence[Filter], order: Sequence[Order], limit: int
    ) -> list[tuple[str, dict[str, Any]]]:
        query = self._filtered(collection, filters)
        for field, direction in order:
            query = query.order_by(field, direction=_DIRECTIONS[direction])
        return [(snapshot.id, self._fields(snapshot)) for snapshot in query.limit(limit).stream()]

    def count(self, collection: str, filters: Sequence[Filter], up_to: int) -> int:
        result = self._filtered(collection, filters).limit(up_to).count().get()
        return int(result[0][0].value)

    def scan(
        self, collection: str, filters: Sequence[Filter], after: str = "", page: int = 500
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Pages of `page` documents, each a query from the last id seen: a query stream that runs
        for long is cut by its deadline, and a page costs one round trip. A page whose stream
        breaks is read again whole (`PAGE_ATTEMPTS`): the client's own resume of a broken stream
        fails with AttributeError (`_retry`) in google-cloud-firestore 2.34.1 and hides why
        (googleapis/python-firestore#596, reported in 2022 and still there)."""
        while True:
            found = _read_page(self._page(collection, filters, after).limit(page))
            yield from ((snapshot.id, self._fields(snapshot)) for snapshot in found)
            if len(found) < page:
                return
            after = found[-1].id

    def _page(self, collection: str, filters: Sequence[Filter], after: str) -> Any:
        """The query of a scan's page: the matching documents after `after`, in id order."""
        query = self._filtered(collection, filters).order_by(FieldPath.document_id())
        if not after:
            return query
        reference = self.client.collection(collection).document(after)
        return query.where(filter=FieldFilter(FieldPath.document_id(), ">", reference))

    def _fields(self, snapshot: Any) -> dict[str, Any]:
        """A document's fields as its writer gave them."""
        return snapshot.to_dict() or {}

    def _filtered(self, collection: str, filters: Sequence[Filter]) -> Any:
        query: Any = self.client.collection(collection)
        for field, operator, value in filters:
            query = query.where(filter=FieldFilter(field, operator, value))
        return query

    def _encoded(self, write: Write) -> Any:
        """The `Write` protobuf `set` would send, or None when the fields are not plain data."""
        try:
            fields = {name: _value(value) for name, value in write.fields.items()}
        except _NotPlain:
            return None
        name = f"projects/{self._project}/databases/{self._database}/documents/{write.collection}/{write.document_id}"
        if write.delete:
            return _WritePb(delete=name)
        document = _DocumentPb(name=name, fields=fields)
        if write.create:
            return _WritePb(update=document, current_document=_PreconditionPb(exists=False))
        if not write.merge:
            return _WritePb(update=document)
        return _WritePb(update=document, update_mask=_MaskPb(field_paths=_mask(tuple(write.fields))))


class EmulatorDocuments(FirestoreDocuments):
    """The same store against the local npm Firestore emulator, whose transactions do not
    isolate (two read the same document and both commit) and which ignores `update_time`
    preconditions. `modify` is built on what it does honour, create-if-absent, as the upload
    ledger's claims are: writing revision n+1 of a document first creates the claim document
    `_revisions/{key}-{n+1}` in the same commit, so of two writers that read revision n, one
    commit fails on the claim and that writer reads again. The emulator applies a commit's
    writes in order and stops at the first that fails, so a claim and its write land together
    or not at all. Claims are kept while a writer may still hold an older read (`_sweep_claims`).
    Every document it writes also carries its own id as a field (`PAGE_KEY`, hidden from readers),
    by which its scans page (`_page`).
    """

    def __init__(self, project: str, database: str = "(default)") -> None:
        super().__init__(project, database)
        # Writers of one document in this process take turns (Firestore's own locks queue
        # them; optimistic claims alone make N threads lose N-1 rounds each); the claims are
        # what keeps other processes out.
        self._turns = [threading.Lock() for _ in range(LOCAL_TURNS)]
        self._claimed = 0  # claims written since the last sweep of old ones

    def modify(
        self,
        collection: str,
        document_ids: Sequence[str],
        change: Change,
        known: Mapping[str, dict[str, Any] | None] | None = None,
    ) -> dict[str, dict[str, Any]]:
        ids = list(dict.fromkeys(document_ids))
        turns = sorted({hash((collection, i)) % LOCAL_TURNS for i in ids})  # in order: no deadlock
        with contextlib.ExitStack() as held:
            for turn in turns:
                held.enter_context(self._turns[turn])
            return self._modify(collection, ids, change, known)

    def _modify(
        self,
        collection: str,
        document_ids: list[str],
        change: Change,
        known: Mapping[str, dict[str, Any] | None] | None,
    ) -> dict[str, dict[str, Any]]:
        pending = document_ids
        stored = {i: (known or {}).get(i) for i in pending} if known is not None else None
        written: dict[str, dict[str, Any]] = {}
        for attempt in range(EMULATOR_ATTEMPTS):
            if attempt:  # lost to another process: step aside for a random moment, longer each time
                time.sleep(random.uniform(0, min(0.02, 0.002 * 2**attempt)))  # noqa: S311 - not a secret
            if stored is None:
                found = self.get_many(collection, pending)
                stored = {i: found.get(i) for i in pending}
            planned = {}
            for document_id in pending:
                fields = _changed(document_id, stored[document_id], change)
                if fields is not None:
                    planned[document_id] = fields
            lost = self._commit_claimed(collection, planned)
            written.update((i, fields) for i, fields in planned.items() if i not in lost)
            if not lost:
                return written
            pending, stored = lost, None
        raise ModifyConflict(f"{collection}: {len(pending)} documents kept changing, e.g. {pending[0]}")

    def _commit_claimed(self, collection: str, planned: Mapping[str, dict[str, Any]]) -> list[str]:
        """Write each document with its revision claim; the ids another writer claimed first."""
        lost: list[str] = []
        waiting = list(planned)
        while waiting:
            chunk, waiting = waiting[:CLAIMED_PER_COMMIT], waiting[CLAIMED_PER_COMMIT:]
            token = uuid.uuid4().hex
            now = datetime.datetime.now(datetime.UTC)
            claims = {i: claim_id(collection, i, planned[i][REVISION]) for i in chunk}
            writes = []
            for document_id in chunk:
                writes += [
                    Write(REVISION_CLAIMS, claims[document_id], {"token": token, "at": now}, create=True),
                    Write(collection, document_id, planned[document_id]),
                ]
            try:
                self.commit(writes)
            except gexc.AlreadyExists:
                # Applied in order up to the claim another writer holds; after it, nothing was
                # tried, and those go again as they are.
                found = self.get_many(REVISION_CLAIMS, list(claims.values()))
                lost += [i for i in chunk if claims[i] in found and found[claims[i]].get("token") != token]
                waiting = [i for i in chunk if claims[i] not in found] + waiting
            self._claimed += len(chunk)
        if self._claimed >= SWEEP_EVERY_CLAIMS:
            self._claimed = 0
            self._sweep_claims()
        return lost

    def create(self, collection: str, document_id: str, fields: Mapping[str, Any]) -> bool:
        return super().create(collection, document_id, {**fields, PAGE_KEY: document_id})

    def update(self, collection: str, document_id: str, fields: Mapping[str, Any]) -> None:
        super().update(collection, document_id, {**fields, PAGE_KEY: document_id})

    def commit(self, writes: Sequence[Write]) -> None:
        super().commit([_keyed(write) for write in writes])

    def _page(self, collection: str, filters: Sequence[Filter], after: str) -> Any:
        """Pages by `PAGE_KEY`, the document's id written as a field of its own: the emulator
        answers a range filter on document ids with nothing at all and ignores cursors and read
        masks, and one stream over a whole collection made it build the whole answer in memory
        (its heap passed 16 GB for 100,000 products). A range on an ordinary field it honours."""
        query = self._filtered(collection, filters).order_by(PAGE_KEY)
        return query.where(filter=FieldFilter(PAGE_KEY, ">", after)) if after else query

    def _fields(self, snapshot: Any) -> dict[str, Any]:
        fields = super()._fields(snapshot)
        fields.pop(PAGE_KEY, None)
        return fields

    def _sweep_claims(self) -> None:
        """Delete claims older than `CLAIMS_KEPT`. A claim must outlive every writer that read its
        document before it was made (deleted, a writer holding such an old read could claim that
        revision again and write over newer data): a read is minutes old at most, and the emulator
        holds everything in memory, so claims are not kept forever."""
        before = datetime.datetime.now(datetime.UTC) - CLAIMS_KEPT
        while True:
            old = self.query(REVISION_CLAIMS, [("at", "<", before)], [], BATCH_LIMIT)
            if old:
                self.commit([Write(REVISION_CLAIMS, name, {}, delete=True) for name, _ in old])
            if len(old) < BATCH_LIMIT:
                return


REVISION_CLAIMS = "_revisions"
PAGE_KEY = "_page_key"  # the emulator's copy of each document's id, for scans (`EmulatorDocuments._page`)
CLAIMED_PER_COMMIT = BATCH_LIMIT // 2  # a claim and the document's write each
CLAIMS_KEPT = datetime.timedelta(minutes=10)
SWEEP_EVERY_CLAIMS = 5_000


def _read_page(query: Any) -> list[Any]:
    for attempt in range(1, PAGE_ATTEMPTS + 1):
        try:
            return list(query.stream(retry=_NEVER_RETRY))
        except _BROKEN_STREAM:
            if attempt == PAGE_ATTEMPTS:
                raise
            time.sleep(min(2.0, 0.1 * 2**attempt))
    raise AssertionError("unreachable")


def _keyed(write: Write) -> Write:
    if write.delete:
        return write
    paths = (*write.paths, (PAGE_KEY,)) if write.paths else ()
    return dataclasses.replace(write, fields={**write.fields, PAGE_KEY: write.document_id}, paths=paths)


def claim_id(collection: str, document_id: str, revision: int) -> str:
    """The claim of one revision of one document (hashed: a document id may be 1,500 bytes)."""
    return f"{hashlib.sha256(f'{collection}/{document_id}'.encode()).hexdigest()[:32]}-{revision}"


def _changed(document_id: str, stored: dict[str, Any] | None, change: Change) -> dict[str, Any] | None:
    """`change`'s fields for the document, with its next revision; None when it writes nothing."""
    fields = change(document_id, stored)
    if fields is None:
        return None
    return {**fields, REVISION: int((stored or {}).get(REVISION) or 0) + 1}


def _client_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    return dict(fields)


class _NotPlain(Exception):
    """A value only the client knows how to encode (a sentinel, a reference, a GeoPoint…)."""


@cache
def _mask(names: tuple[str, ...]) -> list[str]:
    """The update mask of a merge of these top-level fields, in the client's order."""
    return [path.to_api_repr() for path in sorted(FieldPath(name) for name in names)]


def _value(value: Any) -> Any:
    """A Firestore `Value` protobuf, as the client's `_helpers.encode_value` makes it."""
    if value is None:
        return _ValuePb(null_value=struct_pb2.NULL_VALUE)
    if isinstance(value, bool):  # before int: bool is an int
        return _ValuePb(boolean_value=value)
    if isinstance(value, int):
        return _ValuePb(integer_value=value)
    if isinstance(value, float):
        return _ValuePb(double_value=value)
    if isinstance(value, str):
        return _ValuePb(string_value=value)
    if isinstance(value, DatetimeWithNanoseconds):
        return _ValuePb(timestamp_value=value.timestamp_pb())
    if isinstance(value, datetime.datetime):
        stamp = timestamp_pb2.Timestamp()
        stamp.FromDatetime(value)  # naive datetimes are UTC, as for the client
        return _ValuePb(timestamp_value=stamp)
    if isinstance(value, dict):
        if not all(isinstance(key, str) and key for key in value):
            raise _NotPlain("a map key that is empty or not a string")
        return _ValuePb(map_value=_MapValuePb(fields={key: _value(v) for key, v in value.items()}))
    if isinstance(value, list | tuple):
        return _ValuePb(array_value=_ArrayValuePb(values=[_value(v) for v in value]))
    raise _NotPlain(type(value).__name__)
