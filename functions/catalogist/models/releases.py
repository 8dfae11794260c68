"""Model releases: a folder of files plus a manifest, fetched and checked once per instance.

A release location is a local folder or `gs://bucket/path/to/release`. Remote releases are
downloaded into a cache folder named after the location. Every file the manifest lists must
match its sha256 before any model reads it, so a half-copied or tampered release fails at load
with `ModelError` instead of answering wrongly. The three models (classifier, text categorizer,
price) are loaded the same way and carry their `Release`, whose `version` is what products
record as the model version.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from catalogist.errors import ModelError
from catalogist.models.kinds import MANIFEST, ReleaseKind
from catalogist.ports import ReleaseFiles

Model = TypeVar("Model")


def sha256_of(path: Path) -> str:
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


@dataclass(frozen=True)
class Release:
    """A release folder whose files all matched its manifest when it was opened."""

    folder: Path
    manifest: Mapping[str, Any]

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def kind(self) -> str:
        return str(self.manifest.get("kind", ""))

    @property
    def target_precision(self) -> float | None:
        """The precision its thresholds were set for: a recalibration's (`catalogist calibrate`
        writes it at the top), else training's (`--target-precision`, in the config). None for a
        release that decides nothing by threshold, or whose thresholds were set by hand
        (`catalogist release derive`)."""
        if "derived_from" in self.manifest:
            return None
        value = self.manifest.get("target_precision", (self.manifest.get("config") or {}).get("target_precision"))
        return float(value) if isinstance(value, int | float) else None

    def path(self, name: str) -> Path:
        return self.folder / name

    @classmethod
    def open(cls, folder: Path, kind: str, required: tuple[str, ...] = (), only: tuple[str, ...] = ()) -> Release:
        """Check the manifest names this `kind` and lists `required`, and every listed file (or
        only those named in `only`, for a reader that needs no more) is present and unaltered.
        `folder` is the release, or the folder a trainer wrote it into (`ReleaseKind.release_in`)."""
        folder = ReleaseKind.release_in(Path(folder))
        path = folder / MANIFEST
        if not path.exists():
            raise ModelError(f"model release {folder} has no {MANIFEST}")
        try:
            manifest = json.loads(path.read_text())
            files = manifest["files"]
            manifest["version"]
        except (ValueError, KeyError) as error:
            raise ModelError(f"{path} is not a release manifest: missing {error}") from None
        if manifest.get("kind") != kind:
            raise ModelError(f"{folder} holds a {manifest.get('kind')!r} release, not {kind!r}")
        for name in required:
            if name not in files:
                raise ModelError(f"{path} does not list {name}")
        for name, expected in files.items():
            if only and name not in only:
                continue
            if not (folder / name).exists():
                raise ModelError(f"model release {folder} is missing {name}")
            found = sha256_of(folder / name)
            if found != expected:
                raise ModelError(f"{folder / name} has sha256 {found[:12]}…, the manifest expects {expected[:12]}…")
        return cls(folder, manifest)


def split_gs(location: str) -> tuple[str, str]:
    """`gs://bucket/some/prefix` -> ("bucket", "some/prefix")."""
    bucket, _, prefix = location.removeprefix("gs://").partition("/")
    if not bucket:
        raise ModelError(f"{location!r} names no bucket")
    return bucket, prefix.strip("/")


def fetch_release(location: str, files: ReleaseFiles, cache_dir: Path, only: tuple[str, ...] = ()) -> Path:
    """A local folder holding the release at `location` (its manifest and the files in `only`,
    when given)."""
    if not location.startswith("gs://"):
        folder = Path(location)
        if not folder.is_dir():
            raise ModelError(f"model release folder {folder} does not exist")
        return folder
    bucket, prefix = split_gs(location)
    folder = cache_dir / hashlib.sha256(location.encode()).hexdigest()[:16]
    names = [name for name in files.list_names(bucket, prefix + "/") if not name.endswith("/")]
    if not names:
        raise ModelError(f"no model release at {location}")
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        relative = name[len(prefix) + 1 :]
        if "/" in relative:  # a release is flat; deeper objects belong to something else
            continue
        if only and relative not in (*only, MANIFEST):
            continue
        files.download_to(bucket, name, str(folder / relative))
    return folder


class Lazy(Generic[Model]):
    """A value built on first use, once, however many request threads ask at the same time
    (functions-framework serves requests on several threads): a model release, the panel."""

    def __init__(self, build: Callable[[], Model]) -> None:
        self._build = build
        self._value: Model | None = None
        self._lock = threading.Lock()

    def get(self) -> Model:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
        return self._value


def loaded_once(
    location: str, open: Callable[[Path], Model], files: ReleaseFiles, cache_dir: Path, only: tuple[str, ...] = ()
) -> Lazy[Model]:
    """The model of one release location, fetched (`fetch_release`) and opened on first use,
    then kept for the instance. `open` builds the model from the local folder (each model's
    `open`, which checks the release with `Release.open`)."""
    return Lazy(lambda: open(fetch_release(location, files, cache_dir, only)))
