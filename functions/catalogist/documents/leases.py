"""Card leases: `card_leases/{product id}`, who has a product's card open in the review panel and
until when. A lease is short and renewed while the card stays open, so a closed tab or a crashed
browser frees the card within a minute; an expired lease is anyone's to take."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

COLLECTION = "card_leases"


@dataclass(frozen=True)
class Lease:
    product_id: str
    reviewer: str
    until: datetime
    taken_at: datetime | None = None

    def live(self, now: datetime) -> bool:
        return bool(self.reviewer) and self.until > now

    def held_by_other(self, reviewer: str, now: datetime) -> bool:
        return self.live(now) and self.reviewer != reviewer

    def to_fields(self) -> dict[str, Any]:
        return {"reviewer": self.reviewer, "until": self.until, "taken_at": self.taken_at}

    @classmethod
    def from_fields(cls, product_id: str, fields: Mapping[str, Any] | None) -> Lease | None:
        if not fields or not fields.get("until"):
            return None
        return cls(product_id, str(fields.get("reviewer") or ""), fields["until"], fields.get("taken_at"))
