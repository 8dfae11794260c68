"""What every part of the panel shares: the stores, the settings, the taxonomies in service and
the clock (`PanelContext`, one per app), and the checks every route makes of what a request
brings. A bad parameter is the request's fault: a 400 with the reason, never a crash."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import flask

from catalogist.imaging import DecodeBudget
from catalogist.models.taxonomy import Taxonomy
from catalogist.panel.auth import SignIn
from catalogist.panel.errors import BadRequest
from catalogist.panel.filters import VendorNames
from catalogist.ports import BlobReader, DocumentStore, ObjectCopier
from catalogist.settings import PanelSettings, Settings

TaxonomySource = Callable[[], Taxonomy | None]


class PanelBlobs(BlobReader, ObjectCopier, Protocol):
    """Photos read for thumbnails; uploads copied to a new generation to retry them."""


@dataclass(frozen=True)
class PanelContext:
    settings: Settings
    panel: PanelSettings
    documents: DocumentStore
    blobs: PanelBlobs
    sign_in: SignIn
    taxonomies: Mapping[str, TaxonomySource]  # by tree (image, text), each loaded on first use
    models: Callable[[], list[dict[str, Any]]]  # the releases in service, for the overview
    clock: Callable[[], datetime]
    budget: DecodeBudget  # thumbnails decode within the instance's bound
    vendor_names: VendorNames  # the vendor pick-list, read once in a while

    def taxonomy(self, tree: str) -> Taxonomy | None:
        source = self.taxonomies.get(tree)
        return source() if source else None

    def levels(self) -> dict[str, tuple[str, ...]]:
        """Each tree's levels, root first, as its release in service names them (a store's own
        tree has its own names and depth); a tree whose release cannot be read has none."""
        return {tree: taxonomy.levels for tree in self.taxonomies if (taxonomy := self.taxonomy(tree))}


def context() -> PanelContext:
    return flask.current_app.extensions["catalogist"]


def json_body() -> dict[str, Any]:
    body = flask.request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


_DOCUMENT_ID = re.compile(r"[^/\x00-\x1f]{1,1500}")


def document_id(raw: Any, what: str) -> str:
    """A document id as the pipelines make them: no '/', no control characters, not '.' or
    '..', not reserved."""
    text = raw if isinstance(raw, str) else ""
    if not _DOCUMENT_ID.fullmatch(text) or text in (".", "..") or (text.startswith("__") and text.endswith("__")):
        raise BadRequest(f"{what} {str(raw)[:80]!r} is not an id this panel gives out")
    return text


def revision_of(body: Mapping[str, Any]) -> int:
    raw = body.get("revision")
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise BadRequest("the request must say which revision of the product it was made on (reload the page)")
    return raw


def whole_number(raw: str, name: str, low: int, high: int) -> int:
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}, got {raw[:20]!r}")
    return int(raw)


def time_arg(name: str) -> datetime | None:
    raw = flask.request.args.get(name, "")
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a time, got {raw!r}") from None


def refusal(status: int, reason: str, extra: Mapping[str, Any] | None = None) -> Any:
    """The refusal as the asker reads it: JSON for the page script, a page for a person."""
    wants_json = flask.request.path.startswith("/api/") or flask.request.accept_mimetypes.best == "application/json"
    if wants_json:
        return flask.jsonify({"error": reason, **(extra or {})}), status
    return flask.render_template("refused.html", status=status, reason=reason), status
