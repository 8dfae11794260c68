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
import os
from pathlib import Path

from catalogist.errors import PermanentError
from catalogist.flags import add_flag


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from catalogist.adapters.storage import StorageBlobs
    from catalogist.imports.pipeline import FileSource, import_file
    from catalogist.models.releases import LoadedOnce
    from catalogist.settings import Settings
    from catalogist.wiring import RowModelsOnce, documents_for, open_price, open_textcat

    path = Path(args.file).resolve()
    if not path.is_file():
        print(f"catalogist import: no file at {path}")
        return 2
    blobs = StorageBlobs(args.project)  # only used when a release location is gs://
    cache = Path(args.model_cache_dir)
    models = RowModelsOnce(
        LoadedOnce(args.textcat_release, open_textcat, blobs, cache),
        LoadedOnce(args.price_release, lambda folder: open_price(folder, Settings.currency), blobs, cache),
    )
    documents = documents_for(args.project, os.environ.get("FIRESTORE_EMULATOR_HOST", ""))
    with path.open("rb") as stream:
        content_hash = hashlib.file_digest(stream, "sha256").hexdigest()[:20]
    source = FileSource("local", str(path), content_hash, args.vendor)
    with path.open("rb") as stream, tqdm(desc=f"importing {path.name}", unit=" rows") as bar:
        try:
            summary = import_file(stream, source, documents, models, progress=lambda seen: bar.update(seen - bar.n))
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
    models = os.environ.get("CATALOGIST_MODEL_LOCATION", "artifacts")
    for flag, name, fallback, text in (
        ("--project", "GOOGLE_CLOUD_PROJECT", "catalogist-local", "Firestore project"),
        ("--textcat-release", "CATALOGIST_TEXTCAT_RELEASE", f"{models}/textcat", "text categorizer release"),
        ("--price-release", "CATALOGIST_PRICE_RELEASE", f"{models}/price", "price model release"),
        (
            "--model-cache-dir",
            "CATALOGIST_MODEL_CACHE_DIR",
            ".catalogist/model-cache",
            "where gs:// releases are downloaded",
        ),
    ):
        add_flag(parser, flag, name, text, default=fallback)
    parser.set_defaults(func=run)
