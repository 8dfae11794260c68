"""Bulk decisions as pages: the preview of what a bulk action would file (the cards and the
count), the confirmation, the batch as it was recorded, and its undo (`bulk.py` does the work)."""

from __future__ import annotations

import uuid
from typing import Any

import flask

from catalogist.documents.products import Product
from catalogist.panel import bulk, cards
from catalogist.panel.context import context, document_id
from catalogist.panel.errors import BadRequest

blueprint = flask.Blueprint("batches", __name__)


@blueprint.get("/bulk")
def preview() -> Any:
    panel = context()
    form = cards.filter_form()
    action = flask.request.args.get("action", "first")
    if action not in bulk.ACTIONS:
        raise BadRequest(f"unknown bulk action {action[:20]!r}: one of {', '.join(bulk.ACTIONS)}")
    planned = bulk.preview(panel.documents, form.view, action, flask.g.reviewer, panel.clock())
    chosen = [p for p in planned if not p.left_out]
    return flask.render_template(
        "bulk.html",
        form=form,
        action=action,
        actions=bulk.ACTIONS,
        chosen=chosen,
        left_out=[p for p in planned if p.left_out],
        request_id=uuid.uuid4().hex,
        batch_max=bulk.BATCH_MAX,
        rows=[cards.Row(p.product) for p in chosen],
    )


@blueprint.post("/bulk")
def apply() -> Any:
    panel = context()
    asked: dict[str, int] = {}
    for value in flask.request.form.getlist("card"):
        revision, _, product_id = value.partition(":")
        if not revision.isdigit():
            raise BadRequest("each card must carry the revision it was previewed at (preview again)")
        asked[document_id(product_id, "product id")] = int(revision)
    request_id = flask.request.form.get("request_id", "")
    if not 8 <= len(request_id) <= 64:
        raise BadRequest("the confirmation has no request id: preview again")
    criteria = {name: value[:200] for name, value in flask.request.form.items() if name.startswith("criteria-")}
    batch = bulk.apply(
        panel.documents,
        flask.request.form.get("action", ""),
        asked,
        flask.g.reviewer,
        request_id,
        panel.clock(),
        panel.settings.audit_rate,
        {name.removeprefix("criteria-"): value for name, value in criteria.items()},
    )
    return flask.redirect(flask.url_for("batches.batch", batch_id=batch.id))


@blueprint.get("/batches/<batch_id>")
def batch(batch_id: str) -> Any:
    panel = context()
    recorded = bulk.load(panel.documents, document_id(batch_id, "batch id"))
    found = panel.documents.get_many("products", [*recorded.applied, *recorded.refused])
    named = {pid: Product.from_fields(pid, fields) for pid, fields in found.items()}
    return flask.render_template(
        "batch.html", batch=recorded, products=named, action_words=bulk.ACTIONS.get(recorded.action, recorded.action)
    )


@blueprint.post("/batches/<batch_id>/undo")
def undo(batch_id: str) -> Any:
    panel = context()
    bulk.undo(
        panel.documents, document_id(batch_id, "batch id"), flask.g.reviewer, panel.clock(), panel.settings.audit_rate
    )
    return flask.redirect(flask.url_for("batches.batch", batch_id=batch_id))
