"""Publishing a model release into the models bucket, where the function's settings
(CATALOGIST_<KIND>_RELEASE) name it: what `catalogist release publish` does, and what a training
job does with `--publish` when its release passed the gate.

Before anything is sent, the folder is opened with the loader the function uses
(`catalogist.models.releases.Release.open`): its manifest must name the kind, list every file
with its sha256, and carry the version the destination names. A version that already exists is
refused, never overwritten, so a release in service stays the bytes that were checked. The
manifest goes up last: until it is there, a reader finds no release rather than half of one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Protocol

from google.api_core import exceptions as gexc

from catalogist.errors import ModelError
from catalogist.models.kinds import KINDS, MANIFEST, ReleaseKind, by_name
from catalogist.models.releases import Release
from catalogist.models.store_map import MAP_FILE, StoreMap
from catalogist.models.taxonomy import Taxonomy

_DESTINATION = re.compile(r"gs://([a-z0-9][a-z0-9._-]{1,220}[a-z0-9])/([a-z]+)/([A-Za-z0-9._-]+)/?")


class PublishError(Exception):
    """The release was not published; the message says why, in words an operator acts on."""


class StorageClient(Protocol):
    """What publishing needs of `google.cloud.storage.Client` (a fake in tests, the emulator's
    client in the local stack)."""

    def list_blobs(self, bucket_or_name: Any, prefix: str | None = None, max_results: int | None = None) -> Any: ...

    def bucket(self, bucket_name: str) -> Any: ...


def parse_destination(destination: str) -> tuple[str, str, str]:
    """`gs://bucket/kind/version` -> (bucket, kind, version)."""
    match = _DESTINATION.fullmatch(destination)
    if not match:
        raise PublishError(f"the destination must be gs://BUCKET/KIND/VERSION, got {destination!r}")
    bucket, kind, version = match.groups()
    if kind not in {k.name for k in KINDS}:
        raise PublishError(f"the destination's kind must be one of {', '.join(k.name for k in KINDS)}, got {kind!r}")
    return bucket, kind, version


def publish(folder: Path, destination: str, storage_client: StorageClient) -> list[str]:
    """Upload the release in `folder` to `destination`; the object names written, manifest last."""
    bucket_name, kind, version = parse_destination(destination)
    folder = ReleaseKind.release_in(Path(folder))
    try:
        release = Release.open(folder, by_name(kind).manifest_kind, by_name(kind).files)
    except ModelError as error:
        raise PublishError(f"{folder} is not a {kind} release that can be published: {error}") from None
    if MAP_FILE in release.manifest["files"]:
        # Its store side was checked against the store's whole tree when it was attached
        # (`catalogist release map`); its photo side is checked against this very release.
        store_map = StoreMap.load(folder / MAP_FILE)
        problems = store_map.photo_problems(Taxonomy.load(folder / "taxonomy.json"))
        if not store_map.store_levels:
            problems.append("it was not attached with `catalogist release map` (no store levels)")
        if problems:
            raise PublishError(f"{folder}'s store map: {'; '.join(problems[:5])}")
    if release.version != version:
        raise PublishError(
            f"{folder / MANIFEST} says version {release.version!r}; the destination names {version!r}. "
            f"Publish it as gs://{bucket_name}/{kind}/{release.version}"
        )
    prefix = f"{kind}/{version}/"
    if any(True for _ in storage_client.list_blobs(bucket_name, prefix=prefix, max_results=1)):
        raise PublishError(
            f"gs://{bucket_name}/{prefix} already exists: a published version is never overwritten. "
            "Train or export under a new version."
        )
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != MANIFEST and not p.name.startswith("."))
    bucket = storage_client.bucket(bucket_name)
    written = []
    for path in [*files, folder / MANIFEST]:
        name = prefix + path.name
        try:
            # Create-only: a publisher racing this one cannot replace what this one wrote.
            bucket.blob(name).upload_from_filename(str(path), if_generation_match=0)
        except gexc.PreconditionFailed:
            raise PublishError(
                f"gs://{bucket_name}/{name} appeared while publishing: another publish is under way"
            ) from None
        written.append(name)
    return written
