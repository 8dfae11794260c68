"""The two seams between the pure core and the cloud: blobs and documents.

The adapters (`storage_adapter`, `firestore_adapter`) implement these against the Google
clients; unit tests pass small in-memory fakes instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Write:
    """One document write. With `merge`, each field path in `paths` (by default every top-level
    field given) is replaced whole and the document's other fields are kept; without it the
    document becomes `fields`. With `create` the document must not exist yet (the whole commit
    fails with the store's "already exists" otherwise); `delete` removes it."""

    collection: str
    document_id: str
    fields: Mapping[str, Any]
    merge: bool = True
    paths: tuple[tuple[str, ...], ...] = ()
    create: bool = False
    delete: bool = False


@dataclass(frozen=True)
class LaunchedJob:
    """A batch job a runner accepted."""

    name: str
    id: str  # the runner's own id (Dataflow's job id; the local process id)
    runner: str  # dataflow | local
    console: str = ""  # where a person follows it: its Dataflow console page, or its log file


class JobLauncher(Protocol):
    """Starts import jobs (Dataflow Flex Templates in GCP, Beam's local runner on one machine)."""

    def launch(self, name: str, parameters: Mapping[str, str]) -> LaunchedJob:
        """Start the job called `name` with these parameters. The same name again while that job
        is active starts nothing and answers with it: a launch repeated after a lost answer."""
        ...


Filter = tuple[str, str, Any]  # (top-level field, one of == < <= > >= in, value)
# A read-modify-write step: (document id, its stored fields or None when it does not exist) ->
# the top-level fields to set (each replaced whole), or None to leave the document as it is. It
# may be called again for the same document when another writer got there first, so it computes
# from what it is given and nothing else; an exception it raises stops the whole `modify`.
Change = Callable[[str, dict[str, Any] | None], Mapping[str, Any] | None]
REVISION = "revision"
"""Set by `modify` on every document it writes: how many times `modify` has changed it. A reader
that shows a document and later acts on it (a reviewer's card) compares it to detect a change."""


class ModifyConflict(Exception):
    """A document kept changing under `modify` for all its attempts (transient: retried later)."""


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

    def modify(
        self,
        collection: str,
        document_ids: Sequence[str],
        change: Change,
        known: Mapping[str, dict[str, Any] | None] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Change each document from what is stored, safe against concurrent writers: a document
        is written only if nothing else wrote it since it was read (else it is read and changed
        again), with `REVISION` one above the stored one. `known` (fields by id, as a read just
        returned them) saves the first read. At most 500 ids. The fields written, by id."""
        ...

    def find(self, collection: str, field: str, value: Any, limit: int = 1000) -> dict[str, dict[str, Any]]:
        """The documents whose top-level `field` equals `value` (at most `limit`), by id."""
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

    def scan(
        self, collection: str, filters: Sequence[Filter], after: str = "", page: int = 500
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every document matching the filters (equalities), in document id order, from the first
        id above `after`: a whole collection read in pages of `page` (a batch job's input)."""
        ...
