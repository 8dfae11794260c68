"""The two seams between the pure core and the cloud: blobs and documents.

The adapters (`storage_adapter`, `firestore_adapter`) implement these against the Google
clients; unit tests pass small in-memory fakes instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class BlobReader(Protocol):
    def read_range(self, bucket: str, name: str, generation: str, length: int) -> bytes:
        """The first `length` bytes of that object version."""
        ...

    def read_all(self, bucket: str, name: str, generation: str, max_bytes: int) -> bytes:
        """The whole object version; `PermanentError` if it is larger than `max_bytes`."""
        ...


@dataclass(frozen=True)
class Write:
    collection: str
    document_id: str
    fields: Mapping[str, Any]
    merge: bool = True


class DocumentStore(Protocol):
    def get(self, collection: str, document_id: str) -> dict[str, Any] | None: ...

    def create(self, collection: str, document_id: str, fields: Mapping[str, Any]) -> bool:
        """Write a new document; False (and nothing written) if it exists already."""
        ...

    def update(self, collection: str, document_id: str, fields: Mapping[str, Any]) -> None:
        """Change the given fields of an existing document."""
        ...

    def commit(self, writes: Sequence[Write]) -> None:
        """Apply the writes atomically (at most 500, Firestore's batch limit)."""
        ...
