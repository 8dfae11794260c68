"""In-memory stand-ins for the two cloud adapters (pure-unit seams only)."""

import copy
import functools
import io
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from catalogist.errors import PermanentError
from catalogist.ports import REVISION, ModifyConflict, Write


@dataclass(frozen=True)
class Expecting(Write):
    """A write of `MemoryDocuments.modify`, made only if the document is still at `revision`."""

    revision: int = 0


class AlreadyExists(Exception):
    """A commit created a document that exists (the store's own error in the adapters)."""


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

    def scan(self, collection, filters, after="", page=500):
        with self._lock:
            found = sorted(
                (i, copy.deepcopy(d))
                for i, d in self.collections.get(collection, {}).items()
                if i > after and all(_matches(d, f) for f in filters)
            )
        yield from found

    @_atomic
    def find(self, collection: str, field: str, value: Any, limit: int = 1000) -> dict[str, dict[str, Any]]:
        documents = self.collections.get(collection, {})
        found = [(i, d) for i, d in documents.items() if d.get(field) == value][:limit]
        return {i: copy.deepcopy(d) for i, d in found}

    def _stamped(self, fields) -> dict[str, Any]:
        return copy.deepcopy(dict(fields))

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

    def modify(self, collection, document_ids, change, known=None) -> dict[str, dict[str, Any]]:
        """Optimistic, as the emulator adapter's claims are: each document is written only if its
        revision is still the one it was changed from, else read and changed again. Reads and
        commits go through `get_many` and `commit`, so a test that slows or races them sees it."""
        pending = list(dict.fromkeys(document_ids))
        stored = None if known is None else {i: copy.deepcopy(known.get(i)) for i in pending}
        written: dict[str, dict[str, Any]] = {}
        for _ in range(10):
            if stored is None:
                found = self.get_many(collection, pending)
                stored = {i: found.get(i) for i in pending}
            writes = []
            for document_id in pending:
                fields = change(document_id, copy.deepcopy(stored[document_id]))
                if fields is not None:
                    revision = int((stored[document_id] or {}).get(REVISION) or 0)
                    writes.append(
                        Expecting(collection, document_id, {**fields, REVISION: revision + 1}, revision=revision)
                    )
            lost = set(self.commit(writes) or ()) if writes else set()
            written.update((w.document_id, dict(w.fields)) for w in writes if w.document_id not in lost)
            if not lost:
                return copy.deepcopy(written)
            pending, stored = [i for i in pending if i in lost], None
        raise ModifyConflict(f"{collection}: {pending[0]} kept changing")

    @_atomic
    def commit(self, writes: list[Write]) -> list[str]:
        """The ids of `Expecting` writes left out because their document changed meanwhile."""
        for write in writes:  # creates first: a commit that fails writes nothing
            if write.create and write.document_id in self.collections.get(write.collection, {}):
                raise AlreadyExists(f"{write.collection}/{write.document_id} exists")
        lost = [
            w.document_id
            for w in writes
            if isinstance(w, Expecting)
            and int((self.collections.get(w.collection, {}).get(w.document_id) or {}).get(REVISION) or 0) != w.revision
        ]
        for write in writes:
            if isinstance(write, Expecting) and write.document_id in lost:
                continue
            documents = self.collections.setdefault(write.collection, {})
            if write.delete:
                documents.pop(write.document_id, None)
                continue
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
        return lost
