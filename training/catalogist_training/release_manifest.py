"""The manifest every model release carries: what it is, its files' sha256, metrics, versions.

The functions refuse a release whose files do not match (`catalogist.models.releases.verify_release`).
"""

from __future__ import annotations

import json
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from catalogist.models.releases import MANIFEST, sha256_of

PACKAGES = ("numpy", "scipy", "scikit-learn", "lightgbm", "tensorflow", "keras", "ai-edge-litert", "pillow")


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def write_manifest(folder: Path, kind: str, files: list[str], **extra: Any) -> dict[str, Any]:
    """Hash `files` (names inside `folder`) and write `folder/manifest.json`; the manifest."""
    manifest = {
        "kind": kind,
        "version": time.strftime("%Y%m%d-%H%M%S", time.gmtime()),
        "files": {name: sha256_of(folder / name) for name in sorted(files)},
        "versions": package_versions(),
        **extra,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return manifest
