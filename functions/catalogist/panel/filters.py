"""The queue's filters as a reviewer gives them, made into a `QueueView`.

Vendor and category are pick-lists that also take a case-insensitive prefix. Firestore compares
strings exactly and has no case-insensitive query, so a prefix is resolved here, in code, against
the names there are (the vendors with products, the top categories of the trees in service) into
exact values, which the queue then filters on with `==` or `in` through the composite indexes it
already has. Filtering on a folded copy of the field instead would have needed a second range
filter beside the queue's own order, which Firestore cannot serve from one index. The lists are
short (tens of vendors, tens of top categories), so matching them costs nothing; the vendors are
read once (`queries.vendors`) and again every few minutes, and a prefix none of them starts is
looked up in the products' folded vendor (`queries.vendors_starting`), so a new vendor is found
at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from catalogist.panel.errors import BadRequest
from catalogist.panel.queries import IN_LIMIT, STATUSES, QueueView

VENDORS_MAX = 2_000
VENDORS_FRESH_SECONDS = 300.0


@dataclass
class VendorNames:
    """The vendors with products, read once per instance and again when stale; shared by every
    request thread. `starting` finds the vendors a prefix stands for when the list has none."""

    read: Callable[[], list[str]]
    starting: Callable[[str], list[str]]
    clock: Callable[[], float] = time.monotonic
    _names: list[str] = field(default_factory=list)
    _read_at: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def names(self, fresh_within: float = VENDORS_FRESH_SECONDS) -> list[str]:
        with self._lock:
            if self._read_at is None or self.clock() - self._read_at > fresh_within:
                self._names = self.read()
                self._read_at = self.clock()
            return list(self._names)

    def matching(self, typed: str) -> list[str]:
        return matching(typed, self.names()) or matching(typed, self.starting(typed))


def matching(typed: str, names: Iterable[str]) -> list[str]:
    """The names `typed` stands for: the one it equals in any case, else those it starts, in
    any case."""
    wanted = typed.strip().casefold()
    if not wanted:
        return []
    names = list(dict.fromkeys(names))
    exact = [name for name in names if name.casefold() == wanted]
    return exact[:1] or [name for name in names if name.casefold().startswith(wanted)]


@dataclass(frozen=True)
class FilterForm:
    """What the filter form shows back: the view, the text as typed, and what each prefix
    stood for."""

    view: QueueView
    typed: Mapping[str, str]
    notes: tuple[str, ...] = ()

    def query_args(self) -> dict[str, str]:
        """The form as URL parameters (to page the same view, or take it to bulk decisions)."""
        return {name: value for name, value in self.typed.items() if value}


def queue_form(
    args: Mapping[str, str],
    reviewer: str,
    vendor_names: VendorNames,
    categories: Sequence[str],
    kinds: Iterable[str],
    codes: Iterable[str],
) -> FilterForm:
    typed = {
        name: str(args.get(name, "")).strip()
        for name in ("status", "vendor", "category", "kind", "reason", "min", "max")
    }
    status = typed["status"] or "open"
    if status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}, got {status[:20]!r}")
    chosen: dict[str, tuple[str, ...]] = {}
    notes: list[str] = []
    for name, field_name, known, what in (
        ("vendor", "vendor", vendor_names.matching, "vendor"),
        ("category", "top_category", lambda text: matching(text, categories), "top category"),
    ):
        text = typed[name]
        if not text:
            continue
        found = known(text)
        if len(found) > IN_LIMIT:
            raise BadRequest(f"{text[:40]!r} starts {len(found)} {what} names; type more of it")
        if not found:
            notes.append(f"no {what} starts with {text[:40]!r}")
            found = [text]
        elif found != [text]:
            notes.append(f"{what} {text[:40]!r}: {', '.join(found)}")
        chosen[field_name] = tuple(found)
    for name, field_name, allowed in (("kind", "kind", set(kinds)), ("reason", "review_code", set(codes))):
        if typed[name]:
            if typed[name] not in allowed:
                raise BadRequest(f"{name} {typed[name][:40]!r} is not one the queue knows")
            chosen[field_name] = (typed[name],)
    if len(chosen.get("vendor", ())) * len(chosen.get("top_category", ())) > IN_LIMIT:
        raise BadRequest("these vendor and category prefixes stand for too many pairs: type more of either")
    low, high = (_percent(typed[name], name, default) for name, default in (("min", 0), ("max", 100)))
    if low > high:
        raise BadRequest(f"the lowest confidence ({low}%) is above the highest ({high}%)")
    view = QueueView(status, chosen, (low / 100, high / 100), reviewer)
    return FilterForm(view, typed, tuple(notes))


def _percent(raw: str, name: str, default: int) -> int:
    if not raw:
        return default
    if not raw.isdigit() or int(raw) > 100:
        raise BadRequest(f"{name} must be a whole percentage from 0 to 100, got {raw[:20]!r}")
    return int(raw)
