"""In-memory stand-ins for the two cloud adapters (pure-unit seams only)."""

import copy
import functools
import io
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from catalogist.errors import PermanentError
from catalogist.ports import SERVER_TIME, Write


class MemoryBlobs:
    """Objects by (bucket, name), or by (bucket, name, generation) when each generation has its
    own bytes, as Cloud Storage serves them (the local Storage emulator serves the newest bytes
    for any generation)."""

    def __init__(self, objects: dict[tuple[str, ...], bytes] | None = None) -> None:
        self.objects = objects or {}
        self.reads = 0

    def read_range(self, bucket: str, name: str, generation: str, length: int) -> bytes:
        self.reads += 1
        return self._data(bucket, name, generation)[:length]

    def read_all(self, bucket: str, name: str, generation: str, max_bytes: int) -> bytes:
        data = self._data(bucket, name, generation)
        if len(data) > max_bytes:
            raise PermanentError(f"the object is larger than the limit of {max_bytes:,} bytes")
        return data

    def copy_to_new_generation(self, bucket: str, name: str, generation: str) -> str:
        data = self._data(bucket, name, generation)
        known = [int(key[2]) for key in self.objects if key[:2] == (bucket, name) and len(key) == 3]
        newest = str(max([int(generation), *known]) + 1)
        self.objects[(bucket, name, newest)] = data
        return newest

    def open_stream(self, bucket: str, name: str, generation: str) -> io.BytesIO:
        return io.BytesIO(self._data(bucket, name, generation))

    def _data(self, bucket: str, name: str, generation: str) -> bytes:
        for key in ((bucket, name, generation), (bucket, name)):
            if key in self.objects:
                return self.objects[key]
        raise PermanentError(f"gs://{bucket}/{name} generation {generation} no longer exists")


def _atomic(method: Callable[..., Any]) -> Callable[..., Any]:
    """One request at a time, as each Firestore request is atomic; a subclass that slows a call
    down (sleeps, waits) does so outside the lock, as the network would."""

    @functools.wraps(method)
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


_OPERATORS = {
    "==": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "in": lambda a, b: a in b,
}


def _matches(document: dict[str, Any], condition: tuple[str, str, Any]) -> bool:
    """As Firestore compares: a range filter matches only values of the bound's own type."""
    field, operator, bound = condition
    value = document.get(field)
    if value is None and operator != "==":
        return False
    if operator in ("<", "<=", ">", ">=") and type(value) is not type(bound):
        return False
    return bool(_OPERATORS[operator](value, bound))


class MemoryDocuments:
    """Documents in dicts, with a clock that ticks a microsecond on every reading, as a server's
    would move on between requests. Each call is atomic, as each request to Firestore is."""

    def __init__(self) -> None:
        self.collections: dict[str, dict[str, dict[str, Any]]] = {}
        self._clock = datetime(2026, 1, 1, tzinfo=UTC)
        self._clock_lock = threading.Lock()
        self._lock = threading.RLock()

    @_atomic
    def query(self, collection, filters, order, limit):
        found = [
            (i, d) for i, d in self.collections.get(collection, {}).items() if all(_matches(d, f) for f in filters)
        ]
        for field, direction in reversed(order):
            found = [(i, d) for i, d in found if d.get(field) is not None]
            found.sort(key=lambda pair, field=field: pair[1][field], reverse=direction == "desc")
        return [(i, copy.deepcopy(d)) for i, d in found[:limit]]

    @_atomic
    def count(self, collection, filters, up_to):
        documents = self.collections.get(collection, {}).values()
        return min(up_to, sum(all(_matches(d, f) for f in filters) for d in documents))

    @_atomic
    def find(self, collection: str, field: str, value: Any, limit: int = 1000) -> dict[str, dict[str, Any]]:
        documents = self.collections.get(collection, {})
        found = [(i, d) for i, d in documents.items() if d.get(field) == value][:limit]
        return {i: copy.deepcopy(d) for i, d in found}

    def server_time(self) -> datetime:
        with self._clock_lock:
            self._clock += timedelta(microseconds=1)
            return self._clock

    @_atomic
    def changed_since(self, collection: str, field: str, since: datetime) -> set[str]:
        documents = self.collections.get(collection, {})
        return {i for i, d in documents.items() if isinstance(d.get(field), datetime) and d[field] >= since}

    def _stamped(self, fields) -> dict[str, Any]:
        return {k: self.server_time() if v is SERVER_TIME else copy.deepcopy(v) for k, v in dict(fields).items()}

    @_atomic
    def get(self, collection: str, document_id: str) -> dict[str, Any] | None:
        found = self.collections.get(collection, {}).get(document_id)
        return copy.deepcopy(found) if found is not None else None

    @_atomic
    def create(self, collection: str, document_id: str, fields) -> bool:
        documents = self.collections.setdefault(collection, {})
        if document_id in documents:
            return False
        documents[document_id] = self._stamped(fields)
        return True

    @_atomic
    def update(self, collection: str, document_id: str, fields) -> None:
        self.collections[collection][document_id].update(self._stamped(fields))

    @_atomic
    def get_many(self, collection: str, document_ids) -> dict[str, dict[str, Any]]:
        found = {i: self.get(collection, i) for i in document_ids}
        return {i: document for i, document in found.items() if document is not None}

    @_atomic
    def commit(self, writes: list[Write]) -> None:
        for write in writes:
            documents = self.collections.setdefault(write.collection, {})
            fields = self._stamped(write.fields)
            if not write.merge:
                documents[write.document_id] = fields
                continue
            document = documents.setdefault(write.document_id, {})
            for path in write.paths or tuple((name,) for name in fields):
                value: Any = fields
                for part in path:
                    value = value[part]
                target = document
                for part in path[:-1]:
                    target = target.setdefault(part, {})
                target[path[-1]] = copy.deepcopy(value)
