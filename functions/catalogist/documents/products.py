"""Product documents: `products/{vendor}:{sku}`, where photos, file rows and admins meet.

Each source writes its own part (`image_category` and a rough `photo_price` from photos,
`text_category`, name, brand and prices from vendor files, `human_category` and `human_price`
from an admin in the review panel, fields no pipeline writes, as is `skipped`, a reviewer's "not
now") and `summary_fields` derives what the shop and the panel read: the category (a human's word
first, then a confident image or text decision, else the image or text guess with
`needs_review`), the review queue's keys, who decided it, and the search keys; the price shown
is the row's, else the photo's (`shown_price`).

Every writer goes through `update`: it reads the product, applies the writer's change and the
summary that follows from the result, and writes both unless another writer got there first
(the store's `modify`), so the summary always follows from the sources it is stored with.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from catalogist.documents.values import (
    CategoryDecision,
    HumanPrice,
    Money,
    ObjectVersion,
    PriceSuggestion,
    decision_sure,
)
from catalogist.errors import PermanentError
from catalogist.models.taxonomy import SEPARATOR
from catalogist.ports import REVISION, DocumentStore

COLLECTION = "products"
# Fields the panel's queries filter and order on (top-level: the local emulator cannot filter
# nested ones), named here once.
VENDOR = "vendor"
KIND = "kind"
TOP_CATEGORY = "top_category"
REVIEW_CODE = "review_code"
DISAGREE = "disagree"  # the review code of a photo and a row that disagree
REVIEW_RANK = "review_rank"
NEEDS_REVIEW = "needs_review"
UPDATED_AT = "updated_at"
# A human decision's sort keys, newest last, each unique (the product id ends it): every human
# decision (the panel's "decided"), and one reviewer's ("mine", their email first). Ranges of one
# field each, served by single-field indexes, where `decided_by ==` ordered by time would need a
# composite index.
DECIDED_RANK, DECIDED_KEY = "decided_rank", "decided_key"
# The product search's keys: SKU, name and vendor as `search_key` folds them (Firestore has no
# case-insensitive match, so the folded text is stored and searched by prefix)
SEARCH_SKU, SEARCH_NAME, SEARCH_VENDOR = "search_sku", "search_name", "search_vendor"
# The object name of the vendor file the row fields came from: an import's products
SOURCE_NAME = "source_name"
# A reviewer's "not now" ({by, at}), written by the panel only: the card moves to the skipped band
SKIPPED = "skipped"
# The queue's bands, by the first characters of `review_rank`: open cards start with their
# confidence's digits; skipped ones with this, which sorts after every digit, so one range filter
# on the rank (and the composite indexes it already has) serves either band.
SKIPPED_BAND = "s|"
# The sources' own fields: each written by one source only.
IMAGE_CATEGORY, TEXT_CATEGORY, HUMAN_CATEGORY = "image_category", "text_category", "human_category"
PRICE, PHOTO_PRICE, HUMAN_PRICE = "price", "photo_price", "human_price"
HUMAN_FIELDS = (HUMAN_CATEGORY, HUMAN_PRICE)
# Share of automatically decided products routed to the review queue as an audit, so the
# precision of automatic decisions is measured on live data (`CATALOGIST_AUDIT_RATE`).
DEFAULT_AUDIT_RATE = 0.02
_UNSAFE_ID = re.compile(r"[/\x00-\x1f]")


def product_id(vendor: str, sku: str) -> str:
    """Firestore-safe id; SKUs are vendor data, so `/` and control characters are replaced."""
    if not vendor or not sku:
        raise PermanentError("a product needs a vendor and a SKU")
    identity = f"{vendor}:{sku}"
    if len(identity.encode()) > 1500:  # Firestore's limit on document ids
        raise PermanentError(f"the SKU {sku[:40]!r}… is too long")
    return _UNSAFE_ID.sub("_", identity)


@dataclass(frozen=True)
class PhotoScore:
    """One photo of a product as the classifier scored it."""

    object: ObjectVersion
    image: Mapping[str, Any]  # what the file said of itself: format, size, mode, frames, EXIF orientation
    # Unrounded: int8 outputs and calibrated thresholds share a 1/256 grid, so a confidence often
    # sits exactly on its threshold, and rounding would flip decisions away from the evaluation's.
    probabilities: tuple[float, ...]
    model_version: str
    classified_at: datetime | None = None

    def to_fields(self) -> dict[str, Any]:
        return {
            "object": self.object.to_fields(),
            "image": dict(self.image),
            "probabilities": list(self.probabilities),
            "model_version": self.model_version,
            "classified_at": self.classified_at,
        }

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> PhotoScore:
        return cls(
            ObjectVersion.from_fields(fields["object"]),
            dict(fields.get("image") or {}),
            tuple(float(p) for p in fields.get("probabilities") or ()),
            str(fields.get("model_version", "")),
            fields.get("classified_at"),
        )


@dataclass(frozen=True)
class SourceFile:
    """The row of a vendor file a product's row fields came from. `position` is the row's place
    among all the file's rows (row numbers restart on each sheet): of two rows of one SKU in one
    file, the later wins whatever order their pages are written in (an import job writes pages
    on many workers at once)."""

    object: ObjectVersion
    row: int
    sheet: str = ""
    position: int = 0

    def to_fields(self) -> dict[str, Any]:
        return {**self.object.to_fields(), "row": self.row, "sheet": self.sheet, "position": self.position}

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any] | None) -> SourceFile | None:
        if not fields:
            return None
        return cls(
            ObjectVersion.from_fields(fields),
            int(fields.get("row") or 0),
            str(fields.get("sheet") or ""),
            int(fields.get("position") or 0),
        )


@dataclass(frozen=True)
class Product:
    """A product document as its readers (the panel, the export, the demo) see it."""

    id: str
    vendor: str = ""
    sku: str = ""
    name: str = ""
    brand: str = ""
    vendor_category: str = ""
    description: str = ""
    gtin: str = ""
    vendor_price: Money | None = None
    source_file: SourceFile | None = None
    photos: Mapping[str, PhotoScore] = field(default_factory=dict)
    image_category: CategoryDecision | None = None
    text_category: CategoryDecision | None = None
    human_category: CategoryDecision | None = None
    price: PriceSuggestion | None = None  # a price-list row's
    photo_price: PriceSuggestion | None = None  # rough, from the photos' category
    human_price: HumanPrice | None = None
    category: CategoryDecision | None = None  # the effective one (summary), from `category_source`
    category_source: str = ""  # image | text | human
    needs_review: bool = False
    review_reason: str | None = None
    review_code: str | None = None
    audit: bool = False
    review_rank: str | None = None
    model_versions: Mapping[str, str] = field(default_factory=dict)
    changed_by: str = ""
    changed_at: datetime | None = None
    revision: int = 0
    skipped_by: str = ""
    skipped_at: datetime | None = None

    @classmethod
    def from_fields(cls, product_id: str, fields: Mapping[str, Any]) -> Product:
        category = fields.get("category") or {}
        return cls(
            id=product_id,
            vendor=str(fields.get(VENDOR, "")),
            sku=str(fields.get("sku", "")),
            name=str(fields.get("name") or ""),
            brand=str(fields.get("brand") or ""),
            vendor_category=str(fields.get("vendor_category") or ""),
            description=str(fields.get("description") or ""),
            gtin=str(fields.get("gtin") or ""),
            vendor_price=Money.from_fields(fields.get("vendor_price")),
            source_file=SourceFile.from_fields(fields.get("source_file")),
            photos={key: PhotoScore.from_fields(photo) for key, photo in (fields.get("photos") or {}).items()},
            image_category=CategoryDecision.from_fields(fields.get(IMAGE_CATEGORY)),
            text_category=CategoryDecision.from_fields(fields.get(TEXT_CATEGORY)),
            human_category=CategoryDecision.from_fields(fields.get(HUMAN_CATEGORY)),
            price=PriceSuggestion.from_fields(fields.get(PRICE)),
            photo_price=PriceSuggestion.from_fields(fields.get(PHOTO_PRICE)),
            human_price=HumanPrice.from_fields(fields.get(HUMAN_PRICE)),
            category=CategoryDecision.from_fields(category),
            category_source=str(category.get("source", "")),
            needs_review=bool(fields.get(NEEDS_REVIEW, False)),
            review_reason=fields.get("review_reason"),
            review_code=fields.get(REVIEW_CODE),
            audit=bool(fields.get("audit", False)),
            review_rank=fields.get(REVIEW_RANK),
            model_versions=dict(fields.get("model_versions") or {}),
            changed_by=str(fields.get("changed_by") or ""),
            changed_at=fields.get("changed_at"),
            revision=int(fields.get(REVISION) or 0),
            skipped_by=str((fields.get(SKIPPED) or {}).get("by") or ""),
            skipped_at=(fields.get(SKIPPED) or {}).get("at"),
        )

    @property
    def shown_price(self) -> PriceSuggestion | None:
        """The suggested price the shop sees: the price-list row's when there is one, else the
        rough one from the photos. Each writer owns its field, so neither can overwrite the
        other whatever order they land in."""
        return self.price or self.photo_price

    @property
    def queue_confidence(self) -> float | None:
        """The confidence the queue is ordered by (the models' best guess), None outside it."""
        return rank_confidence(self.review_rank)

    @property
    def kind(self) -> str:
        """Which sources describe the product: photo, row or both."""
        photo, row = self.image_category is not None, self.text_category is not None
        return "both" if photo and row else "photo" if photo else "row" if row else ""


def effective_category(product: Mapping[str, Any]) -> dict[str, Any] | None:
    """The category the shop files the product under, with its source: a human's first; then,
    for a product with a photo the classifier placed in the store's tree and a price-list row,
    one category from both (`joined_category`); for one whose photo lands nowhere on the
    release's store map, the row's; else the first confident model decision (image, then text),
    else the first model guess."""
    human = product.get(HUMAN_CATEGORY)
    if human:
        return {**human, "source": "human", "needs_review": False, "review_reason": None}
    image, text = product.get(IMAGE_CATEGORY), product.get(TEXT_CATEGORY)
    if image and text and image.get("store_path"):
        return joined_category(image, text)
    if image and text and image.get("store_unmapped"):
        # the photo's node has no place in the store's tree: filed there it would be filed
        # where the shop lists nothing, so the row, which is in that tree, decides
        return {**text, "source": "text", "tree": "text"}
    candidates: list[tuple[str, dict[str, Any]]] = [
        (source, product[f"{source}_category"]) for source in ("image", "text") if product.get(f"{source}_category")
    ]
    for source, decision in candidates:
        if not decision["needs_review"]:
            return {**decision, "source": source}
    if candidates:
        source, decision = candidates[0]
        return {**decision, "source": source}
    return None


def on_one_path(a: Sequence[str], b: Sequence[str]) -> bool:
    """Whether two category paths agree: one is the start of the other (or they are equal)."""
    return tuple(a[: len(b)]) == tuple(b[: len(a)])


def joined_category(image: Mapping[str, Any], text: Mapping[str, Any]) -> dict[str, Any]:
    """One category in the store's tree from a photo's decision placed there (`store_path`) and
    the row's decision, each as far as it is sure (`sure`: of its path; a decision can be sure
    of its path and leave the level below to a human).

    Where they disagree (neither path is the start of the other) a human decides, told what
    each said, even when one of them is only a guess: one of the two is wrong (a wrong photo
    for the SKU is a common vendor mistake), and a sure side's 98% was not measured on products
    whose other evidence contradicts it. Where they agree the product goes as deep as the sure
    one goes: the photo's store node when it is deeper and sure (decided only if that node is a
    leaf of the store's tree), else the row's path. Both unsure and agreeing: the deeper of the
    two, for a human. `tree` is "text": whatever the source, the path is the store's."""
    placed, row = tuple(image["store_path"]), tuple(text.get("path") or ())
    photo_sure, row_sure = decision_sure(image), decision_sure(text)
    agreed = {"photo": SEPARATOR.join(placed), "row": str(text.get("path_text", "")), "agree": True}
    if not on_one_path(placed, row):
        reason = f"the photo says {agreed['photo']}, the price list says {agreed['row']}"
        return {**text, "source": "text", "tree": "text", "needs_review": True, "review_reason": reason,
                "review_code": DISAGREE, "joined": {**agreed, "agree": False}}  # fmt: skip
    # the deeper path, unless only the shallower one is sure
    if not (len(placed) > len(row) and (photo_sure or not row_sure)):
        return {**text, "source": "text", "tree": "text", "joined": agreed}
    level = str(image["store_level"])
    decided = photo_sure and bool(image.get("store_leaf"))
    if decided:
        why = None
    elif photo_sure:
        why = f"the photo files it under {agreed['photo']}; below it is for a human"
    else:
        why = f"not sure: the photo's best guess is {agreed['photo']}, within the price list's {agreed['row']}"
    return {
        "path": list(placed),
        "path_text": agreed["photo"],
        "decided_level": level,
        "confidence": {level: float(image.get("confidence", {}).get(image.get("decided_level"), 0.0))},
        "alternatives": text.get("alternatives") or [],
        "needs_review": not decided,
        "review_reason": why,
        "model_version": image.get("model_version", ""),
        "sure": photo_sure,
        "source": "image",
        "tree": "text",
        "joined": agreed,
    }


def shown_price(product: Mapping[str, Any]) -> PriceSuggestion | None:
    """`Product.shown_price` of the stored fields."""
    return PriceSuggestion.from_fields(product.get(PRICE)) or PriceSuggestion.from_fields(product.get(PHOTO_PRICE))


def kind_of(product: Mapping[str, Any]) -> str:
    photo, row = bool(product.get(IMAGE_CATEGORY)), bool(product.get(TEXT_CATEGORY))
    return "both" if photo and row else "photo" if photo else "row" if row else ""


def audited(product_id: str, audit_rate: float) -> bool:
    """Whether an automatic decision of this product is sampled for a human audit. A hash of the
    id, so the sample is uniform over products and the same on every writer."""
    bucket = int.from_bytes(hashlib.sha256(product_id.encode()).digest()[:4], "big") / 2**32
    return bucket < audit_rate


def review_rank(confidence: float, first_seen_at: datetime | None, product_id: str, skipped: bool = False) -> str:
    """The queue's sort key, a string so one range filter pages through it (`> last seen`):
    least confident first, oldest first among equals, the id making every key unique; a skipped
    card in the skipped band, after every open one."""
    seen = first_seen_at.strftime("%Y%m%dT%H%M%S.%f") if first_seen_at else "0"
    return f"{SKIPPED_BAND if skipped else ''}{confidence_key(confidence)}|{seen}|{product_id}"


def confidence_key(confidence: float) -> str:
    """The start of every open rank at this confidence: ranks compare as their confidences do."""
    return f"{round(min(max(confidence, 0.0), 1.0) * 10_000):05d}"


def rank_confidence(rank: str | None) -> float | None:
    if not rank:
        return None
    digits = rank.removeprefix(SKIPPED_BAND)[:5]
    return int(digits) / 10_000 if digits.isdigit() else None


def search_key(text: str) -> str:
    """Text as the product search compares it: case folded, spaces collapsed."""
    return " ".join(str(text).casefold().split())


def decided_rank(at: datetime | None, product_id: str) -> str:
    return f"{at.strftime('%Y%m%dT%H%M%S.%f') if at else '0'}|{product_id}"


def decided_key(reviewer: str, at: datetime | None, product_id: str) -> str:
    """`decided_rank` after the reviewer's email and a newline (which no email holds)."""
    return f"{reviewer}\n{decided_rank(at, product_id)}"


def summary_fields(product: dict[str, Any], audit_rate: float = DEFAULT_AUDIT_RATE) -> dict[str, Any]:
    """Top-level copies of what the shop and the panel read, filter and sort on (the local
    emulator cannot filter nested fields): the effective category, and the review queue's keys.

    A product is in the queue (`review_rank` set) when a model was unsure of it, or when it was
    decided automatically and falls in the audit sample; a human decision takes it out. Outside
    the queue `review_rank` is None, which no string range filter matches. A skipped product
    stays in the queue, in the skipped band.
    """
    category = effective_category(product)
    if category is None:
        return {}
    product_id = f"{product.get('vendor', '')}:{product.get('sku', '')}"
    needs_review = bool(category["needs_review"])
    audit = category["source"] != "human" and not needs_review and audited(product_id, audit_rate)
    best = (category.get("alternatives") or [{}])[0].get("confidence", category.get("confidence", {}).get("fine", 0.0))
    first_seen_at = product.get("first_seen_at") or product.get("updated_at")
    in_queue = needs_review or audit
    human = product.get(HUMAN_CATEGORY) or {}
    reviewer, reviewed_at = human.get("reviewed_by"), human.get("reviewed_at")
    rank = review_rank(float(best or 0.0), first_seen_at, product_id, bool(product.get(SKIPPED)))
    return {
        "category": category,
        "category_path": category["path_text"],
        "top_category": category["path"][0] if category.get("path") else category["path_text"].split("/")[0],
        "needs_review": needs_review,
        "review_reason": category.get("review_reason") if needs_review else ("audit" if audit else None),
        # the reason in a word, to filter the queue by: how far the models got, that the photo
        # and the row disagree, or an audit
        "review_code": category.get("review_code") or f"{category['source']} to {category['decided_level']}"
        if needs_review
        else ("audit" if audit else None),
        "kind": kind_of(product),
        "audit": audit,
        "first_seen_at": first_seen_at,
        "review_rank": rank if in_queue else None,
        DECIDED_RANK: decided_rank(reviewed_at, product_id) if human else None,
        DECIDED_KEY: decided_key(str(reviewer), reviewed_at, product_id) if human else None,
        SEARCH_SKU: search_key(product.get("sku", "")),
        SEARCH_NAME: search_key(product.get("name") or ""),
        SEARCH_VENDOR: search_key(product.get("vendor", "")),
        SOURCE_NAME: (product.get("source_file") or {}).get("name"),
    }


# What a source changes on one product: (product id, the product as stored or None) -> the
# fields it sets, or None to leave the product alone. Called again if another writer wins the race.
SourceChange = Callable[[str, dict[str, Any] | None], Mapping[str, Any] | None]


def update(
    documents: DocumentStore,
    product_ids: Sequence[str],
    change: SourceChange,
    by: str,
    now: datetime,
    audit_rate: float = DEFAULT_AUDIT_RATE,
    known: Mapping[str, dict[str, Any] | None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Apply a source's `change` to each product, with the summary that follows and who changed
    it (`by`, shown to a reviewer whose decision the change made stale) and when. The fields
    written, by product id."""

    def with_summary(product_id: str, stored: dict[str, Any] | None) -> dict[str, Any] | None:
        fields = change(product_id, stored)
        if fields is None:
            return None
        changed = {**(stored or {}), **fields}
        return {**fields, **summary_fields(changed, audit_rate), "changed_by": by, "changed_at": now}

    return documents.modify(COLLECTION, product_ids, with_summary, known)
