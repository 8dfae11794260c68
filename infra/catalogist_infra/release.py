"""`catalogist release publish SOURCE_FOLDER gs://BUCKET/KIND/VERSION`: a model release into the
models bucket, where the function's settings (CATALOGIST_<KIND>_RELEASE) name it.

    catalogist release publish artifacts/classifier/release gs://my-models/classifier/20260115-093000

KIND is classifier, textcat or price; VERSION is the manifest's `version`. The checks (the
release opens as the function opens it; an existing version is refused, never overwritten; the
manifest goes up last) are `catalogist_training.publish`'s, shared with training jobs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from catalogist.errors import ModelError
from catalogist.flags import add_flag
from catalogist.models.kinds import KINDS, MANIFEST, ReleaseKind
from catalogist.models.releases import Release, sha256_of
from catalogist_training.publish import PublishError, parse_destination, publish

# What a release measured of, or set for, the decisions its own thresholds make: its promise, the
# calibration behind it, the precision a recalibration aimed at. Other thresholds make other
# decisions, so a derived release does not carry them (`Release.target_precision` is None).
DECISION_CLAIMS = ("promise", "calibration", "target_precision")


def accuracy_only(metrics: Any) -> Any:
    """`metrics` without the shares filed alone and their precision (`auto_accept_*`), which
    depend on the thresholds; the accuracy figures do not."""
    if not isinstance(metrics, dict):
        return metrics
    return {k: accuracy_only(v) for k, v in metrics.items() if not str(k).startswith("auto_accept")}


def derive(source: Path, out: Path, thresholds: dict[str, float], version: str = "", command: str = "") -> Release:
    """A new release of the same model with other decision thresholds (a looser or stricter
    promise of precision): the release's files copied to `out`, its taxonomy's thresholds
    replaced for the levels named, and a manifest with a new version (by default the time, as
    trainers name releases) that says what it was derived from, keeping the source's accuracy
    figures but none of what it measured of its decisions (`DECISION_CLAIMS`, `auto_accept_*`):
    those were measured at other thresholds. A stand-in for a retrained
    release where none is at hand: the demo's second release, the tests' looser and stricter ones."""
    folder = ReleaseKind.release_in(Path(source))
    manifest = json.loads((folder / MANIFEST).read_text())
    kind = next((k for k in KINDS if k.manifest_kind == manifest.get("kind")), None)
    if kind is None or not kind.tree:
        raise PublishError(f"{folder} is not a release with a category tree (a classifier or text categorizer)")
    release = Release.open(folder, kind.manifest_kind, kind.files)
    from catalogist.models.taxonomy import Taxonomy

    taxonomy = Taxonomy.load(folder / "taxonomy.json")
    unknown = set(thresholds) - set(taxonomy.levels)
    if unknown:
        raise PublishError(f"no level {', '.join(sorted(unknown))} in {folder}: the levels are {taxonomy.levels}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in manifest["files"]:
        shutil.copy2(folder / name, out / name)
    changed = taxonomy.with_thresholds(
        tuple(thresholds.get(level, t) for level, t in zip(taxonomy.levels, taxonomy.thresholds, strict=True))
    )
    changed.save(out / "taxonomy.json")
    derived = {
        **{key: value for key, value in manifest.items() if key not in DECISION_CLAIMS},
        "metrics": accuracy_only(manifest.get("metrics") or {}),
        "version": version or datetime.now(UTC).strftime("%Y%m%d-%H%M%S"),
        "files": {name: sha256_of(out / name) for name in manifest["files"]},
        "thresholds": dict(zip(changed.levels, changed.thresholds, strict=True)),
        "derived_from": {
            "version": release.version,
            "thresholds": dict(zip(taxonomy.levels, taxonomy.thresholds, strict=True)),
        },
        "command": command
        or f"catalogist release derive {folder} {out} "
        + " ".join(f"--threshold {k}={v}" for k, v in thresholds.items()),
    }
    (out / MANIFEST).write_text(json.dumps(derived, indent=2) + "\n")
    return Release.open(out, kind.manifest_kind, kind.files)


def run_derive(args: argparse.Namespace) -> int:
    thresholds = {}
    for given in args.threshold or ():
        level, _, value = given.partition("=")
        try:
            thresholds[level.strip()] = float(value)
        except ValueError:
            print(f"catalogist release derive: --threshold takes LEVEL=NUMBER, got {given!r}", file=sys.stderr)
            return 2
    try:
        release = derive(Path(args.source), Path(args.out), thresholds, args.version or "")
    except (PublishError, ModelError) as error:
        print(f"catalogist release derive: {error}", file=sys.stderr)
        return 1
    print(f"release {release.version} in {release.folder}, thresholds {release.manifest['thresholds']}")
    return 0


def attach_map(release_folder: Path, map_file: Path, store_release: Path) -> dict:
    """Check a store map (`catalogist.models.store_map`) against the classifier's photo tree and
    the store's tree (the text categorizer release's), and write it into the classifier release
    with a new version; its manifest says what changed it (`changed_after`). Raises PublishError
    with every problem found, writing nothing."""
    from catalogist.models.kinds import CLASSIFIER, TEXTCAT
    from catalogist.models.store_map import MAP_FILE, StoreMap
    from catalogist.models.taxonomy import Taxonomy
    from catalogist_training.release_manifest import rewrite_manifest

    folder = ReleaseKind.release_in(Path(release_folder))
    store_folder = ReleaseKind.release_in(Path(store_release))
    try:
        Release.open(folder, CLASSIFIER.manifest_kind, CLASSIFIER.files)
        Release.open(store_folder, TEXTCAT.manifest_kind, only=("taxonomy.json",))
        store_map = StoreMap.load(map_file)
    except (ModelError, OSError, ValueError, KeyError) as error:
        raise PublishError(f"cannot attach {map_file}: {error}") from None
    store = Taxonomy.load(store_folder / "taxonomy.json")
    problems = store_map.problems(Taxonomy.load(folder / "taxonomy.json"), store)
    if problems:
        raise PublishError(f"{map_file} does not fit: " + "; ".join(problems))
    store_map.attached(store).save(folder / MAP_FILE)
    command = f"catalogist release map {release_folder} {map_file} --store-tree {store_release}"
    return rewrite_manifest(folder, command, store_tree={"release": str(store_release), "levels": list(store.levels)})


def run_map(args: argparse.Namespace) -> int:
    try:
        manifest = attach_map(Path(args.release), Path(args.map_file), Path(args.store_tree))
    except PublishError as error:
        print(f"catalogist release map: {error}", file=sys.stderr)
        return 2
    print(f"release {manifest['version']} in {args.release} places its photos in the tree of {args.store_tree}")
    return 0


def run(args: argparse.Namespace) -> int:
    from google.cloud import storage  # type: ignore[attr-defined]  # no type information

    # Against the local stack, the client follows STORAGE_EMULATOR_HOST.
    client = storage.Client(project=args.project)
    try:
        written = publish(Path(args.source), args.destination, client)
    except PublishError as error:
        print(f"catalogist release publish: {error}", file=sys.stderr)
        return 1
    bucket, kind, version = parse_destination(args.destination)
    print(f"published {kind} {version}: {len(written)} files to gs://{bucket}/{kind}/{version}/")
    print(f"serve it with CATALOGIST_{kind.upper()}_RELEASE=gs://{bucket}/{kind}/{version}")
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "release",
        help="publish a model release to the models bucket",
        description="Model releases in the models bucket.",
    )
    actions = parser.add_subparsers(dest="release_command", required=True, metavar="ACTION")
    publish_parser = actions.add_parser(
        "publish",
        help="check a release folder and upload it as a new version",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    publish_parser.add_argument("source", metavar="SOURCE_FOLDER", help="the release folder (with its manifest.json)")
    publish_parser.add_argument("destination", metavar="gs://BUCKET/KIND/VERSION", help="where to publish it")
    add_flag(publish_parser, "--project", "GOOGLE_CLOUD_PROJECT", "project of the models bucket")
    publish_parser.set_defaults(func=run)
    derive_parser = actions.add_parser(
        "derive",
        help="a new release of the same model with other decision thresholds",
        description=derive.__doc__,
    )
    derive_parser.add_argument("source", metavar="SOURCE_FOLDER", help="the release to derive from")
    derive_parser.add_argument("out", metavar="OUT_FOLDER", help="where the new release is written")
    derive_parser.add_argument("--threshold", action="append", help="LEVEL=NUMBER, e.g. fine=0.7 (repeatable)")
    derive_parser.add_argument("--version", help="the new release's version (default: now, YYYYMMDD-HHMMSS)")
    derive_parser.set_defaults(func=run_derive)
    map_parser = actions.add_parser(
        "map",
        help="place a classifier's categories in the store's tree (a store map, checked against both trees)",
        description=attach_map.__doc__,
    )
    map_parser.add_argument("release", metavar="CLASSIFIER_RELEASE", help="the classifier release folder")
    map_parser.add_argument("map_file", metavar="MAP_FILE", help='{"nodes": {"Fruit/Apple": "Fruits & Vegetables/…"}}')
    map_parser.add_argument("--store-tree", required=True, metavar="TEXTCAT_RELEASE", help="the store tree's release")
    map_parser.set_defaults(func=run_map)
