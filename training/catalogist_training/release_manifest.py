"""The manifest every model release carries: what it is, its files' sha256, metrics, the
packages that built it and the command that rebuilds it. The one writer of `manifest.json`.

The functions refuse a release whose files do not match (`catalogist.models.releases.Release`).
"""

from __future__ import annotations

import json
import platform
import shlex
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from catalogist.models.kinds import KINDS, MANIFEST, ReleaseKind
from catalogist.models.releases import sha256_of

_COMMAND: list[str] = []  # the `catalogist` arguments of this run, set by the CLI that parsed them


def record_command(argv: list[str]) -> None:
    """Remember the command line that is building releases, for their manifests."""
    _COMMAND[:] = argv


PACKAGES = ("numpy", "scipy", "scikit-learn", "lightgbm", "tensorflow", "keras", "ai-edge-litert", "pillow")


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def this_command() -> str:
    return " ".join(shlex.quote(arg) for arg in ["catalogist", *(_COMMAND or sys.argv[1:])])


def write_manifest(folder: Path, kind: ReleaseKind, **extra: Any) -> dict[str, Any]:
    """Hash the kind's files (inside `folder`) and write `folder/manifest.json` under a new
    version; the manifest. `extra` adds the release's own facts (metrics, config, thresholds…)."""
    manifest = {
        "kind": kind.manifest_kind,
        "version": time.strftime("%Y%m%d-%H%M%S", time.gmtime()),
        "files": {name: sha256_of(folder / name) for name in sorted(kind.files_in(folder))},
        "versions": package_versions(),
        "command": this_command(),
        **extra,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return manifest


def rewrite_manifest(folder: Path, changed_by: str, **changes: Any) -> dict[str, Any]:
    """The release's manifest written again (new version, files hashed again) with `changes`:
    for a release whose files were changed after it was made (thresholds calibrated again).
    `command` stays the one that trained it (what `make models` runs to rebuild it); each later
    change is added to `changed_after` with the command that made it, `changed_by`."""
    old = json.loads((folder / MANIFEST).read_text())
    kept = {key: value for key, value in old.items() if key not in ("kind", "version", "files", "versions")}
    kind = next(k for k in KINDS if k.manifest_kind == old["kind"])
    after = [*old.get("changed_after", []), {"from_version": old["version"], "command": changed_by}]
    trained_by = old.get("command")  # None: a release made before manifests named their command
    return write_manifest(folder, kind, **{**kept, **changes, "command": trained_by, "changed_after": after})


def unpadded(path: tuple[str, ...]) -> tuple[str, ...]:
    """A category path without the names repeated to fill levels (`Fruit/Banana/Banana` is
    `Fruit/Banana`): how trees were padded before they could hold mixed depths."""
    while len(path) > 1 and path[-1] == path[-2]:
        path = path[:-1]
    return path


def unpad_tree(folder: Path) -> dict[str, Any]:
    """Rename a padded release's leaves to their own depth, in place and in the model's output
    order (the model is unchanged); a new version with its manifest written again."""
    from catalogist.models.taxonomy import Taxonomy

    path = folder / "taxonomy.json"
    padded = Taxonomy.load(path)
    renamed = Taxonomy(
        padded.levels, tuple(unpadded(leaf) for leaf in padded.leaves), padded.thresholds, padded.accept_level
    )
    renamed.save(path)
    return rewrite_manifest(folder, f"python -m catalogist_training.release_manifest unpad {folder}")


if __name__ == "__main__":
    # python -m catalogist_training.release_manifest unpad RELEASE_FOLDER
    if sys.argv[1:2] != ["unpad"] or len(sys.argv) != 3:
        raise SystemExit("usage: python -m catalogist_training.release_manifest unpad RELEASE_FOLDER")
    print(unpad_tree(Path(sys.argv[2]))["version"])
