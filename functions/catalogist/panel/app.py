"""The review panel: a Flask app rendered server-side, served by the `panel` entry point.

Its parts are blueprints: who is asking (`signin`), the review queue and its cards (`cards`),
what vendors sent (`files`) and the overview (`overview`). Every request is signed in first;
every POST carries the CSRF token of its session. Vendor text is data: Jinja escapes it in every
template, and JSON for the script goes through `tojson`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import flask
from werkzeug.exceptions import HTTPException

from catalogist.documents.values import HumanPrice, Money, PriceSuggestion
from catalogist.imaging import DecodeBudget
from catalogist.panel import cards, files, overview, signin
from catalogist.panel.auth import SignIn
from catalogist.panel.context import PanelBlobs, PanelContext, TaxonomySource, refusal
from catalogist.panel.errors import PanelError
from catalogist.ports import DocumentStore
from catalogist.settings import PanelSettings, Settings


def create_app(
    settings: Settings,
    panel: PanelSettings,
    documents: DocumentStore,
    blobs: PanelBlobs,
    sign_in: SignIn,
    taxonomies: Mapping[str, TaxonomySource],
    models: Callable[[], list[dict[str, Any]]] = list,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> flask.Flask:
    """`taxonomies` by tree ("image", "text"), each loaded on first use; `models` describes the
    releases in service for the overview."""
    # not /static: functions-framework's own app answers that path before ours sees it
    app = flask.Flask(__name__, static_url_path="/assets")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    budget = DecodeBudget(settings.decode_memory_bytes)
    app.extensions["catalogist"] = PanelContext(
        settings, panel, documents, blobs, sign_in, taxonomies, models, clock, budget
    )
    for part in (signin, cards, files, overview):
        app.register_blueprint(part.blueprint)
    app.register_error_handler(PanelError, lambda error: refusal(error.status, error.reason, error.extra))
    app.register_error_handler(HTTPException, lambda error: refusal(error.code or 500, error.description or error.name))
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["money"] = money
    return app


def when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else str(value or "")


def money(value: Money | PriceSuggestion | HumanPrice | None) -> str:
    """An amount as people read it, with its currency: 1,299.00 INR."""
    if isinstance(value, PriceSuggestion):
        value = value.amount
    elif isinstance(value, HumanPrice):
        value = value.price
    if value is None:
        return ""
    return f"{value.amount:,.2f} {value.currency}".strip()
