"""`catalogist release publish SOURCE_FOLDER gs://BUCKET/KIND/VERSION`: a model release into the
models bucket, where the function's settings (CATALOGIST_<KIND>_RELEASE) name it.

    catalogist release publish artifacts/classifier/release gs://my-models/classifier/20260115-093000

KIND is classifier, textcat or price; VERSION is the manifest's `version`. The checks (the
release opens as the function opens it; an existing version is refused, never overwritten; the
manifest goes up last) are `catalogist_training.publish`'s, shared with training jobs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from catalogist.flags import add_flag
from catalogist_training.publish import PublishError, parse_destination, publish


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
