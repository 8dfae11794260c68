"""`catalogist import FILE --vendor NAME`: the vendor-file pipeline from the command line.

Runs exactly what `on_upload` runs for a vendor file, against the Firestore the environment
names (`FIRESTORE_EMULATOR_HOST` for the local stack, else Google's with your credentials),
with a progress bar. The import id comes from the file's content, so importing the same file
twice changes nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import replace
from pathlib import Path

from catalogist.errors import PermanentError
from catalogist_infra.command_settings import add_store_flags, command_settings
from catalogist_infra.stack import REPO

# The releases it serves: the committed reference ones unless named (a folder or gs:// path).
RELEASES = ("textcat_release", "price_release", "currency", "model_cache_dir", "audit_rate")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from catalogist.adapters.storage import StorageBlobs
    from catalogist.imports.pipeline import FileSource, ImportContext, import_file
    from catalogist.models.kinds import PRICE, TEXTCAT
    from catalogist.wiring import RowModelsOnce, document_store, models_in_service

    path = Path(args.file).resolve()
    if not path.is_file():
        print(f"catalogist import: no file at {path}")
        return 2
    settings = command_settings(args, *RELEASES)
    blobs = StorageBlobs(settings.project)  # only used when a release location is gs://
    models = models_in_service(settings, blobs)  # the function's own: nothing loads until asked
    documents = document_store(settings)
    with path.open("rb") as stream:
        content_hash = hashlib.file_digest(stream, "sha256").hexdigest()[:20]
    source = FileSource("local", str(path), content_hash, args.vendor)
    with path.open("rb") as stream, tqdm(desc=f"importing {path.name}", unit=" rows") as bar:
        try:
            context = ImportContext(documents, RowModelsOnce(models[TEXTCAT.name], models[PRICE.name]))
            context = replace(context, audit_rate=settings.audit_rate)
            summary = import_file(stream, source, context, progress=lambda seen: bar.update(seen - bar.n))
        except PermanentError as error:
            print(f"rejected: {error.reason}")
            return 1
    shown = {
        k: summary[k]
        for k in (
            "status",
            "format",
            "encoding",
            "rows_seen",
            "written",
            "unchanged",
            "rejected",
            "duplicate_skus",
            "seconds",
        )
        if k in summary
    }
    print(f"imports/{source.import_id}")
    print(json.dumps(shown, indent=2, default=str))
    for problem in summary.get("first_rejected", [])[:10]:
        print(f"  row {problem['row']}: {problem['field']}: {problem['reason']}")
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "import",
        help="import a vendor price list into Firestore from the command line",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", help="the price list: .csv, .tsv, .xlsx, .json, .jsonl or .xml")
    parser.add_argument("--vendor", required=True, help="the vendor the rows belong to")
    add_store_flags(
        parser,
        *RELEASES,
        textcat_release=str(REPO / "models" / "textcat"),
        price_release=str(REPO / "models" / "price"),
    )
    parser.set_defaults(func=run)
