"""The overview's figures: uploads per day, the share decided without review, the backlog, and
the measured precision of automatic decisions from the audit sample, with its interval.

Every figure is an aggregation bounded by a time window or a cap (`queries.py`): the page
costs a few dozen index reads whatever the catalogue's size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from catalogist.documents.products import COLLECTION as PRODUCTS
from catalogist.documents.reviews import AUDIT_VERSION, JOINED
from catalogist.documents.reviews import COLLECTION as REVIEWS
from catalogist.intake import ledger
from catalogist.models.bounds import clopper_pearson
from catalogist.panel import words
from catalogist.ports import DocumentStore

BACKLOG_CAP = 100_000


@dataclass(frozen=True)
class Precision:
    source: str
    level: str
    right: int
    reviewed: int
    low: float  # 95% Clopper–Pearson interval
    high: float

    @property
    def point(self) -> float:
        return self.right / self.reviewed if self.reviewed else 0.0

    @property
    def sentence(self) -> str:
        return words.precision_sentence(self.source, self.level, self.right, self.reviewed)


def uploads_per_day(documents: DocumentStore, today: datetime, days: int = 7) -> list[tuple[str, int]]:
    start = today.replace(hour=0, minute=0, second=0, microsecond=0)
    counts = []
    for back in range(days - 1, -1, -1):
        day = start - timedelta(days=back)
        window = [("received_at", ">=", day), ("received_at", "<", day + timedelta(days=1))]
        counts.append((day.strftime("%a %d %b"), documents.count(ledger.COLLECTION, window, 1_000_000)))
    return counts


def decided_without_review(documents: DocumentStore, since: datetime) -> tuple[int, int]:
    """(products decided without review, products) among those written since `since`."""
    window = [("updated_at", ">=", since)]
    total = documents.count(PRODUCTS, window, 1_000_000)
    decided = documents.count(PRODUCTS, [("needs_review", "==", False), *window], 1_000_000)
    return decided, total


def backlog(documents: DocumentStore) -> int:
    """Cards in the queue, open and skipped."""
    return documents.count(PRODUCTS, [("review_rank", ">", "")], BACKLOG_CAP)


def audit_precision(
    documents: DocumentStore,
    levels_by_tree: Mapping[str, Sequence[str]],
    versions: Mapping[str, str] | None = None,
) -> list[Precision]:
    """Per tree ("image", "text") and level of it (`PanelContext.levels`), root first, then the
    decisions made from a photo and a row together, at the levels of the store's (text) tree.
    With `versions` (tree → the release in service), only that release's decisions count (a
    joined one: either release's): a promise is a release's, and so is the audit beside it."""
    sources = dict(levels_by_tree)
    if "text" in sources:
        sources[JOINED] = sources["text"]
    versions = versions or {}
    releases = {tree: [version] for tree, version in versions.items()}
    if "image" in versions and "text" in versions:
        releases[JOINED] = [versions["image"], versions["text"]]
    rows = []
    for source, levels in sources.items():
        for level in levels:
            base = [
                ("audit", "==", True),
                ("undone", "==", False),
                ("audit_source", "==", source),
                ("audit_level", "==", level),
            ]
            if source in releases:
                base.append((AUDIT_VERSION, "in", releases[source]))
            right = documents.count(REVIEWS, [*base, ("audit_correct", "==", True)], 1_000_000)
            wrong = documents.count(REVIEWS, [*base, ("audit_correct", "==", False)], 1_000_000)
            if right + wrong:
                rows.append(Precision(source, level, right, right + wrong, *clopper_pearson(right, right + wrong)))
    return rows
