"""The main job on the local stack: a vendor's photos and price list in, products out, printed,
and the review panel left running to decide what the models were unsure of.

    catalogist demo            # or: make demo

1. Takes the reference model releases committed in `models/` (or the ones named by flags; it
   trains quick stand-ins only when there are none).
2. Starts the local stack and publishes the releases to the emulated models bucket with
   `catalogist release publish`'s own code, so the function loads them from `gs://` as in GCP.
3. Uploads validation photos of the Grocery Store dataset (a local copy, or downloaded) and a
   vendor price list as `demo-vendor`, waits for the function, and prints what a store cares
   about: the share decided without review and how often those decisions were right, what went
   to review and why, the price list's import report, and the panel's address. The stack keeps
   running for the panel (`--stop` stops it at the end; `--screenshots DIR` saves the panel's
   pictures, `catalogist_infra.screenshots`, then stops).

    catalogist demo --rescore  # or: make demo-rescore, on the stack the demo left running

publishes a second release of the classifier and the text categorizer (the reference models with
looser thresholds: a stand-in for a retrained release), re-scores the demo vendor's catalogue
with it (`catalogist rescore`, Apache Beam's local runner) and prints what moved.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.cloud.firestore_v1.base_query import FieldFilter

from catalogist.documents.products import Product
from catalogist.models.kinds import MANIFEST, ReleaseKind, by_name
from catalogist.settings import BY_FIELD
from catalogist_infra.stack import (
    REPO,
    Stack,
    StackConfig,
    finished_uploads,
    firestore_client,
    stop_recorded,
    storage_client,
    wait_until,
)

SAMPLES = REPO / "infra" / "samples"
MODELS = REPO / "models"  # the reference releases committed with the code
VENDOR = "demo-vendor"
SHARED = REPO.parent / "shared" / "datasets"
# Only when no release is committed or given: a stand-in trained in minutes (the last blocks, 3
# epochs, 128 px); near ties at its accuracy flip under int8, so its gate allows 5 points
# (docs/experiments.md). Releases keep the 1-point gate.
QUICK_CLASSIFIER = [
    *("--image-size", "128", "--epochs", "3", "--train-from", "block5"),
    *("--representative-photos", "300", "--max-gap", "0.05"),
]


@dataclass(frozen=True)
class Release:
    kind: str
    folder: Path
    version: str
    promise: str | None = None  # what its decisions keep on unseen photos, as its manifest states it

    @property
    def prefix(self) -> str:
        return f"{self.kind}/{self.version}"


def run(args: argparse.Namespace) -> int:
    from catalogist_infra.dev import print_parts, stack_config
    from catalogist_training.publish import publish

    if args.rescore:
        return rescore(args)

    grocery = _grocery_data(args)
    classifier = _release(
        "classifier",
        args.classifier,
        args,
        lambda out: _train(
            ["classifier", "--data", str(grocery), "--out", str(out), *QUICK_CLASSIFIER],
            "No classifier release committed or given: training a quick stand-in (128 px, 3 epochs; "
            "the real recipe is `catalogist train classifier`)",
        ),
    )
    products_csv = Path(args.products)
    row_models: list[Release] = []
    for kind in ("textcat", "price"):
        if not (getattr(args, kind) or (MODELS / kind / "manifest.json").exists()) and not products_csv.exists():
            print(f"No {kind} release and no catalogue at {products_csv}: the price list is recorded, not imported.")
            row_models = []
            break
        row_models.append(
            _release(
                kind,
                getattr(args, kind),
                args,
                lambda out, kind=kind: _train(
                    [kind, "--data", str(products_csv), "--out", str(out)],
                    f"No {kind} release committed or given: training one on {products_csv}",
                ),
            )
        )

    config = stack_config(args)
    stopped = stop_recorded(config.data_dir)  # the stack of an earlier demo, left running for its panel
    if stopped:
        print(f"stopped the earlier demo's stack ({', '.join(stopped)})")
    # Each demo starts from an empty bucket, so earlier runs' uploads are not replayed.
    shutil.rmtree(config.data_dir / "storage", ignore_errors=True)
    for release in (classifier, *row_models):
        config.function_env[BY_FIELD[by_name(release.kind).setting].env] = (
            f"gs://{config.models_bucket}/{release.prefix}"
        )
    stop_at_end = args.stop or bool(args.screenshots)
    stack = Stack(config, detached=not stop_at_end)
    stack.start()
    documents = firestore_client(stack.config)
    code = 1
    try:
        print_parts(stack)
        client = storage_client(stack.config)
        for release in (classifier, *row_models):
            publish(release.folder, f"gs://{stack.config.models_bucket}/{release.prefix}", client)
            print(f"published {release.kind} {release.version} to gs://{stack.config.models_bucket}/{release.prefix}/")
        code = _upload_and_report(
            stack.config, client, documents, grocery, args.photos, bool(row_models), classifier.promise
        )
        if args.screenshots:
            from catalogist_infra.screenshots import take_screenshots

            for path in take_screenshots(stack.config, Path(args.screenshots), VENDOR):
                print(f"saved {path}")
    finally:
        documents.close()
        if stop_at_end:
            stack.stop()
        else:
            print(f"\nReview what the models were unsure of: {stack.config.panel_url}/")
            print(
                f"  sign in as {stack.config.reviewers.split(',')[0]}; keys: Enter accept, 1-5 alternative, / search,"
            )
            print("  p price, s skip, u undo, j/k move.")
            print("The stack keeps running for the panel; stop it with:")
            print(f"  catalogist dev down --data-dir {stack.config.data_dir}")
    return code


# The demo's second release: the reference models with looser thresholds (more decided without a
# person, at a lower promised precision). A stand-in for a retrained release, not one.
SECOND_RELEASE = {"classifier": {"fine": 0.6, "coarse": 0.9}, "textcat": {"type": 0.8, "sub_category": 0.85}}


def rescore(args: argparse.Namespace) -> int:
    """The second act, on the demo's running stack: a second release of the classifier and the
    text categorizer published, the demo vendor's catalogue re-scored with it on Beam's local
    runner (`catalogist rescore`), and what moved printed."""
    from catalogist_infra.dev import stack_config
    from catalogist_infra.release import derive, publish

    config = stack_config(args)
    if not config.state_file.exists():
        print(f"No demo stack is running from {config.data_dir}: run `make demo` first.")
        return 1
    documents = firestore_client(config)
    client = storage_client(config)
    before = _catalogue(documents)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    releases = {}
    for kind, thresholds in SECOND_RELEASE.items():
        source = _release(kind, getattr(args, kind), args, lambda out: None).folder
        derived = derive(source, Path(args.models_dir) / f"{kind}-{stamp}", thresholds, stamp)
        location = f"gs://{config.models_bucket}/{kind}/{derived.version}"
        publish(derived.folder, location, client)
        releases[kind] = location
        shown = ", ".join(f"{level} {value:.2f}" for level, value in thresholds.items())
        print(f"published {kind} {derived.version}: the reference model, thresholds {shown} (looser) -> {location}")
    price = _release("price", args.price, args, lambda out: None)
    releases["price"] = f"gs://{config.models_bucket}/{price.prefix}"  # the one the demo serves
    command = [str(Path(sys.executable).parent / "catalogist"), "rescore", "--vendor", VENDOR]
    command += [f"--{kind}-release={location}" for kind, location in releases.items()]
    env = {**os.environ, **config.client_env()}
    print(f"\n$ catalogist rescore --vendor {VENDOR} " + " ".join(command[4:]))
    started = time.monotonic()
    done = subprocess.run(command, env=env, check=False)
    if done.returncode:
        return done.returncode
    print(f"(re-scored in {time.monotonic() - started:.1f} s on Beam's local runner)\n")
    after = _catalogue(documents)
    moved = [(pid, before[pid], after[pid]) for pid in sorted(after) if pid in before and before[pid] != after[pid]]
    print(f"{'product':<30} {'before':<48} {'after':<48}")
    for pid, old, new in moved:
        print(f"{pid.split(':', 1)[1][:29]:<30} {old[:47]:<48} {new[:47]:<48}")
    if not moved:
        print("  nothing moved")
    print(
        "\nThe function still serves the first releases: point it at the second "
        "(CATALOGIST_CLASSIFIER_RELEASE, CATALOGIST_TEXTCAT_RELEASE) so new uploads are decided alike."
    )
    documents.close()
    return 0


def _catalogue(documents: Any) -> dict[str, str]:
    """The demo vendor's products: the category each is filed under, and whether it waits for a person."""
    shown = {}
    for snapshot in documents.collection("products").where(filter=FieldFilter("vendor", "==", VENDOR)).stream():
        product = Product.from_fields(snapshot.id, snapshot.to_dict() or {})
        if product.category is not None:
            level = product.category.decided_level
            review = "REVIEW " if product.needs_review else ""
            shown[product.id] = f"{review}{product.category.path_text} ({level})"
    return shown


def _upload_and_report(
    config: StackConfig, client: Any, documents: Any, grocery: Path, count: int, with_rows: bool, promise: str | None
) -> int:
    from catalogist_training.datasets import load_grocery_store

    bucket = client.bucket(config.uploads_bucket)
    photos = _stratified(load_grocery_store(grocery, "val"), count)
    uploads = []
    started = time.monotonic()
    for number, photo in enumerate(photos, start=1):
        blob = bucket.blob(f"{VENDOR}/P{number:03d}.jpg")
        blob.upload_from_filename(str(photo.path), content_type="image/jpeg")
        uploads.append((blob, "/".join(photo.category_path)))
    banana = bucket.blob(f"{VENDOR}/BAN-001.jpg")
    banana.upload_from_filename(str(SAMPLES / "banana.jpg"), content_type="image/jpeg")
    price_list = bucket.blob(f"{VENDOR}/price-list.csv")
    price_list.upload_from_filename(str(SAMPLES / "price-list.csv"), content_type="text/csv")
    print(f"\nuploaded {len(uploads) + 1} photos and a price list to gs://{bucket.name}/{VENDOR}/")

    expected = [b for b, _ in uploads] + [banana] + ([price_list] if with_rows else [])
    entries = wait_until(lambda: finished_uploads(documents, bucket.name, expected), timeout=300, interval=0.5)
    elapsed = time.monotonic() - started
    if entries is None:
        print("The function did not finish within 300 s; see the functions log above.")
        return 1
    print(f"all uploads processed in {elapsed:.1f} s ({len(expected) / elapsed:.1f} uploads/s end to end)\n")

    results = [_photo_result(documents, blob.name, truth, entries[blob.name]) for blob, truth in uploads]
    print(f"{'photo':<16} {'true category':<45} {'decided category':<45} {'conf':>5}  review")
    for r in results:
        review = "REVIEW" if r.needs_review else ""
        print(f"{r.photo:<16} {r.truth[:44]:<45} {r.decided[:44]:<45} {r.confidence:>5.2f}  {review}")
    accepted = [r for r in results if not r.needs_review]
    fine = sum(_same(r.best_leaf, r.truth) for r in results) / len(results)
    right = sum(_within(r.decided, r.truth) for r in accepted)
    print(f"\nOn these {len(results)} validation photos (never trained on):")
    print(
        f"  {len(accepted)} decided without review ({len(accepted) / len(results):.0%}), {right} of them right "
        f"({right / max(len(accepted), 1):.1%} of {len(accepted)} photos)"
    )
    if promise:
        print(f"  the release's promise, from the validation photos these {len(results)} are among: {promise}")
    unsure = Counter(r.decided_level for r in results if r.needs_review)
    why = ", ".join(f"{count} shown at the {level} level only" for level, count in unsure.most_common())
    print(f"  {len(results) - len(accepted)} sent to the review queue: {why or 'none'}")
    print(f"  the best guess was the true variety for {fine:.0%} of all of them")

    if with_rows:
        _print_import(documents, entries[price_list.name])
    joined = _product(documents, f"{VENDOR}:BAN-001")
    photo, row, category = joined.image_category, joined.text_category, joined.category
    if photo and row and category:
        placed = "/".join(photo.store_path) if photo.store_path else "nowhere (the store map says nothing of it)"
        verdict = "decided" if not category.needs_review else f"for a human: {category.review_reason}"
        print(
            f"\nproducts/{joined.id}, one product from a photo and a price-list row ({joined.name!r}):\n"
            f"  the photo:        {photo.path_text}, in the store's tree {placed}\n"
            f"  the price list:   {row.path_text}{'' if not row.needs_review else ' (not sure below this)'}\n"
            f"  filed once under: {category.path_text} ({verdict})"
        )
    return 0


@dataclass(frozen=True)
class PhotoResult:
    photo: str
    truth: str
    decided: str
    best_leaf: str
    confidence: float
    needs_review: bool
    decided_level: str = ""


def _same(leaf: str, truth: str) -> bool:
    return bool(leaf) and leaf == truth


def _within(decided: str, truth: str) -> bool:
    """Whether a decided path is right as far as it goes (Fruit/Apple for a Granny Smith)."""
    parts = decided.split("/")
    return truth.split("/")[: len(parts)] == parts


def _photo_result(documents: Any, name: str, truth: str, entry: dict[str, Any]) -> PhotoResult:
    photo = name.rsplit("/", 1)[-1]
    if entry["status"] != "done":
        return PhotoResult(photo, truth, f"rejected: {entry['reason']}", "", 0.0, True)
    category = _product(documents, entry["product_id"]).image_category
    assert category is not None, f"{name} was done without an image decision"
    return PhotoResult(
        photo,
        truth,
        category.path_text,
        category.alternatives[0].path_text,
        category.confidence[category.decided_level],
        category.needs_review,
        category.decided_level,
    )


def _product(documents: Any, product_id: str) -> Product:
    return Product.from_fields(product_id, documents.collection("products").document(product_id).get().to_dict() or {})


def _print_import(documents: Any, entry: dict[str, Any]) -> None:
    if entry["status"] != "done":
        print(f"\nprice list REJECTED: {entry['reason']}")
        return
    report = documents.collection("imports").document(entry["import_id"]).get().to_dict()
    print(
        f"\nprice list: {report['format']} ({report['encoding']}), {report['rows_seen']} rows seen, "
        f"{report['written']} written, {report['rejected']} rejected"
    )
    for problem in report["first_rejected"]:
        print(f"  rejected row {problem['row']}: {problem['field']}: {problem['reason']}")
    print(f"{'product':<30} {'text category':<52} {'review':<7} {'price (P10–P90)'}")
    for snapshot in documents.collection("products").where(filter=FieldFilter("vendor", "==", VENDOR)).stream():
        product = Product.from_fields(snapshot.id, snapshot.to_dict() or {})
        if product.text_category is None or product.price is None:
            continue
        price = product.price
        print(
            f"{product.name[:29]:<30} {product.text_category.path_text[:51]:<52} "
            f"{'REVIEW' if product.text_category.needs_review else '':<7} "
            f"{price.predicted:>8.2f} ({price.low:.0f}–{price.high:.0f}) {price.currency}"
        )


def _stratified(photos: list[Any], count: int) -> list[Any]:
    """Round-robin over categories so the sample covers as many as it can."""
    by_category: dict[tuple[str, ...], list[Any]] = {}
    for photo in photos:
        by_category.setdefault(photo.category_path, []).append(photo)
    chosen: list[Any] = []
    queues = [list(members) for _, members in sorted(by_category.items())]
    while len(chosen) < count and any(queues):
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(queue.pop(0))
    return chosen


def _grocery_data(args: argparse.Namespace) -> Path:
    from catalogist_training.datasets import resolve_data

    if args.data:
        return Path(args.data)
    if (SHARED / "grocerystore" / "classes.csv").exists():
        return SHARED / "grocerystore"
    print(f"No local Grocery Store copy: downloading it to {args.download_to} …")
    return Path(resolve_data(None, Path(args.download_to)))


def _release(kind: str, given: str | None, args: argparse.Namespace, train: Any) -> Release:
    """The release named, else the committed one, else one trained here before, else a new one."""
    trained = Path(args.models_dir) / kind
    candidates = [Path(given)] if given else [MODELS / kind, REPO / "artifacts" / kind, trained]
    for folder in (ReleaseKind.release_in(c) for c in candidates):
        if (folder / MANIFEST).exists():
            break
    else:
        if given:
            raise SystemExit(f"no {kind} release at {given}")
        train(trained)
        folder = ReleaseKind.release_in(trained)
    manifest = json.loads((folder / MANIFEST).read_text())
    print(f"{kind}: release {manifest['version']} from {folder}")
    return Release(kind, folder, str(manifest["version"]), (manifest.get("promise") or {}).get("statement"))


def _train(arguments: list[str], message: str) -> None:
    print(message)
    command = [str(Path(sys.executable).parent / "catalogist"), "train", *arguments]
    subprocess.run(command, check=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from catalogist.flags import add_flag

    flags: list[tuple[str, str, Any, str]] = [
        (
            "--data",
            "CATALOGIST_DEMO_DATA",
            None,
            "Grocery Store dataset folder (default: the ../shared copy, else a download)",
        ),
        (
            "--download-to",
            "CATALOGIST_DEMO_DOWNLOAD_TO",
            str(REPO / ".catalogist" / "data"),
            "where to download the dataset when there is no local copy",
        ),
        (
            "--products",
            "CATALOGIST_DEMO_PRODUCTS",
            str(SHARED / "bigbasket" / "products.csv"),
            "product catalogue (BigBasket columns) the text and price models train on",
        ),
        ("--photos", "CATALOGIST_DEMO_PHOTOS", 40, "validation photos to upload"),
        (
            "--classifier",
            "CATALOGIST_DEMO_CLASSIFIER",
            None,
            "classifier release folder (default: models/classifier, the committed reference)",
        ),
        ("--textcat", "CATALOGIST_DEMO_TEXTCAT", None, "text categorizer release folder (default: models/textcat)"),
        ("--price", "CATALOGIST_DEMO_PRICE", None, "price model release folder (default: models/price)"),
        (
            "--models-dir",
            "CATALOGIST_DEMO_MODELS_DIR",
            str(REPO / ".catalogist" / "models"),
            "where quick demo models are trained when there are none",
        ),
    ]
    for flag, env, fallback, text in flags:
        add_flag(parser, flag, env, text, type=type(fallback) if fallback else str, default=fallback)
    add_flag(
        parser,
        "--stop",
        "CATALOGIST_DEMO_STOP",
        "stop the stack at the end (by default it keeps running for the review panel)",
        action="store_true",
    )
    add_flag(
        parser,
        "--rescore",
        "CATALOGIST_DEMO_RESCORE",
        "on the demo's running stack: publish a second release and re-score the catalogue with it (make demo-rescore)",
        action="store_true",
    )
    add_flag(
        parser,
        "--screenshots",
        "CATALOGIST_DEMO_SCREENSHOTS",
        "save the panel's pictures (a card, the queue at 1024x768 and 390 px, search, an import report) "
        "as PNG in this folder, then stop",
    )
