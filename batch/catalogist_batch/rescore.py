"""Re-scoring one product with the run's releases, without Beam (the pipeline, `rescore_job`,
runs these steps on workers): what the product needs (`plan`), the new decisions (`score`, the
function's own photo and row code: `photos.pipeline.image_fields`, `imports.rows.score_rows`),
what is written and when it is not (`Rewrite`), and what moved (`ProductOutcome`).

A product is brought to the run's three releases, as the function would decide it today:

- its photos are classified again from their pinned generations (the bytes first scored), and
  the image decision and rough price follow from all of them;
- its row (name, brand, vendor category, pack, list price, as stored) is categorized and priced
  again.

Nothing is done for a product already decided by the run's releases (a second run, or a run
resumed after it stopped, writes nothing), nor for one a newer release decided (release
versions are UTC timestamps, so they sort in time). The write is fenced by the product's
revision: written only if nobody wrote the product since it was read, else read again, and
left alone if its photos or row changed meanwhile (the function decides those with the release
it serves; a next run re-scores them). A human decision is never touched: it lives in fields no
model writes, and the summary (`products.update`) keeps it first; the queue keys follow, so a
product the new release is sure of leaves the queue and one it is unsure of enters it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from catalogist.documents import products
from catalogist.documents.products import PhotoScore
from catalogist.documents.rescores import ProductOutcome
from catalogist.documents.values import CategoryDecision, ObjectVersion
from catalogist.imports.rows import RowModels, model_fields, score_rows, stored_row
from catalogist.photos.pipeline import CategoryPricer, Classifier, image_fields

IMAGE, TEXT = "image", "text"


@dataclass(frozen=True)
class Versions:
    """The versions of the run's releases."""

    classifier: str
    textcat: str
    price: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def newer(version: str, than: str) -> bool:
    """Whether release `version` came after `than` (versions are UTC timestamps: YYYYMMDD-HHMMSS)."""
    return bool(version) and bool(than) and version > than


@dataclass
class Work:
    """One product to re-score: as read, what it needs, and (once scored) its new fields."""

    product_id: str
    product: dict[str, Any]
    photos: dict[str, ObjectVersion]  # photos to classify again, at their pinned generations
    image: bool  # its image decision is made again
    row: bool  # its row is categorized and priced again
    image_fields: dict[str, Any] | None = None
    row_fields: dict[str, Any] | None = None
    unreadable: dict[str, str] = field(default_factory=dict)  # photo key -> why it could not be read again

    @property
    def vendor(self) -> str:
        return str(self.product.get(products.VENDOR, ""))


def plan(product_id: str, product: dict[str, Any], versions: Versions) -> Work | str:
    """The work the product needs, or its outcome when it needs none ("current", "newer_release")."""
    photos = {key: PhotoScore.from_fields(photo) for key, photo in (product.get("photos") or {}).items()}
    image_category = product.get(products.IMAGE_CATEGORY) or {}
    photo_price = product.get(products.PHOTO_PRICE) or {}
    image_versions = {photo.model_version for photo in photos.values()} | {image_category.get("model_version", "")}
    image_newer = any(newer(version, versions.classifier) for version in image_versions) or newer(
        photo_price.get("model_version", ""), versions.price
    )
    image = (
        bool(photos)
        and not image_newer
        and (
            image_versions != {versions.classifier}
            or bool(photo_price and photo_price.get("model_version") != versions.price)
        )
    )
    text_category = product.get(products.TEXT_CATEGORY) or {}
    price = product.get(products.PRICE) or {}
    row_newer = newer(text_category.get("model_version", ""), versions.textcat) or newer(
        price.get("model_version", ""), versions.price
    )
    row = (
        stored_row(product) is not None
        and not row_newer
        and (text_category.get("model_version") != versions.textcat or price.get("model_version") != versions.price)
    )
    if not image and not row:
        return "newer_release" if image_newer or row_newer else "current"
    again = {key: photo.object for key, photo in photos.items() if photo.model_version != versions.classifier}
    return Work(product_id, product, again if image else {}, image, row)


def score_photos(work: Work, scores: Mapping[str, PhotoScore], classifier: Classifier, pricer: CategoryPricer) -> None:
    """The product's image decision and rough price over all its photos, those just classified
    again (`scores`) among them, as the photo path makes it (`image_fields`)."""
    photos = {**(work.product.get("photos") or {}), **{key: score.to_fields() for key, score in scores.items()}}
    scored = [photo for photo in photos.values() if photo.get("model_version") == classifier.version]
    if not scored:  # every photo unreadable: the old decision stands
        return
    product = {**work.product, "photos": photos}
    work.image_fields = {
        "photos": photos,
        **image_fields(product, classifier.taxonomy, classifier.version, pricer, classifier.store_map),
    }


def score_rows_of(works: list[Work], release: RowModels) -> None:
    """The rows of a batch of products categorized and priced together (a page at a time, as an
    import asks the row models)."""
    rows = [(work, stored_row(work.product)) for work in works if work.row]
    scored = score_rows([row for _, row in rows if row is not None], release)
    for (work, _), (decision, suggestion) in zip(rows, scored, strict=True):
        work.row_fields = model_fields(decision, suggestion, release)


def _photo_inputs(product: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """What an image decision is made of: each photo's generation and the release that scored it."""
    return {
        key: (str((photo.get("object") or {}).get("generation", "")), str(photo.get("model_version", "")))
        for key, photo in (product.get("photos") or {}).items()
    }


class Rewrite:
    """The write of a page of re-scored products (`products.update`'s change): the new decisions,
    on the product as it is when written, and what that did to each product."""

    def __init__(self, works: list[Work], now: datetime) -> None:
        self._works = {work.product_id: work for work in works}
        self._now = now
        self.before: dict[str, dict[str, Any] | None] = {}  # as each product was when last decided on

    def __call__(self, product_id: str, current: dict[str, Any] | None) -> dict[str, Any] | None:
        work = self._works[product_id]
        self.before[product_id] = current
        if current is None or not self._still_as_read(work, current):
            return None
        fields: dict[str, Any] = {}
        versions = dict(current.get("model_versions") or {})
        for part in (work.image_fields, work.row_fields):
            if part:
                fields.update(part)
                versions.update(part.get("model_versions") or {})
        if not fields:
            return None
        if work.image_fields:
            # photos scored since the read by nobody (else it would not be as read): keep any the
            # run could not read again as they are
            fields["photos"] = {**(current.get("photos") or {}), **work.image_fields["photos"]}
        fields["model_versions"] = versions
        fields[products.UPDATED_AT] = self._now
        return fields

    @staticmethod
    def _still_as_read(work: Work, current: Mapping[str, Any]) -> bool:
        if work.image_fields and _photo_inputs(current) != _photo_inputs(work.product):
            return False
        return not (work.row_fields and current.get("source_row_hash") != work.product.get("source_row_hash"))

    def outcome(self, product_id: str, written: Mapping[str, Any] | None) -> ProductOutcome:
        work = self._works[product_id]
        before = self.before.get(product_id)
        if before is None:
            return ProductOutcome(work.vendor, "gone")
        if written is None:
            scored = work.image_fields or work.row_fields
            return ProductOutcome(work.vendor, "changed_meanwhile" if scored else "current", _unreadable(work))
        moves: list[str] = []
        levels: list[tuple[str, str]] = []
        for tree, name in ((IMAGE, products.IMAGE_CATEGORY), (TEXT, products.TEXT_CATEGORY)):
            new = CategoryDecision.from_fields(written.get(name)) if name in written else None
            if new is None:
                continue
            levels.append((tree, new.decided_level))
            old = CategoryDecision.from_fields(before.get(name))
            if old is None or (old.path, old.decided_level, old.needs_review) != (
                new.path,
                new.decided_level,
                new.needs_review,
            ):
                moves.append("changed")
        was_unsure, is_unsure = bool(before.get(products.NEEDS_REVIEW)), bool(written.get(products.NEEDS_REVIEW))
        if was_unsure and not is_unsure:
            moves.append("left_review")
        elif is_unsure and not was_unsure:
            moves.append("entered_review")
        if before.get(products.HUMAN_CATEGORY):
            moves.append("human_kept")
        return ProductOutcome(work.vendor, "rescored", tuple(dict.fromkeys(moves)) + _unreadable(work), tuple(levels))


def _unreadable(work: Work) -> tuple[str, ...]:
    return ("photos_unreadable",) if work.unreadable else ()


def in_category(product: Mapping[str, Any], category: str) -> bool:
    """Whether the product is filed under `category` (a path prefix, "Fruit" or "Fruit/Apple")."""
    if not category:
        return True
    path = str(product.get("category_path") or "")
    return path == category or path.startswith(category.rstrip("/") + "/")
