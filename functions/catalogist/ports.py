"""The two seams between the pure core and the cloud: blobs and documents.

The adapters (`storage_adapter`, `firestore_adapter`) implement these against the Google
clients; unit tests pass small in-memory fakes instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, Protocol


class BlobReader(Protocol):
    def read_range(self, bucket: str, name: str, generation: str, length: int) -> bytes:
        """The first `length` bytes of that object version."""
        ...

    def read_all(self, bucket: str, name: str, generation: str, max_bytes: int) -> bytes:
        """The whole object version; `PermanentError` if it is larger than `max_bytes`."""
        ...

    def open_stream(self, bucket: str, name: str, generation: str) -> BinaryIO:
        """The object version as a file object read in chunks (files are streamed, not loaded)."""
        ...


class ObjectCopier(Protocol):
    def copy_to_new_generation(self, bucket: str, name: str, generation: str) -> str:
        """Write that object version again as the object's newest generation; the new one."""
        ...


class ReleaseFiles(Protocol):
    """Where model releases are fetched from (the models bucket)."""

    def list_names(self, bucket: str, prefix: str) -> list[str]: ...

    def download_to(self, bucket: str, name: str, path: str) -> None: ...


class _ServerTime:
    def __repr__(self) -> str:
        return "SERVER_TIME"


SERVER_TIME = _ServerTime()
"""A top-level field value the store replaces with its own clock when the write is applied."""


@dataclass(frozen=True)
class Write:
    """One document write. With `merge`, each field path in `paths` (by default every top-level
    field given) is replaced whole and the document's other fields are kept; without it the
    document becomes `fields`."""

    collection: str
    document_id: str
    fields: Mapping[str, Any]
    merge: bool = True
    paths: tuple[tuple[str, ...], ...] = ()


Filter = tuple[str, str, Any]  # (top-level field, one of == < <= > >= in, value)
Order = tuple[str, str]  # (top-level field, "asc" or "desc")


class DocumentStore(Protocol):
    def get(self, collection: str, document_id: str) -> dict[str, Any] | None: ...

    def get_many(self, collection: str, document_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The documents that exist among `document_ids`, by id."""
        ...

    def create(self, collection: str, document_id: str, fields: Mapping[str, Any]) -> bool:
        """Write a new document; False (and nothing written) if it exists already."""
        ...

    def update(self, collection: str, document_id: str, fields: Mapping[str, Any]) -> None:
        """Change the given fields of an existing document."""
        ...

    def commit(self, writes: Sequence[Write]) -> None:
        """Apply the writes atomically (at most 500, Firestore's batch limit)."""
        ...

    def server_time(self) -> datetime:
        """The store's clock now: what `SERVER_TIME` fields written from here on will be at least."""
        ...

    def find(self, collection: str, field: str, value: Any, limit: int = 1000) -> dict[str, dict[str, Any]]:
        """The documents whose top-level `field` equals `value` (at most `limit`), by id."""
        ...

    def changed_since(self, collection: str, field: str, since: datetime) -> set[str]:
        """Ids of the documents whose timestamp `field` is at or after `since`."""
        ...

    def query(
        self, collection: str, filters: Sequence[Filter], order: Sequence[Order], limit: int
    ) -> list[tuple[str, dict[str, Any]]]:
        """At most `limit` documents matching every filter, in `order`: (id, fields) pairs.
        Pages are taken with a range filter on the order key, never an offset or cursor."""
        ...

    def count(self, collection: str, filters: Sequence[Filter], up_to: int) -> int:
        """How many documents match, counting no further than `up_to` (an aggregation: no
        document is read)."""
        ...
