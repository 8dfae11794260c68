"""Documents in Firestore with the official client (one client per instance).

Batched writes of plain data (what file imports write, 400 products a commit) are encoded
straight into the client's own `Write` protobufs: the client's `set(..., merge=[...])` builds
them through proto-plus wrappers at about 1.1 ms a product document, this at 0.18 ms
(bench/bench_import.py shows the whole import). The result is the same message `set` sends:
the fields, and with `merge` an update mask of the top-level names. Anything else (field-path
merges, sentinels, references) goes through the client's `set`.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from functools import cache, cached_property
from typing import Any

from google.api_core import exceptions as gexc
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.field_path import FieldPath
from google.cloud.firestore_v1.types import common as common_types
from google.cloud.firestore_v1.types import document as document_types
from google.cloud.firestore_v1.types import write as write_types
from google.protobuf import struct_pb2, timestamp_pb2

from catalogist.ports import SERVER_TIME, Filter, Order, Write

BATCH_LIMIT = 500  # Firestore's limit on writes per commit
_DIRECTIONS = {"asc": firestore.Query.ASCENDING, "desc": firestore.Query.DESCENDING}

_WritePb = write_types.Write.pb()
_DocumentPb = document_types.Document.pb()
_ValuePb = document_types.Value.pb()
_MapValuePb = document_types.MapValue.pb()
_ArrayValuePb = document_types.ArrayValue.pb()
_MaskPb = common_types.DocumentMask.pb()


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
        return snapshot.to_dict() if snapshot.exists else None

    def get_many(self, collection: str, document_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        references = [self.client.collection(collection).document(i) for i in document_ids]
        return {s.id: s.to_dict() or {} for s in self.client.get_all(references) if s.exists}

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
            if not write.merge:
                batch.set(reference, _client_fields(write.fields))
                continue
            paths = write.paths or tuple((name,) for name in write.fields)
            batch.set(reference, _client_fields(write.fields), merge=[FieldPath(*path) for path in paths])
        batch.commit()

    def server_time(self) -> datetime.datetime:
        # A read of a document that does not exist: one round trip, answered with the read time.
        read_time = self.client.collection("_catalogist").document("clock").get().read_time
        if read_time is None:
            raise RuntimeError("Firestore answered a read without its read time")
        return read_time

    def find(self, collection: str, field: str, value: Any, limit: int = 1000) -> dict[str, dict[str, Any]]:
        query = self.client.collection(collection).where(filter=FieldFilter(field, "==", value)).limit(limit)
        return {snapshot.id: snapshot.to_dict() or {} for snapshot in query.stream()}

    def changed_since(self, collection: str, field: str, since: datetime.datetime) -> set[str]:
        query = self.client.collection(collection).where(filter=FieldFilter(field, ">=", since))
        return {snapshot.id for snapshot in query.select([]).stream()}  # ids only

    def query(
        self, collection: str, filters: Sequence[Filter], order: Sequence[Order], limit: int
    ) -> list[tuple[str, dict[str, Any]]]:
        query = self._filtered(collection, filters)
        for field, direction in order:
            query = query.order_by(field, direction=_DIRECTIONS[direction])
        return [(snapshot.id, snapshot.to_dict() or {}) for snapshot in query.limit(limit).stream()]

    def count(self, collection: str, filters: Sequence[Filter], up_to: int) -> int:
        result = self._filtered(collection, filters).limit(up_to).count().get()
        return int(result[0][0].value)

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
        document = _DocumentPb(name=name, fields=fields)
        if not write.merge:
            return _WritePb(update=document)
        return _WritePb(update=document, update_mask=_MaskPb(field_paths=_mask(tuple(write.fields))))


def _client_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fields as the client takes them: our `SERVER_TIME` becomes its sentinel."""
    return {name: firestore.SERVER_TIMESTAMP if value is SERVER_TIME else value for name, value in fields.items()}


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
