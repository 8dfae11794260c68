"""In-memory stand-ins for the two cloud adapters (pure-unit seams only)."""

import copy
from typing import Any

from catalogist.errors import PermanentError
from catalogist.ports import Write


class MemoryBlobs:
    def __init__(self, objects: dict[tuple[str, str], bytes] | None = None) -> None:
        self.objects = objects or {}
        self.reads = 0

    def read_range(self, bucket: str, name: str, generation: str, length: int) -> bytes:
        self.reads += 1
        return self._data(bucket, name)[:length]

    def read_all(self, bucket: str, name: str, generation: str, max_bytes: int) -> bytes:
        data = self._data(bucket, name)
        if len(data) > max_bytes:
            raise PermanentError(f"the object is larger than the limit of {max_bytes:,} bytes")
        return data

    def _data(self, bucket: str, name: str) -> bytes:
        try:
            return self.objects[(bucket, name)]
        except KeyError:
            raise PermanentError(f"gs://{bucket}/{name} no longer exists") from None


class MemoryDocuments:
    def __init__(self) -> None:
        self.collections: dict[str, dict[str, dict[str, Any]]] = {}

    def get(self, collection: str, document_id: str) -> dict[str, Any] | None:
        found = self.collections.get(collection, {}).get(document_id)
        return copy.deepcopy(found) if found is not None else None

    def create(self, collection: str, document_id: str, fields) -> bool:
        documents = self.collections.setdefault(collection, {})
        if document_id in documents:
            return False
        documents[document_id] = copy.deepcopy(dict(fields))
        return True

    def update(self, collection: str, document_id: str, fields) -> None:
        self.collections[collection][document_id].update(copy.deepcopy(dict(fields)))

    def get_many(self, collection: str, document_ids) -> dict[str, dict[str, Any]]:
        found = {i: self.get(collection, i) for i in document_ids}
        return {i: document for i, document in found.items() if document is not None}

    def commit(self, writes: list[Write]) -> None:
        for write in writes:
            documents = self.collections.setdefault(write.collection, {})
            if not write.merge:
                documents[write.document_id] = copy.deepcopy(dict(write.fields))
                continue
            document = documents.setdefault(write.document_id, {})
            for path in write.paths or tuple((name,) for name in write.fields):
                value: Any = write.fields
                for part in path:
                    value = value[part]
                target = document
                for part in path[:-1]:
                    target = target.setdefault(part, {})
                target[path[-1]] = copy.deepcopy(value)
