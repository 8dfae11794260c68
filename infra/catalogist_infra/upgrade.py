"""`catalogist upgrade`: bring what an earlier Catalogist stored up to what this one reads.

    catalogist upgrade --project MY-PROJECT
    catalogist upgrade            # the local stack: export what `catalogist dev up` prints first

Each step is idempotent: a second run changes nothing, and a run that stopped part way is
finished by running it again. Today one step: audits recorded before reviews stored the release
they checked (`audit_version`) get it from the decision they recorded, so the overview, which
counts the releases in service only, counts them again.
"""

from __future__ import annotations

import argparse

from catalogist_infra.command_settings import add_store_flags, command_settings


def run(args: argparse.Namespace) -> int:
    from catalogist.documents.reviews import backfill_audit_versions
    from catalogist.wiring import document_store

    given, read = backfill_audit_versions(document_store(command_settings(args)))
    print(f"reviews: {given:,} of {read:,} audits given the release they checked (audit_version)")
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "upgrade",
        help="bring stored documents up to what this version reads",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_store_flags(parser)
    parser.set_defaults(func=run)
