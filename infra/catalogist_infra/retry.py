"""`catalogist retry UPLOAD_ID`: process a failed (or stuck) upload again, by hand.

The object version is written again as a new generation of the same bytes, so the platform
(locally, the event bridge) delivers it as a new upload with fresh attempts; see
`catalogist.intake.retry`. Against the local stack, export its STORAGE_EMULATOR_HOST and
FIRESTORE_EMULATOR_HOST first (`catalogist dev up` prints them).
"""

from __future__ import annotations

import argparse
import getpass
from datetime import UTC, datetime, timedelta

from catalogist_infra.command_settings import add_store_flags, command_settings


def run(args: argparse.Namespace) -> int:
    from catalogist.adapters.storage import StorageBlobs
    from catalogist.intake.retry import RetryRefused, retry_upload
    from catalogist.wiring import document_store

    settings = command_settings(args, "lease_seconds")
    who = f"{getpass.getuser()} (catalogist retry)"
    try:
        generation = retry_upload(
            document_store(settings),
            StorageBlobs(settings.project),
            args.upload_id,
            who,
            datetime.now(UTC),
            timedelta(seconds=settings.lease_seconds),
        )
    except RetryRefused as refused:
        print(f"catalogist retry: {refused.reason}")
        return 1
    print(f"uploads/{args.upload_id} will be processed again as generation {generation}")
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "retry",
        help="process a failed upload again",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("upload_id", help="the upload's id (uploads/{id} in Firestore, shown in the panel)")
    add_store_flags(parser, "lease_seconds")
    parser.set_defaults(func=run)
