"""The values the documents are made of, each with the one shape it has in Firestore: money, a
category decision, a price suggestion, an object version. Every writer builds them and every
reader reads them through `to_fields` / `from_fields`, so a field's name exists here only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from catalogist.models.taxonomy import SEPARATOR, Decision


@dataclass(frozen=True)
class Money:
    amount: float
    currency: str = ""  # ISO 4217; "" when the vendor's file named none

    def to_fields(self) -> dict[str, Any]:
        return {"amount": self.amount, "currency": self.currency}

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any] | None) -> Money | None:
        if not fields or fields.get("amount") is None:
            return None
        return cls(float(fields["amount"]), str(fields.get("currency") or ""))


@dataclass(frozen=True)
class ObjectVersion:
    """One version of one object in a bucket: what a photo or a row came from."""

    bucket: str
    name: str
    generation: str

    def to_fields(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "name": self.name, "generation": self.generation}

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> ObjectVersion:
        return cls(str(fields["bucket"]), str(fields["name"]), str(fields["generation"]))


@dataclass(frozen=True)
class Option:
    """One of a decision's best leaves, with its probability."""

    path_text: str
    confidence: float

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.path_text.split(SEPARATOR))


@dataclass(frozen=True)
class CategoryDecision:
    """A category as stored on a product: a model's decision (image or text) or a human's.

    `decided_level` is the level the path stops at (a level name, or "human"); `confidence` the
    probability of the path's node at each level down to it; `alternatives` the best leaves."""

    path: tuple[str, ...]
    decided_level: str
    confidence: Mapping[str, float] = field(default_factory=dict)
    alternatives: tuple[Option, ...] = ()
    needs_review: bool = False
    review_reason: str | None = None
    model_version: str = ""
    # model decisions: whether the model is sure of `path` (its level cleared its threshold). A
    # decision can be sure of its path and still need review below it (`needs_review`); one not
    # sure even of its top level has a guess for a path.
    sure: bool = True
    photos_used: int = 0  # image decisions: the photos averaged
    photo_keys: tuple[str, ...] | None = None  # image decisions: which photos
    tree: str = ""  # human decisions: the tree the path is from (image or text)
    reviewed_by: str = ""  # human decisions
    reviewed_at: datetime | None = None
    review_id: str = ""
    # image decisions of a release with a store map (`catalogist.models.store_map`): the node of
    # the store's tree the decided path lands on, its level there, and whether it is a leaf there
    store_path: tuple[str, ...] | None = None
    store_level: str = ""
    store_leaf: bool = False
    store_unmapped: bool = False  # the release has a store map, and this decision lands nowhere on it

    @property
    def path_text(self) -> str:
        return SEPARATOR.join(self.path)

    @classmethod
    def from_decision(
        cls, decision: Decision, model_version: str, photos_used: int = 0, photo_keys: tuple[str, ...] | None = None
    ) -> CategoryDecision:
        return cls(
            path=tuple(decision.category_path),
            decided_level=decision.decided_level,
            # Rounded for people; the decision itself was made on the unrounded ones.
            confidence={level: round(p, 4) for level, p in decision.confidence.items()},
            alternatives=tuple(
                Option(SEPARATOR.join(option.category_path), round(option.confidence, 4))
                for option in decision.alternatives
            ),
            needs_review=decision.needs_review,
            review_reason=decision.review_reason,
            model_version=model_version,
            sure=decision.sure,
            photos_used=photos_used,
            photo_keys=photo_keys,
        )

    @classmethod
    def by_human(
        cls, path: tuple[str, ...], tree: str, reviewer: str, at: datetime, review_id: str
    ) -> CategoryDecision:
        return cls(path, "human", tree=tree, reviewed_by=reviewer, reviewed_at=at, review_id=review_id)

    def to_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "path": list(self.path),
            "path_text": self.path_text,
            "decided_level": self.decided_level,
            "confidence": dict(self.confidence),
        }
        if self.decided_level == "human":
            return {
                **fields,
                "tree": self.tree,
                "reviewed_by": self.reviewed_by,
                "reviewed_at": self.reviewed_at,
                "review_id": self.review_id,
            }
        fields.update(
            alternatives=[{"path_text": o.path_text, "confidence": o.confidence} for o in self.alternatives],
            needs_review=self.needs_review,
            review_reason=self.review_reason,
            model_version=self.model_version,
            sure=self.sure,
            photos_used=self.photos_used,
        )
        if self.photo_keys is not None:
            fields["photo_keys"] = list(self.photo_keys)
        if self.store_path is not None:
            fields.update(store_path=list(self.store_path), store_level=self.store_level, store_leaf=self.store_leaf)
        if self.store_unmapped:
            fields["store_unmapped"] = True
        return fields

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any] | None) -> CategoryDecision | None:
        if not fields:
            return None
        keys, store_path = fields.get("photo_keys"), fields.get("store_path")
        return cls(
            path=tuple(fields.get("path") or str(fields.get("path_text", "")).split(SEPARATOR)),
            decided_level=str(fields.get("decided_level", "")),
            confidence=dict(fields.get("confidence") or {}),
            alternatives=tuple(
                Option(str(o["path_text"]), float(o["confidence"])) for o in fields.get("alternatives") or []
            ),
            needs_review=bool(fields.get("needs_review", False)),
            review_reason=fields.get("review_reason"),
            model_version=str(fields.get("model_version", "")),
            sure=decision_sure(fields),
            photos_used=int(fields.get("photos_used") or 0),
            photo_keys=tuple(keys) if keys is not None else None,
            tree=str(fields.get("tree", "")),
            reviewed_by=str(fields.get("reviewed_by", "")),
            reviewed_at=fields.get("reviewed_at"),
            review_id=str(fields.get("review_id", "")),
            store_path=tuple(store_path) if store_path is not None else None,
            store_level=str(fields.get("store_level", "")),
            store_leaf=bool(fields.get("store_leaf", False)),
            store_unmapped=bool(fields.get("store_unmapped", False)),
        )


def decision_sure(fields: Mapping[str, Any]) -> bool:
    """Whether a stored model decision is sure of its path; decisions written before `sure` was
    stored count as sure only when they needed no review."""
    return bool(fields.get("sure", not fields.get("needs_review", True)))


@dataclass(frozen=True)
class PriceSuggestion:
    """A suggested shelf price: the price model's P50 and its P10–P90 range, in the store's
    currency. `rough` when it came from a photo's category alone (`from_category` names it)."""

    predicted: float
    low: float
    high: float
    currency: str
    mode: str  # text, list_price (a row) or category, category_text, category_vendor (a photo)
    model_version: str
    rough: bool = False
    from_category: str = ""

    def to_fields(self) -> dict[str, Any]:
        return {
            "predicted": self.predicted,
            "low": self.low,
            "high": self.high,
            "currency": self.currency,
            "mode": self.mode,
            "model_version": self.model_version,
            "rough": self.rough,
            "from_category": self.from_category,
        }

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any] | None) -> PriceSuggestion | None:
        if not fields or fields.get("predicted") is None:
            return None
        return cls(
            predicted=float(fields["predicted"]),
            low=float(fields.get("low", fields["predicted"])),
            high=float(fields.get("high", fields["predicted"])),
            currency=str(fields.get("currency") or ""),
            mode=str(fields.get("mode") or ""),
            model_version=str(fields.get("model_version") or ""),
            rough=bool(fields.get("rough", False)),
            # written as from_path_text before the shapes were one
            from_category=str(fields.get("from_category") or fields.get("from_path_text") or ""),
        )

    @property
    def amount(self) -> Money:
        return Money(self.predicted, self.currency)


@dataclass(frozen=True)
class HumanPrice:
    """A price an admin set, and who and when."""

    price: Money
    reviewed_by: str
    reviewed_at: datetime | None
    review_id: str

    def to_fields(self) -> dict[str, Any]:
        return {
            **self.price.to_fields(),
            "reviewed_by": self.reviewed_by,
            "reviewed_at": self.reviewed_at,
            "review_id": self.review_id,
        }

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any] | None) -> HumanPrice | None:
        price = Money.from_fields(fields)
        if price is None or fields is None:
            return None
        return cls(
            price, str(fields.get("reviewed_by", "")), fields.get("reviewed_at"), str(fields.get("review_id", ""))
        )
