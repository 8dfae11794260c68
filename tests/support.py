"""What several test folders share: where the shared data is, the local stack's helpers, and
small deterministic models and fixtures. Tests import from here, never from another test module."""

from __future__ import annotations

import csv
import io
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from google.api_core import exceptions as gexc
from PIL import Image

from catalogist.documents.values import CategoryDecision
from catalogist.imports.pipeline import FileSource, ImportContext, RowModels, import_file
from catalogist.models.taxonomy import Taxonomy
from catalogist_infra.stack import StackConfig, finished_uploads, free_port, wait_until

# -- the shared data (../shared/datasets) -----------------------------------------------------

REPO = Path(__file__).resolve().parents[1]


SHARED_DATA = REPO.parent / "shared" / "datasets"


GROCERY = SHARED_DATA / "grocerystore"


BIGBASKET = SHARED_DATA / "bigbasket" / "products.csv"


def require_data(path: Path, what: str) -> Path:
    """`path` of the shared datasets, or the test is skipped: on a user's machine without
    `../shared`. Under CI (`CI=true`) the data is always beside the checkout, so its absence is a
    failure that says so, never a silent skip."""
    if path.exists():
        return path
    message = f"{what} is not at {path}: tests that need it expect ../shared/datasets beside the repository"
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


# -- the local stack ---------------------------------------------------------------------------


# The session stack's big-file size: files above it are imported by a job (`imports.jobs`).
BIG_FILE_BYTES = 128 * 1024


def vendor() -> str:
    """A vendor name of its own per test, so tests sharing the session's stack never collide."""
    return f"vendor-{uuid.uuid4().hex[:8]}"


def final_ledger_entry(firestore, bucket: str, blob, timeout: float = 60.0) -> dict:
    """The upload's ledger entry once processing is over (status no longer `received`)."""
    entries = wait_until(lambda: finished_uploads(firestore, bucket, [blob]), timeout, interval=0.2)
    assert entries is not None, f"{blob.name} was not processed within {timeout:.0f} s"
    return entries[blob.name]


DEV_UP_PORTS = (
    "--storage-port",
    "--firestore-port",
    "--firestore-admin-port",
    "--functions-port",
    "--bridge-port",
    "--panel-port",
)


def dev_up_ports(flags: tuple[str, ...] = DEV_UP_PORTS) -> dict[str, int]:
    """A free port for each of `catalogist dev up`'s port flags, for a stack of its own."""
    return {flag: free_port() for flag in flags}


def as_flags(ports: dict[str, int]) -> list[str]:
    return [str(x) for pair in ports.items() for x in pair]


def stack_config(data_dir: Path, **overrides) -> StackConfig:
    return StackConfig.on_free_ports(data_dir, project="catalogist-test", **overrides)


def upload(uploads, name: str, content: bytes, content_type: str = "image/jpeg", metadata=None):
    blob = uploads.blob(name)
    blob.metadata = metadata
    blob.upload_from_string(content, content_type=content_type)
    return blob


def encoded(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def dataset_photos(release: Path, count: int, per_category: int = 1) -> list[tuple[Path, str]]:
    """Grocery Store photos of categories the release knows, with their true path: validation
    photos first (the release never trained on them), `per_category` of each category in turn,
    so a handful of photos spans many categories."""
    leaves = {"/".join(leaf) for leaf in Taxonomy.load(release / "taxonomy.json").leaves}
    from catalogist_training.datasets import load_grocery_store

    by_category: dict[str, list[Path]] = {}
    for split in ("val", "train"):
        for photo in load_grocery_store(GROCERY, split):
            truth = "/".join(photo.category_path)
            if truth in leaves:
                by_category.setdefault(truth, []).append(Path(photo.path))
    chosen: list[tuple[Path, str]] = []
    for truth, paths in by_category.items():
        chosen += [(path, truth) for path in paths[:per_category]]
        if len(chosen) >= count:
            break
    return chosen[:count]


def small_csv(tmp_path: Path, rows: int = 600) -> Path:
    products = require_data(BIGBASKET, "the BigBasket catalogue")
    with products.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        kept = [r for r in reader if r["category"] in ("Beverages", "Snacks & Branded Foods")]
    path = tmp_path / "small.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(kept[0]))
        writer.writeheader()
        writer.writerows(kept[:rows])
    return path


# -- tiny deterministic row models and an import of a text (tests/unit) -----------------------

IMPORT_NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TAXONOMY = Taxonomy.from_paths(
    [("Foodgrains", "Rice", "Basmati"), ("Beverages", "Tea", "Green Tea")],
    ("category", "sub_category", "type"),
).with_thresholds((0.5, 0.5, 0.5))


class KeywordCategorizer:
    """Tea if the name says so, else rice; sure of it."""

    version = "textcat-1"

    def decide_many(self, texts):
        return [
            TAXONOMY.decide(np.array([0.05, 0.95] if "rice" in name.lower() else [0.95, 0.05])) for name, _, _ in texts
        ]


@dataclass(frozen=True)
class Suggestion:
    price: float
    low: float
    high: float
    mode: str


class FlatPrice:
    version = "price-1"
    currency = "INR"

    def __init__(self):
        self.seen = []

    def suggest(self, rows):
        self.seen.extend(rows)
        return [Suggestion(100.0, 80.0, 130.0, "list_price" if r.list_price else "text") for r in rows]


class Models:
    def __init__(self):
        self.price = FlatPrice()

    def get(self):
        return RowModels(KeywordCategorizer(), self.price)


CSV = "SKU;Name;Brand;Price\nR-1;Basmati rice 1 kg;India Gate;250,00\nT-1;Green tea 100 g;Tetley;\n"


def run(text: str, documents, generation="1", name="acme/prices.csv", models=None):
    source = FileSource("uploads", name, generation, "acme")
    return import_file(io.BytesIO(text.encode()), source, ImportContext(documents, models or Models(), IMPORT_NOW))


# -- a small image tree and its decisions (tests/unit, tests/browser) -------------------------

TREE = Taxonomy.from_paths(
    [
        ("Fruit", "Apple", "Granny-Smith"),
        ("Fruit", "Apple", "Pink-Lady"),
        ("Fruit", "Banana", "Banana"),
        ("Vegetables", "Leek", "Leek"),
    ]
).with_thresholds((0.6, 0.7, 0.8))


def image_decision(probabilities: list[float]) -> dict:
    return CategoryDecision.from_decision(TREE.decide(np.array(probabilities)), "clf-1", 1).to_fields()


class LazyStream(io.RawIOBase):
    """Bytes produced on demand, so a huge test file never sits in memory."""

    def __init__(self, *parts: bytes | tuple[bytes, int]) -> None:
        self._pieces = (
            piece
            for part in parts
            for piece in [part[0] if isinstance(part, tuple) else part] * (part[1] if isinstance(part, tuple) else 1)
        )
        self._current = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._current:
            piece = next(self._pieces, None)
            if piece is None:
                return 0
            self._current = memoryview(piece)
        take = min(len(buffer), len(self._current))
        buffer[:take] = self._current[:take]
        self._current = self._current[take:]
        return take


# Where a hostile XML entity would reach out to (the cloud metadata server's token URL).
METADATA_URL = "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token"


# --- a Cloud Storage client for publishing (create-only writes included) ---------------------------


class FakeBlob:
    def __init__(self, store: dict[tuple[str, str], bytes], bucket: str, name: str) -> None:
        self.store, self.bucket, self.name = store, bucket, name

    def upload_from_filename(self, filename: str, if_generation_match: int | None = None) -> None:
        if if_generation_match == 0 and (self.bucket, self.name) in self.store:
            raise gexc.PreconditionFailed("exists")
        self.store[(self.bucket, self.name)] = Path(filename).read_bytes()


class FakeBucket:
    def __init__(self, store: dict[tuple[str, str], bytes], name: str) -> None:
        self.store, self.name = store, name

    def blob(self, name: str) -> FakeBlob:
        return FakeBlob(self.store, self.name, name)


class FakeStorage:
    def __init__(self) -> None:
        self.store: dict[tuple[str, str], bytes] = {}
        self.order: list[str] = []

    def list_blobs(self, bucket_or_name: Any, prefix: str | None = None, max_results: int | None = None) -> list[Any]:
        names = [n for (b, n) in self.store if b == bucket_or_name and n.startswith(prefix or "")]
        return names[:max_results] if max_results else names

    def bucket(self, bucket_name: str) -> FakeBucket:
        storage = self

        class Recording(FakeBucket):
            def blob(self, name: str) -> FakeBlob:
                storage.order.append(name)
                return super().blob(name)

        return Recording(self.store, bucket_name)
