"""The photo path of `on_upload`: a vendor's photo in, a categorized product out.

The object `<vendor>/<sku>.<ext>` (or `<vendor>/<sku>_<n>.<ext>` for more photos of one
product, or any name with metadata `sku`) is decoded, classified, and its leaf probabilities are
kept on the product; the product's image decision averages all its photos scored by the same
model release, so a second photo can settle what the first left unsure.

Every photo also gives its product a rough price from its image category (`photo_price`: the
price model's `suggest_for_category`, its `mode` saying where it came from); a price-list row's
`price` for the same SKU is shown instead whenever there is one (`products.shown_price`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, Protocol

import numpy as np

from catalogist.documents import products
from catalogist.documents.products import PhotoScore
from catalogist.documents.values import CategoryDecision, ObjectVersion, PriceSuggestion
from catalogist.errors import BadPhoto, ModelError
from catalogist.imaging import DecodeBudget, photo_pixels_with_facts
from catalogist.intake.events import StorageObject
from catalogist.models.store_map import StoreMap
from catalogist.models.taxonomy import Taxonomy
from catalogist.ports import BlobReader, DocumentStore

log = logging.getLogger("catalogist.photos")

_EXTRA_PHOTO = re.compile(r"^(?P<sku>.+)_(?P<n>\d{1,3})$")


class Classifier(Protocol):
    """What the photo path needs of a model release (see `catalogist.models.classifier`)."""

    taxonomy: Taxonomy
    image_size: int
    store_map: StoreMap | None  # where its decisions sit in the store's tree, if it says

    @property
    def version(self) -> str: ...

    def probabilities(self, pixels: np.ndarray) -> np.ndarray: ...


class ClassifierSource(Protocol):
    def get(self) -> Classifier: ...


class CategoryPricer(Protocol):
    """What the photo path needs of a price release (see `catalogist.models.price_model`)."""

    @property
    def version(self) -> str: ...

    @property
    def currency(self) -> str: ...

    def suggest_for_category(self, category_path: Sequence[str], vendor_prices: Sequence[float] = ()) -> Any: ...


class CategoryPricerSource(Protocol):
    def get(self) -> CategoryPricer: ...


@dataclass(frozen=True)
class PhotoOutcome:
    product_id: str
    decision: CategoryDecision | None
    timings_ms: dict[str, float]
    price: PriceSuggestion | None = None


def sku_of(obj: StorageObject) -> str:
    """The product a photo shows: metadata `sku`, else the file name without `_<n>`."""
    if obj.metadata.get("sku", "").strip():
        return obj.metadata["sku"].strip()
    stem = PurePosixPath(obj.name).stem.strip()
    match = _EXTRA_PHOTO.match(stem)
    sku = match["sku"] if match else stem
    if not sku or sku.startswith("."):
        raise BadPhoto(
            f"cannot tell the SKU from {obj.name!r}: name photos <vendor>/<sku>.jpg "
            "or <vendor>/<sku>_<n>.jpg, or set the object metadata 'sku'"
        )
    return sku


def photo_key(obj: StorageObject) -> str:
    """A map key per photo of a product; no dots, so it is one Firestore field path segment."""
    return PurePosixPath(obj.name).name.replace(".", "_")


def score_photo(
    photo: bytes, version: ObjectVersion, classifier: Classifier, now: datetime, budget: DecodeBudget | None = None
) -> PhotoScore:
    """One photo version's leaf probabilities by the release, with what the file said of itself:
    the photo path's, and re-scoring's, one way of classifying. `BadPhoto` for a corrupt,
    truncated or oversized photo, or one that is no photo at all."""
    pixels, facts = photo_pixels_with_facts(photo, classifier.image_size, budget)
    probabilities = classifier.probabilities(pixels)
    return PhotoScore(version, facts, tuple(float(p) for p in probabilities), classifier.version, now)


def image_fields(
    product: Mapping[str, Any],
    taxonomy: Taxonomy,
    version: str,
    pricer: CategoryPricer | None,
    store_map: StoreMap | None = None,
) -> dict[str, Any]:
    """The image decision over every photo of the product the release has scored, where it sits
    in the store's tree (when the release maps it), and the rough price it leads to
    (`photo_price`, when the price model knows the category).

    The price has its own field, as `image_category` has: a price-list row writes `price`, and
    whichever lands last, the row's price is the one shown (`Product.shown_price`)."""
    photos = {key: PhotoScore.from_fields(photo) for key, photo in (product.get("photos") or {}).items()}
    scored = {key: photo for key, photo in photos.items() if photo.model_version == version}
    decision = taxonomy.decide(np.mean([photo.probabilities for photo in scored.values()], axis=0))
    image_category = CategoryDecision.from_decision(decision, version, len(scored), tuple(sorted(scored)))
    if store_map and (placed := store_map.place(image_category.path)):
        image_category = replace(
            image_category,
            store_path=placed,
            store_level=store_map.level_of(placed),
            store_leaf=store_map.is_leaf(placed),
        )
    elif store_map:
        image_category = replace(image_category, store_unmapped=True)
    fields: dict[str, Any] = {
        products.IMAGE_CATEGORY: image_category.to_fields(),
        "model_versions": {**(product.get("model_versions") or {}), "classifier": version},
    }
    price = photo_price(image_category, pricer) if pricer is not None else None
    if price is not None:
        fields[products.PHOTO_PRICE] = price.to_fields()
        fields["model_versions"]["photo_price"] = price.model_version
    return fields


def photo_price(image_category: CategoryDecision, pricer: CategoryPricer) -> PriceSuggestion | None:
    """A rough price from the image category; None when the price model knows nothing of it.
    The vendor's own prices in the category are not used yet."""
    suggestion = pricer.suggest_for_category(image_category.path)
    if suggestion is None:
        return None
    return PriceSuggestion(
        suggestion.price,
        suggestion.low,
        suggestion.high,
        pricer.currency,
        suggestion.mode,
        pricer.version,
        rough=True,
        from_category=image_category.path_text,
    )


@dataclass(frozen=True)
class PhotoPipeline:
    """`on_upload`'s pipeline for objects of kind photo (see `catalogist.intake.uploads.Pipeline`):
    what categorizing a photo works with, shared by the instance's request threads."""

    blobs: BlobReader
    documents: DocumentStore
    classifiers: ClassifierSource
    max_bytes: int
    budget: DecodeBudget | None = None
    audit_rate: float = products.DEFAULT_AUDIT_RATE
    pricers: CategoryPricerSource | None = None

    def __call__(
        self, obj: StorageObject, file_format: str, now: datetime, still_current: Callable[[], bool]
    ) -> dict[str, Any]:
        # A photo takes milliseconds: a newer generation waits for it to finish rather than
        # this one checking `still_current` half way.
        outcome = self.categorize(obj, now)
        decision = outcome.decision
        return {
            "product_id": outcome.product_id,
            "category_path": decision.path_text if decision else "",
            "needs_review": decision.needs_review if decision else True,
            "model_version": decision.model_version if decision else "",
            "price_mode": outcome.price.mode if outcome.price else None,
            "timings_ms": outcome.timings_ms,
        }

    def categorize(self, obj: StorageObject, now: datetime) -> PhotoOutcome:
        """Raises `BadPhoto` (permanent) for anything that is not a usable photo of a product."""
        sku = sku_of(obj)
        product_id = products.product_id(obj.vendor, sku)
        started = time.perf_counter()
        photo = self.blobs.read_all(obj.bucket, obj.name, obj.generation, self.max_bytes)
        fetched = time.perf_counter()
        classifier = self.classifiers.get()
        stored_as = ObjectVersion(obj.bucket, obj.name, obj.generation)
        this_photo = score_photo(photo, stored_as, classifier, now, self.budget)
        classified = time.perf_counter()
        key, version = photo_key(obj), classifier.version
        pricer = self._pricer()

        def add_photo(product_id: str, stored: dict[str, Any] | None) -> dict[str, Any]:
            product = stored or {}
            photos = {**(product.get("photos") or {}), key: this_photo.to_fields()}
            fields = {"vendor": obj.vendor, "sku": sku, "photos": photos, "updated_at": now}
            decided = image_fields({**product, **fields}, classifier.taxonomy, version, pricer, classifier.store_map)
            return {**fields, **decided}

        by = f"photo {obj.name}"
        written = products.update(self.documents, [product_id], add_photo, by, now, self.audit_rate)[product_id]
        image_category = CategoryDecision.from_fields(written[products.IMAGE_CATEGORY])
        price = PriceSuggestion.from_fields(written.get(products.PHOTO_PRICE))
        priced = time.perf_counter()
        timings = {
            "fetch": round((fetched - started) * 1000, 1),
            "classify": round((classified - fetched) * 1000, 1),
            "write": round((priced - classified) * 1000, 1),
        }
        return PhotoOutcome(product_id, image_category, timings, price)

    def _pricer(self) -> CategoryPricer | None:
        if self.pricers is None:
            return None
        try:
            return self.pricers.get()
        except ModelError as error:  # the category stands; a photo is not retried for a price
            log.warning("no price for the photo: the price release is unusable", extra={"error": str(error)})
            return None
