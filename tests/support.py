"""What several test folders share: where the shared data is, the local stack's helpers, and
small deterministic models and fixtures. Tests import from here, never from another test module."""

from __future__ import annotations

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
from catalogist_infra.stack import StackConfig, finished_uploads, free_ports, wait_until

# -- the shared data (../shared/datasets) -----------------------------------------------------

REPO = Path(__file__).resolve().parents[1]


SHARED_DATA = REPO.parent / "shared" / "datasets"


GROCERY = SHARED_DATA / "grocerystore"


BIGBASKET = SHARED_DATA / "bigbasket" / "products.csv"


def tiny_backbone(folder: Path) -> Path:
    """`catalogist_training.backbone.tiny_saved_model`: training tests whose subject is not the
    network train on it in seconds; `test_classifier_smoke.py` trains EfficientNet-Lite0 end to end."""
    from catalogist_training.backbone import tiny_saved_model  # imports Keras: only training tests need it

    return tiny_saved_model(folder)


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
    return dict(zip(flags, free_ports(len(flags)), strict=True))


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
    from catalogist_training.scale_rows import small_catalogue

    return small_catalogue(require_data(BIGBASKET, "the BigBasket catalogue"), rows, tmp_path / "small.csv")


def new_products_of(data: Path, out: Path, rows: int = 120, **values: str) -> Path:
    """The first `rows` rows of a products.csv-shaped file, each renamed (`… family pack`):
    products no release trained on `data` has learnt; `values` set columns of every row."""
    import csv

    with data.open(newline="", encoding="utf-8") as handle:
        found = list(csv.DictReader(handle))[:rows]
    with out.open("w", newline="", encoding="utf-8") as handle:
        table = csv.DictWriter(handle, list(found[0]))
        table.writeheader()
        table.writerows({**row, "product": f"{row['product']} family pack", **values} for row in found)
    return out


def store_catalogue(folder: Path, rows: int = 600) -> tuple[Path, Path]:
    """A second store's catalogue made from BigBasket's rows of two categories (another schema,
    a `>`-separated path 2–4 levels deep, prices in euros; tests/fixtures/make_store_catalogue.py)
    and the mapping file that names its columns: (catalogue.tsv, columns.json)."""
    from tests.fixtures.make_store_catalogue import make_store_catalogue

    products = require_data(BIGBASKET, "the BigBasket catalogue")
    data = make_store_catalogue(products, folder, rows, ("Beverages", "Snacks & Branded Foods"))
    return data, folder / "columns.json"


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


# -- the review panel in a browser (tests/browser) ------------------------------------------------

PANEL_ADMIN = "admin@catalogist.local"
PANEL_REVIEWER = "reviewer@catalogist.local"


def panel_page(chromium, stack, reviewer: str, **context_options):
    """A browser session of its own (its own cookies), signed in as `reviewer`."""
    context = chromium.new_context(base_url=stack.config.panel_url, **context_options)
    page = context.new_page()
    page.goto("/signin")
    page.get_by_role("button", name=reviewer).click()
    page.wait_for_url("**/queue*")
    return page


def seed_unsure(
    firestore,
    taxonomy: Taxonomy,
    seller: str,
    confidences: list[float],
    names: list[str] | None = None,
    **fields,
) -> list[str]:
    """Products of `seller` decided from a photo, each unsure with its best leaf at the given
    confidence; their summaries as the pipeline writes them. Their ids, in seeding order."""
    from datetime import timedelta

    from catalogist.documents import products

    ids = []
    now = datetime.now(UTC)
    unsure = taxonomy.with_thresholds((1.01,) * len(taxonomy.levels))  # every one needs a human
    for i, best in enumerate(confidences):
        leaves = len(taxonomy.leaves)
        rest = (1 - best) / (leaves - 1)
        probabilities = np.full(leaves, rest)
        probabilities[i % leaves] = best
        decision = CategoryDecision.from_decision(unsure.decide(probabilities), "seeded", 1).to_fields()
        product = {
            "vendor": seller,
            "sku": f"S-{i:03d}",
            "name": names[i] if names and i < len(names) else f"Seeded product {i}",
            "image_category": decision,
            "updated_at": now - timedelta(seconds=len(confidences) - i),
            **fields,
        }
        product.update(products.summary_fields(product, 0.0))
        ids.append(f"{seller}:S-{i:03d}")
        firestore.collection("products").document(ids[-1]).set(product)
    return ids


def stored_product(firestore, product_id: str) -> dict:
    return firestore.collection("products").document(product_id).get().to_dict()


def products_of(firestore, seller: str) -> dict[str, dict]:
    """A vendor's products by id, asked of Firestore by vendor: the session's stack holds tens of
    thousands of other products by the time some tests run (the big imports), and reading them
    all to keep one vendor's cost seconds per call."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = firestore.collection("products").where(filter=FieldFilter("vendor", "==", seller))
    return {snapshot.id: snapshot.to_dict() for snapshot in query.stream()}


def reviews_of(firestore, product_id: str) -> list[dict]:
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = firestore.collection("reviews").where(filter=FieldFilter("product_id", "==", product_id))
    return [snapshot.to_dict() for snapshot in query.stream()]


def open_queue(page, query: str) -> None:
    """The queue of a vendor (`query` a vendor id) or of any filter (`query` starting with "?")."""
    page.goto(f"/queue{query}" if query.startswith("?") else f"/queue?vendor={query}")
    page.wait_for_selector("article.card")


def current_sku(page) -> str:
    return page.locator("article.card .sku").first.inner_text()


# The WCAG contrast of every visible piece of text under `root`, from the computed styles: its
# colour (with the opacities above it) over the backgrounds behind it, down to the white page.
# Large text (24 px, or 18.66 px bold) needs 3:1, the rest 4.5:1. What fails, with its figures.
CONTRAST_SCRIPT = """
(root) => {
  const parse = (c) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(c);
    if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) => [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3])).concat(1);
  const channel = (v) => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  };
  const luminance = (c) => 0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2]);
  const ratio = (a, b) => {
    const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const background = (el) => {
    const layers = [];
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c && c[3] > 0) {
        layers.push(c);
        if (c[3] >= 1) break;
      }
    }
    let color = [255, 255, 255, 1];
    for (const layer of layers.reverse()) color = over(layer, color);
    return color;
  };
  const opacity = (el) => {
    let o = 1;
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) o *= Number(getComputedStyle(n).opacity);
    return o;
  };
  const skipped = "[hidden], .visually-hidden, script, style, datalist, option, :disabled";
  const failures = [];
  const seen = new Set();
  const walker = document.createTreeWalker(document.querySelector(root), NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode;
    const el = text.parentElement;
    if (!text.textContent.trim() || seen.has(el)) continue;
    seen.add(el);
    const style = getComputedStyle(el);
    if (!el.getClientRects().length || style.visibility === "hidden" || el.closest(skipped)) continue;
    const bg = background(el);
    const fg = parse(style.color);
    const shown = over([fg[0], fg[1], fg[2], fg[3] * opacity(el)], bg);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    const got = ratio(shown, bg);
    const where = `${style.color} on rgb(${bg.slice(0, 3).map(Math.round).join(", ")})`;
    const said = text.textContent.trim().slice(0, 40);
    if (got < (large ? 3 : 4.5)) failures.push(`${got.toFixed(2)}:1 "${said}" (${where})`);
  }
  return failures;
}
"""


def contrast_failures(page, root: str = "body") -> list[str]:
    return page.evaluate(CONTRAST_SCRIPT, root)
