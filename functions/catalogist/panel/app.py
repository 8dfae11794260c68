"""The review panel: a Flask app rendered server-side, served by the `panel` entry point.

Its parts are blueprints: who is asking (`signin`), the review queue and its cards (`cards`),
finding any product and its history (`catalogue`), decisions on many cards at once (`batches`),
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
from catalogist.panel import batches, cards, catalogue, files, overview, queries, signin, words
from catalogist.panel.auth import SignIn
from catalogist.panel.context import PanelBlobs, PanelContext, TaxonomySource, refusal
from catalogist.panel.errors import PanelError
from catalogist.panel.filters import VENDORS_MAX, VendorNames
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
    vendor_names = VendorNames(
        lambda: queries.vendors(documents, VENDORS_MAX),
        lambda typed: queries.vendors_starting(documents, typed, queries.IN_LIMIT + 1),
    )
    app.extensions["catalogist"] = PanelContext(
        settings, panel, documents, blobs, sign_in, taxonomies, models, clock, budget, vendor_names
    )
    for part in (signin, cards, catalogue, batches, files, overview):
        app.register_blueprint(part.blueprint)
    app.register_error_handler(PanelError, lambda error: refusal(error.status, error.reason, error.extra))
    app.register_error_handler(HTTPException, lambda error: refusal(error.code or 500, error.description or error.name))
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["percent"] = words.percent
    app.jinja_env.filters["money_amount"] = lambda amount, currency="": money(Money(float(amount), currency))
    app.jinja_env.globals["words"] = words
    return app


def when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else str(value or "")


def money(value: Money | PriceSuggestion | HumanPrice | None, currency: str = "") -> str:
    """An amount as people read it, with its currency (`currency` when it names none): 1,299.00 INR."""
    if isinstance(value, PriceSuggestion):
        value = value.amount
    elif isinstance(value, HumanPrice):
        value = value.price
    if value is None:
        return ""
    return f"{value.amount:,.2f} {value.currency or currency}".strip()
