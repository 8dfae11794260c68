"""Re-scoring reports: `rescores/{run_id}`, one per run of `catalogist rescore` (the catalogue
re-scored with new releases, `batch/catalogist_batch`): the releases and filters it ran with, and
what moved: products seen, re-scored, whose model decision changed, that left or entered the
review queue, those kept as they were and why, per vendor and per decided level."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

COLLECTION = "rescores"
# Per product, one of: what happened to it in the run.
OUTCOMES = (
    "rescored",  # new decisions written (changed or not)
    "current",  # already decided by the run's releases: nothing to do (a second run, a resumed one)
    "newer_release",  # decided by a release newer than the run's: left alone
    "changed_meanwhile",  # its photos or row changed while the run scored it: left to the function
    "gone",  # deleted while the run scored it
)
# Among the re-scored: what moved.
MOVES = ("changed", "left_review", "entered_review", "human_kept", "photos_unreadable")


@dataclass(frozen=True)
class ProductOutcome:
    """What one product's re-scoring did (the report adds them up)."""

    vendor: str
    outcome: str
    moves: tuple[str, ...] = ()
    levels: tuple[tuple[str, str], ...] = ()  # (tree, decided level) of each new model decision

    def tally(self) -> Tally:
        vendor = {f"{self.vendor}|{name}": 1 for name in (self.outcome, *self.moves)}
        return Tally(
            Counter({self.outcome: 1, **dict.fromkeys(self.moves, 1)}),
            Counter(vendor),
            Counter(f"{tree}|{level}" for tree, level in self.levels),
        )


@dataclass(frozen=True)
class Tally:
    """Counts that add up across workers: overall, per vendor, per (tree, decided level)."""

    counts: Counter[str] = dataclasses.field(default_factory=Counter)
    by_vendor: Counter[str] = dataclasses.field(default_factory=Counter)
    by_level: Counter[str] = dataclasses.field(default_factory=Counter)

    def add(self, other: Tally) -> Tally:
        return Tally(self.counts + other.counts, self.by_vendor + other.by_vendor, self.by_level + other.by_level)


@dataclass(frozen=True)
class RescoreReport:
    run_id: str
    releases: Mapping[str, str]  # kind -> version the run scored with
    kinds: tuple[str, ...]  # the kinds re-scored
    filters: Mapping[str, Any]  # vendors, category
    tally: Tally
    started_at: datetime | None = None
    finished_at: datetime | None = None
    runner: str = ""

    def to_fields(self) -> dict[str, Any]:
        counts = {name: int(self.tally.counts.get(name, 0)) for name in (*OUTCOMES, *MOVES)}
        by_vendor: dict[str, dict[str, int]] = {}
        for key, count in sorted(self.tally.by_vendor.items()):
            vendor, name = key.split("|", 1)
            by_vendor.setdefault(vendor, {})[name] = int(count)
        by_level: dict[str, dict[str, int]] = {}
        for key, count in sorted(self.tally.by_level.items()):
            tree, level = key.split("|", 1)
            by_level.setdefault(tree, {})[level] = int(count)
        return {
            "run_id": self.run_id,
            "releases": dict(self.releases),
            "kinds": list(self.kinds),
            "filters": dict(self.filters),
            "seen": sum(counts[name] for name in OUTCOMES),
            "counts": counts,
            "by_vendor": by_vendor,
            "by_level": by_level,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "runner": self.runner,
        }

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> RescoreReport:
        vendor = Counter(
            {f"{v}|{name}": n for v, counts in (fields.get("by_vendor") or {}).items() for name, n in counts.items()}
        )
        level = Counter(
            {f"{t}|{name}": n for t, counts in (fields.get("by_level") or {}).items() for name, n in counts.items()}
        )
        return cls(
            str(fields.get("run_id", "")),
            dict(fields.get("releases") or {}),
            tuple(fields.get("kinds") or ()),
            dict(fields.get("filters") or {}),
            Tally(Counter(fields.get("counts") or {}), vendor, level),
            fields.get("started_at"),
            fields.get("finished_at"),
            str(fields.get("runner", "")),
        )

    def lines(self) -> list[str]:
        """The report as a person reads it in a terminal."""
        fields = self.to_fields()
        counts = fields["counts"]
        releases = ", ".join(f"{kind} {version}" for kind, version in self.releases.items())
        lines = [
            f"rescores/{self.run_id}: {fields['seen']:,} products seen with {releases}",
            "  re-scored {rescored:,}; already current {current:,}; left alone: newer release {newer_release:,}, "
            "changed meanwhile {changed_meanwhile:,}, deleted {gone:,}".format(**counts),
            "  model decision changed {changed:,}; left the review queue {left_review:,}; entered it "
            "{entered_review:,}; human decisions kept {human_kept:,}; photos unreadable {photos_unreadable:,}".format(
                **counts
            ),
        ]
        for tree, levels in fields["by_level"].items():
            shown = ", ".join(f"{level} {count:,}" for level, count in levels.items())
            lines.append(f"  new {tree} decisions by level: {shown}")
        for vendor, vendor_counts in fields["by_vendor"].items():
            names = ("rescored", "changed", "left_review", "entered_review")
            moved = {name: vendor_counts.get(name, 0) for name in names}
            lines.append(
                f"  {vendor}: re-scored {moved['rescored']:,}, changed {moved['changed']:,}, "
                f"left review {moved['left_review']:,}, entered review {moved['entered_review']:,}"
            )
        return lines
