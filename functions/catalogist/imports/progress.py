"""How far an import got, and whether it may go on: the import document's progress and the check
for a newer generation on a cadence of rows and seconds (`Cadence`), and the object's bytes
counted against the size its event announced (`SizedStream`)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any, BinaryIO

from catalogist.documents.imports import COLLECTION as IMPORTS
from catalogist.errors import ShortRead, Superseded
from catalogist.imports.pages import Counts
from catalogist.ports import DocumentStore

# The import document's progress and the check for a newer generation, whichever comes first.
CHECK_EVERY_ROWS = 20_000
CHECK_EVERY_SECONDS = 5.0


class Cadence:
    """Every `every_rows` rows or `every_seconds` seconds, whichever comes first, whatever the
    rows' fate: the import document shows the rows seen so far, and the import stops if a newer
    generation of its file was uploaded. A file whose rows are all rejected is still watched."""

    def __init__(
        self,
        documents: DocumentStore,
        import_id: str,
        counts: Counts,
        still_current: Callable[[], bool] | None,
        progress: Callable[[int], None] | None,
        every_rows: int = CHECK_EVERY_ROWS,
        every_seconds: float = CHECK_EVERY_SECONDS,
    ) -> None:
        self._documents, self._import_id, self._counts = documents, import_id, counts
        self._still_current, self._progress = still_current, progress
        self._every_rows, self._every_seconds = every_rows, every_seconds
        self._next_rows = every_rows
        self._next_time = time.monotonic() + every_seconds

    def row_seen(self) -> None:
        if self._counts.rows_seen >= self._next_rows or time.monotonic() >= self._next_time:
            self._next_rows = self._counts.rows_seen + self._every_rows
            self._next_time = time.monotonic() + self._every_seconds
            if self._progress:
                self._progress(self._counts.rows_seen)
            self._documents.update(
                IMPORTS,
                self._import_id,
                {
                    "rows_seen": self._counts.rows_seen,
                    "rejected": self._counts.rejected,
                    "written": self._counts.written,
                },
            )
            self.stop_if_superseded()

    def stop_if_superseded(self) -> None:
        if self._still_current is not None and not self._still_current():
            raise Superseded("a newer generation of this file was uploaded; the import stopped for it")


class SizedStream(io.RawIOBase):
    """The object's bytes, counted: a stream that ends before the size the event announced was
    cut short (a dropped connection), and the import must not end `done` on part of the file.
    Checked once the rows are read (`check_complete`), so the readers see an ordinary stream."""

    def __init__(self, inner: BinaryIO, size: int) -> None:
        super().__init__()
        self._inner, self.size = inner, size
        self._position = 0
        self.ended_at: int | None = None  # where a read first found the end

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._inner.seekable()

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        if not data and len(buffer) and self.ended_at is None:
            self.ended_at = self._position
        self._position += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._position = self._inner.seek(offset, whence)
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        self._inner.close()
        super().close()

    def check_complete(self) -> None:
        if self.ended_at is not None and self.ended_at < self.size:
            raise ShortRead(
                f"the file ended after {self.ended_at:,} of its {self.size:,} bytes (the read was cut short); "
                "the import is tried again"
            )
