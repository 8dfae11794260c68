"""The review panel: a Flask app rendered server-side, served by the `panel` entry point.

Pages: the review queue (one card at a time, keyboard first, the next cards prefetched by
`static/panel.js`), a vendor's imports and an import's report, the upload ledger, a vendor's
column mapping, and the overview. Every request is signed in first (`auth.py`); every POST
carries the CSRF token its page was rendered with. Vendor text is data: Jinja escapes it in every
template, and JSON for the script goes through `tojson`.
"""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import flask
from werkzeug.exceptions import HTTPException

from catalogist.errors import PermanentError
from catalogist.imaging import DecodeBudget, decode_photo
from catalogist.intake import ledger
from catalogist.intake.events import VENDOR_ID
from catalogist.models.taxonomy import Taxonomy
from catalogist.panel import queries, review, trust
from catalogist.panel.auth import (
    CSRF_HEADER,
    DEV_COOKIE,
    SESSION_COOKIE,
    SESSION_SECONDS,
    DevSignIn,
    SignIn,
    SignInError,
    csrf_ok,
    csrf_token,
    new_session,
    session_of,
)
from catalogist.ports import REVISION, BlobReader, DocumentStore, Filter, ObjectCopier, Write
from catalogist.products import COLLECTION as PRODUCTS
from catalogist.products import shown_price
from catalogist.settings import PanelSettings, Settings

log = logging.getLogger("catalogist.panel")

PHOTO_SIDES = (160, 360, 720)  # thumbnail sizes served; anything else is rounded up to one
PHOTO_MAX_BYTES = 25 * 1024 * 1024
LIST_LIMIT = 50
SEARCH_LIMIT = 20
KIND_NAMES = {"photo": "photo only", "row": "price-list row only", "both": "photo and row"}

TaxonomySource = Callable[[], Taxonomy | None]


class PanelBlobs(BlobReader, ObjectCopier, Protocol):
    """Photos read for thumbnails; uploads copied to a new generation to retry them."""


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
    secret = panel.panel_secret
    page_size = panel.panel_page_size
    budget = DecodeBudget(settings.decode_memory_bytes)  # thumbnails decode within the instance's bound
    secure = not isinstance(sign_in, DevSignIn)  # behind IAP the panel is only ever served over HTTPS

    @app.before_request
    def signed_in() -> Any:
        if flask.request.endpoint in ("signin", "health", "static"):  # the sign-in page's own style too
            return None
        try:
            headers = {name.lower(): value for name, value in flask.request.headers.items()}
            flask.g.reviewer = sign_in.reviewer(headers, flask.request.cookies)
        except SignInError as refused:
            page = flask.request.method == "GET" and not flask.request.path.startswith("/api/")
            if refused.status == 401 and isinstance(sign_in, DevSignIn) and page:
                return flask.redirect(flask.url_for("signin", next=flask.request.full_path))
            return _refusal(refused.status, refused.reason)
        flask.g.session_id = session_of(secret, flask.request.cookies.get(SESSION_COOKIE, ""))
        if flask.request.method == "POST":
            presented = flask.request.headers.get(CSRF_HEADER) or flask.request.form.get("csrf")
            if not csrf_ok(secret, flask.g.reviewer, flask.g.session_id, presented):
                return _refusal(403, "the form is stale or came from another site: reload the page")
        elif not flask.g.session_id:
            flask.g.session_id, flask.g.new_session_cookie = new_session(secret)
        return None

    @app.after_request
    def session_cookie(response: flask.Response) -> flask.Response:
        cookie = getattr(flask.g, "new_session_cookie", "")
        if cookie:
            response.set_cookie(
                SESSION_COOKIE, cookie, max_age=SESSION_SECONDS, httponly=True, samesite="Strict", secure=secure
            )
        return response

    @app.context_processor
    def page_context() -> dict[str, Any]:
        reviewer = getattr(flask.g, "reviewer", "")
        session_id = getattr(flask.g, "session_id", "")
        csrf = csrf_token(secret, reviewer, session_id) if reviewer and session_id else ""
        return {"reviewer": reviewer, "csrf": csrf, "kinds": KIND_NAMES}

    @app.errorhandler(PermanentError)
    def bad_request(error: PermanentError) -> Any:
        if isinstance(error, review.StaleDecision | review.NeedsConfirmation):
            # 409: the request was fine, the product or the amount asks for another look
            extra = {"stale": True} if isinstance(error, review.StaleDecision) else {"confirm": True}
            return _refusal(409, error.reason, extra)
        return _refusal(400, error.reason)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        return _refusal(error.code or 500, error.description or error.name)

    # -- sign-in (dev only) ---------------------------------------------------------------

    @app.route("/signin", methods=["GET", "POST"])
    def signin() -> Any:
        if not isinstance(sign_in, DevSignIn):
            return _refusal(404, "sign in through Identity-Aware Proxy")
        if flask.request.method == "POST":
            email = flask.request.form.get("email", "").strip().lower()
            try:
                cookie = sign_in.cookie_for(email)
            except SignInError as refused:
                return _refusal(refused.status, refused.reason)
            target = flask.request.form.get("next") or "/"
            response = flask.redirect(target if target.startswith("/") and not target.startswith("//") else "/")
            response.set_cookie(DEV_COOKIE, cookie, max_age=SESSION_SECONDS, httponly=True, samesite="Strict")
            # a new session at every sign-in: a CSRF token of the one before is worth nothing now
            _, session = new_session(secret)
            response.set_cookie(SESSION_COOKIE, session, max_age=SESSION_SECONDS, httponly=True, samesite="Strict")
            return response
        return flask.render_template(
            "signin.html", reviewers=sorted(sign_in.reviewers), next=flask.request.args.get("next", "/")
        )

    @app.get("/health")
    def health() -> Any:
        return {"ok": True}

    # -- the review queue -----------------------------------------------------------------

    @app.get("/")
    def home() -> Any:
        return flask.redirect(flask.url_for("queue"))

    @app.get("/queue")
    def queue() -> Any:
        filters = _queue_filters()
        items, next_after = _queue_page(documents, filters, flask.request.args.get("after", ""), page_size)
        first = _card(items[0][0], items[0][1]) if items else None
        return flask.render_template(
            "queue.html",
            items=[{"id": pid, "rank": doc.get("review_rank"), **_row(doc)} for pid, doc in items],
            first=first,
            filters=filters,
            next_after=next_after,
            codes=_codes(),
        )

    @app.get("/api/queue")
    def queue_api() -> Any:
        items, next_after = _queue_page(documents, _queue_filters(), flask.request.args.get("after", ""), page_size)
        return {"items": [{"id": pid, "rank": doc.get("review_rank")} for pid, doc in items], "next_after": next_after}

    @app.get("/card/<path:product_id>")
    def card(product_id: str) -> Any:
        product = documents.get(PRODUCTS, _document_id(product_id, "product id"))
        if product is None:
            flask.abort(404, f"no product {product_id}")
        return flask.render_template("card.html", card=_card(product_id, product))

    @app.post("/api/decide")
    def decide() -> Any:
        body = _json_body()
        product_id = _document_id(body.get("product_id"), "product_id")
        path = tuple(str(body.get("path", "")).split("/")) if body.get("path") else ()
        choice = review.Choice(
            action=str(body.get("action", "")),
            category_path=path,
            tree=_tree_of(path, str(body.get("tree", ""))) if path else "",
            price=str(body.get("price") or ""),
            confirmed=body.get("confirmed") is True,
        )
        record = review.decide(
            documents,
            product_id,
            choice,
            flask.g.reviewer,
            str(body.get("request_id") or uuid.uuid4().hex),
            clock(),
            settings.audit_rate,
            revision=_revision(body),
        )
        return {
            "review_id": record["id"],
            "product_id": record["product_id"],
            "action": choice.action,
            "revision": record["revision"],
            "filed": (record["human"].get("human_category") or {}).get("path_text", ""),
        }

    @app.post("/api/undo")
    def undo() -> Any:
        body = _json_body()
        review_id = _document_id(body.get("review_id"), "review_id")
        record = review.undo(documents, review_id, flask.g.reviewer, clock(), settings.audit_rate, _revision(body))
        return {"product_id": record["product_id"], "undone": True, "revision": record["revision"]}

    @app.get("/api/taxonomy")
    def taxonomy_search() -> Any:
        words = flask.request.args.get("q", "").casefold().split()
        trees = [flask.request.args.get("tree", "")] if flask.request.args.get("tree") else list(taxonomies)
        found: list[dict[str, str]] = []
        for tree in trees:
            taxonomy = taxonomies[tree]() if tree in taxonomies else None
            if taxonomy is None:
                continue
            for leaf in taxonomy.leaves:
                text = "/".join(leaf)
                if all(word in text.casefold() for word in words):
                    found.append({"path": text, "tree": tree})
                    if len(found) >= SEARCH_LIMIT:
                        return {"paths": found}
        return {"paths": found}

    @app.get("/photo/<path:product_id>/<key>")
    def photo(product_id: str, key: str) -> Any:
        product = documents.get(PRODUCTS, _document_id(product_id, "product id")) or {}
        record = (product.get("photos") or {}).get(key)
        if not record:
            flask.abort(404, "no such photo")
        asked = _whole_number(flask.request.args.get("side", "360"), "side", 1, PHOTO_SIDES[-1] * 4)
        side = next((s for s in PHOTO_SIDES if s >= asked), PHOTO_SIDES[-1])
        source = record["object"]
        data = blobs.read_all(source["bucket"], source["name"], str(source["generation"]), PHOTO_MAX_BYTES)
        image = decode_photo(data, target_size=side, budget=budget)
        image.thumbnail((side, side))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        response = flask.make_response(buffer.getvalue())
        response.headers["Content-Type"] = "image/jpeg"
        # pinned to the scored generation: the same URL always shows the same photo
        response.headers["Cache-Control"] = "private, max-age=86400"
        return response

    # -- imports, uploads, vendors -------------------------------------------------------

    @app.get("/imports")
    def imports() -> Any:
        vendor = flask.request.args.get("vendor", "").strip()
        before = _time_arg("before")
        filters: list[Filter] = [("vendor", "==", vendor)] if vendor else []
        if before:
            filters.append(("started_at", "<", before))
        found = documents.query(queries.IMPORTS, filters, [("started_at", "desc")], LIST_LIMIT)
        return flask.render_template("imports.html", imports=found, vendor=vendor, more=_last(found, "started_at"))

    @app.get("/imports/<import_id>")
    def import_report(import_id: str) -> Any:
        report = documents.get(queries.IMPORTS, _document_id(import_id, "import id"))
        if report is None:
            flask.abort(404, f"no import {import_id}")
        return flask.render_template("import.html", report=report, import_id=import_id)

    @app.get("/uploads")
    def uploads() -> Any:
        vendor = flask.request.args.get("vendor", "").strip()
        status = flask.request.args.get("status", "").strip()
        before = _time_arg("before")
        filters: list[Filter] = [
            (name, "==", value) for name, value in (("vendor", vendor), ("status", status)) if value
        ]
        if before:
            filters.append(("received_at", "<", before))
        found = documents.query(ledger.COLLECTION, filters, [("received_at", "desc")], LIST_LIMIT)
        return flask.render_template(
            "uploads.html",
            uploads=found,
            vendor=vendor,
            status=status,
            statuses=[s.value for s in ledger.Status],
            more=_last(found, "received_at"),
        )

    @app.post("/uploads/<upload_id>/retry")
    def retry(upload_id: str) -> Any:
        from catalogist.intake.retry import retry_upload

        generation = retry_upload(
            documents, blobs, upload_id, flask.g.reviewer, clock(), timedelta(seconds=settings.lease_seconds)
        )
        log.info("upload retried by hand", extra={"upload_id": upload_id, "as": generation, "by": flask.g.reviewer})
        return flask.redirect(flask.url_for("uploads", status="received", retried=generation))

    @app.route("/vendors/<vendor>/mapping", methods=["GET", "POST"])
    def mapping(vendor: str) -> Any:
        from catalogist.vendorfiles.mapping import FIELDS

        if not VENDOR_ID.fullmatch(vendor):
            raise review.ReviewError(f"{vendor[:70]!r} is not a vendor id")
        record = documents.get("vendors", vendor)
        uploaded = documents.query(ledger.COLLECTION, [("vendor", "==", vendor)], [("received_at", "desc")], 1)
        if record is None and not uploaded:
            flask.abort(404, f"no vendor {vendor}: nothing was ever uploaded under that name")
        record = record or {}
        current = dict(record.get("column_mapping") or {})
        if flask.request.method == "POST":
            changed = {name: flask.request.form.get(name, "").strip() for name in FIELDS}
            changed = {name: column for name, column in changed.items() if column}
            if "name" not in changed or not ({"sku", "gtin"} & set(changed)):
                raise review.ReviewError("a mapping needs the name column and the SKU or barcode column")
            # The whole mapping, as the import stores it: the vendor's next file is read with it.
            mapping = {name: changed.get(name, "") for name in (*FIELDS, "default_currency")}
            mapping["default_currency"] = current.get("default_currency", "")
            fields = {"column_mapping": mapping, "mapping_from": f"set by {flask.g.reviewer}", "updated_at": clock()}
            documents.commit([Write("vendors", vendor, fields)])
            return flask.redirect(flask.url_for("mapping", vendor=vendor, saved=1))
        return flask.render_template(
            "mapping.html",
            vendor=vendor,
            record=record,
            mapping=current,
            fields=FIELDS,
            saved=bool(flask.request.args.get("saved")),
        )

    # -- the overview ----------------------------------------------------------------------

    @app.get("/overview")
    def overview() -> Any:
        now = clock()
        decided, total = trust.decided_without_review(documents, now - timedelta(days=7))
        return flask.render_template(
            "overview.html",
            per_day=trust.uploads_per_day(documents, now),
            decided=decided,
            total=total,
            backlog=trust.backlog(documents),
            backlog_cap=trust.BACKLOG_CAP,
            precision=trust.audit_precision(documents),
            audit_rate=settings.audit_rate,
            models=models(),
        )

    # -- helpers --------------------------------------------------------------------------

    def _tree_of(path: tuple[str, ...], asked: str) -> str:
        """The tree (image, text) the path is a category of, the one asked for first."""
        for name in sorted(taxonomies, key=lambda tree: tree != asked):
            taxonomy = taxonomies[name]()
            if taxonomy is not None and path in {leaf[: len(path)] for leaf in taxonomy.leaves}:
                return name
        raise review.ReviewError(f"{'/'.join(path)} is not a category of the store's trees")

    def _codes() -> list[str]:
        return [
            "audit",
            *(f"{source} to {level}" for source in ("image", "text") for level in trust.LEVELS[source][:-1]),
        ]

    app.jinja_env.filters["when"] = _when
    app.jinja_env.filters["money"] = _money
    return app


def _queue_filters() -> dict[str, str]:
    return {
        name: flask.request.args.get(name, "").strip()
        for name in queries.QUEUE_FILTERS
        if flask.request.args.get(name, "").strip()
    }


def _queue_page(
    documents: DocumentStore, filters: dict[str, str], after: str, size: int
) -> tuple[list[tuple[str, dict[str, Any]]], str]:
    """One page of the queue after the rank `after`, and the rank to ask the next page after."""
    queries.queue_query(filters)  # every shape asked here is one the deployment indexes
    conditions = [(name, "==", value) for name, value in filters.items()]
    conditions.append(("review_rank", ">", after or ""))
    found = documents.query(PRODUCTS, conditions, [("review_rank", "asc")], size)
    next_after = found[-1][1]["review_rank"] if len(found) == size else ""
    return found, next_after


def _row(product: Mapping[str, Any]) -> dict[str, Any]:
    category = product.get("category") or {}
    return {
        "vendor": product.get("vendor", ""),
        "sku": product.get("sku", ""),
        "name": product.get("name") or "",
        "kind": product.get("kind", ""),
        "path": category.get("path_text", ""),
        "reason": product.get("review_code") or "",
        "audit": bool(product.get("audit")),
    }


def _card(product_id: str, product: Mapping[str, Any]) -> dict[str, Any]:
    """What one card shows, from the product document."""
    alternatives: list[dict[str, Any]] = []
    for source, tree in (("image_category", "image"), ("text_category", "text")):
        for option in (product.get(source) or {}).get("alternatives") or []:
            if len(alternatives) < 5 and option["path_text"] not in {a["path"] for a in alternatives}:
                alternatives.append({"path": option["path_text"], "confidence": option["confidence"], "tree": tree})
    photos = []
    for key, record in sorted((product.get("photos") or {}).items()):
        image = record.get("image") or {}
        photos.append(
            {
                "key": key,
                "name": record["object"]["name"],
                "generation": record["object"]["generation"],
                "size": f"{image.get('width', '?')}×{image.get('height', '?')}",
            }
        )
    return {
        "id": product_id,
        "product": product,
        "price": shown_price(product),
        "row": _row(product),
        "alternatives": alternatives,
        "photos": photos,
        "decisions": [
            (label, product[field])
            for label, field in (("photo", "image_category"), ("price list", "text_category"))
            if product.get(field)
        ],
        "trees": [
            tree for tree, field in (("image", "image_category"), ("text", "text_category")) if product.get(field)
        ],
        "enter_files": _enter_files(product),
        "data": json.dumps(
            {
                "id": product_id,
                "revision": int(product.get(REVISION) or 0),
                "alternatives": [{"path": a["path"], "tree": a["tree"]} for a in alternatives],
            }
        ),
    }


def _enter_files(product: Mapping[str, Any]) -> str:
    """The words the card shows beside Enter: exactly the category Enter files, at its level."""
    try:
        path, _ = review.shown_category(product)
    except review.ReviewError:
        return ""
    category = product.get("category") or {}
    level = category.get("decided_level", "")
    shallow = category.get("needs_review") and level != "human"
    return "/".join(path) + (f" (only the {level} level: pick a deeper one with 1–5 or /)" if shallow else "")


def _json_body() -> dict[str, Any]:
    body = flask.request.get_json(silent=True)
    if not isinstance(body, dict):
        raise review.ReviewError("the request body must be a JSON object")
    return body


_DOCUMENT_ID = re.compile(r"[^/\x00-\x1f]{1,1500}")


def _document_id(raw: Any, what: str) -> str:
    """A document id as the pipelines make them: no '/', no control characters, not '.' or
    '..', not reserved; a bad one is the request's fault (400), never a crash."""
    text = raw if isinstance(raw, str) else ""
    if not _DOCUMENT_ID.fullmatch(text) or text in (".", "..") or (text.startswith("__") and text.endswith("__")):
        raise review.ReviewError(f"{what} {str(raw)[:80]!r} is not an id this panel gives out")
    return text


def _revision(body: Mapping[str, Any]) -> int:
    raw = body.get("revision")
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise review.ReviewError("the request must say which revision of the product it was made on (reload the page)")
    return raw


def _whole_number(raw: str, name: str, low: int, high: int) -> int:
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise review.ReviewError(f"{name} must be a whole number from {low} to {high}, got {raw[:20]!r}")
    return int(raw)


def _time_arg(name: str) -> datetime | None:
    raw = flask.request.args.get(name, "")
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise review.ReviewError(f"{name} must be a time, got {raw!r}") from None


def _last(found: list[tuple[str, dict[str, Any]]], field: str) -> str:
    if len(found) < LIST_LIMIT:
        return ""
    value = found[-1][1].get(field)
    return value.isoformat() if isinstance(value, datetime) else ""


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else str(value or "")


def _money(value: Any) -> str:
    if not isinstance(value, Mapping):
        return ""
    amount = value.get("amount", value.get("predicted"))
    return f"{amount:,.2f} {value.get('currency', '')}".strip() if isinstance(amount, int | float) else ""


def _refusal(status: int, reason: str, extra: Mapping[str, Any] | None = None) -> Any:
    wants_json = flask.request.path.startswith("/api/") or flask.request.accept_mimetypes.best == "application/json"
    if wants_json:
        return flask.jsonify({"error": reason, **(extra or {})}), status
    return flask.render_template("refused.html", status=status, reason=reason), status
