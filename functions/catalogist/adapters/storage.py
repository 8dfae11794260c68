"""Reading object versions with the official Cloud Storage client (one client per instance)."""

from __future__ import annotations

from functools import cached_property
from typing import BinaryIO

from google.api_core import exceptions as gexc
from google.cloud import storage  # type: ignore[attr-defined]  # no type information

from catalogist.errors import PermanentError


class ObjectGone(PermanentError):
    """The object version named by the event no longer exists (overwritten or deleted)."""


class StorageBlobs:
    def __init__(self, project: str) -> None:
        self._project = project

    @cached_property
    def client(self) -> storage.Client:
        # Against the emulator (STORAGE_EMULATOR_HOST) the client needs no credentials.
        return storage.Client(project=self._project)

    def _blob(self, bucket: str, name: str, generation: str) -> storage.Blob:
        return self.client.bucket(bucket).blob(name, generation=int(generation))

    def read_range(self, bucket: str, name: str, generation: str, length: int) -> bytes:
        try:
            return self._blob(bucket, name, generation).download_as_bytes(start=0, end=length - 1)
        except gexc.NotFound:
            raise ObjectGone(f"gs://{bucket}/{name} generation {generation} no longer exists") from None
        except gexc.RequestRangeNotSatisfiable:
            return b""

    def read_all(self, bucket: str, name: str, generation: str, max_bytes: int) -> bytes:
        blob = self._blob(bucket, name, generation)
        try:
            # Ask for one byte past the limit: getting it means the object is too large.
            data = blob.download_as_bytes(start=0, end=max_bytes)
        except gexc.NotFound:
            raise ObjectGone(f"gs://{bucket}/{name} generation {generation} no longer exists") from None
        except gexc.RequestRangeNotSatisfiable:
            return b""
        if len(data) > max_bytes:
            raise PermanentError(f"the object is larger than the limit of {max_bytes:,} bytes")
        return data

    def copy_to_new_generation(self, bucket: str, name: str, generation: str) -> str:
        source = self._blob(bucket, name, generation)
        target = self.client.bucket(bucket).blob(name)
        try:
            token, _, _ = target.rewrite(source)
            while token is not None:  # large objects are copied in several calls
                token, _, _ = target.rewrite(source, token=token)
        except gexc.NotFound:
            raise ObjectGone(f"gs://{bucket}/{name} generation {generation} no longer exists") from None
        return str(target.generation)

    def list_names(self, bucket: str, prefix: str) -> list[str]:
        return [blob.name for blob in self.client.list_blobs(bucket, prefix=prefix)]

    def download_to(self, bucket: str, name: str, path: str) -> None:
        self.client.bucket(bucket).blob(name).download_to_filename(path)

    def open_stream(self, bucket: str, name: str, generation: str) -> BinaryIO:
        """A read-only file object that fetches the object version in chunks as it is read."""
        try:
            return self._blob(bucket, name, generation).open("rb", chunk_size=4 * 1024 * 1024)
        except gexc.NotFound:
            raise ObjectGone(f"gs://{bucket}/{name} generation {generation} no longer exists") from None
