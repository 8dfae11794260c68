"""What vendors sent: the uploads ledger (with Retry for a failed upload), the imports of vendor
files and each import's report, and a vendor's column mapping, read and set."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import flask

from catalogist.documents import imports as imports_documents
from catalogist.documents import vendors
from catalogist.documents.imports import ImportReport
from catalogist.intake import ledger
from catalogist.intake.events import VENDOR_ID
from catalogist.intake.retry import RetryRefused, retry_upload
from catalogist.panel import queries
from catalogist.panel.context import context, document_id, time_arg
from catalogist.panel.errors import BadRequest, Conflict, NotFound
from catalogist.ports import Filter
from catalogist.vendorfiles import ColumnMapping
from catalogist.vendorfiles.mapping import FIELDS

blueprint = flask.Blueprint("files", __name__)
LIST_LIMIT = 50


@blueprint.get("/imports")
def imports() -> Any:
    vendor = flask.request.args.get("vendor", "").strip()
    before = time_arg("before")
    filters: list[Filter] = [(imports_documents.VENDOR, "==", vendor)] if vendor else []
    if before:
        filters.append((imports_documents.STARTED_AT, "<", before))
    found = context().documents.query(queries.IMPORTS, filters, [(imports_documents.STARTED_AT, "desc")], LIST_LIMIT)
    return flask.render_template(
        "imports.html", imports=found, vendor=vendor, more=_last(found, imports_documents.STARTED_AT)
    )


@blueprint.get("/imports/<import_id>")
def import_report(import_id: str) -> Any:
    fields = context().documents.get(queries.IMPORTS, document_id(import_id, "import id"))
    if fields is None:
        raise NotFound(f"no import {import_id}")
    return flask.render_template("import.html", report=ImportReport.from_fields(import_id, fields))


@blueprint.get("/uploads")
def uploads() -> Any:
    vendor = flask.request.args.get("vendor", "").strip()
    status = flask.request.args.get("status", "").strip()
    before = time_arg("before")
    filters: list[Filter] = [(name, "==", value) for name, value in (("vendor", vendor), ("status", status)) if value]
    if before:
        filters.append(("received_at", "<", before))
    found = context().documents.query(ledger.COLLECTION, filters, [("received_at", "desc")], LIST_LIMIT)
    return flask.render_template(
        "uploads.html",
        uploads=found,
        vendor=vendor,
        status=status,
        statuses=[s.value for s in ledger.Status],
        more=_last(found, "received_at"),
    )


@blueprint.post("/uploads/<upload_id>/retry")
def retry(upload_id: str) -> Any:
    panel = context()
    lease = timedelta(seconds=panel.settings.lease_seconds)
    try:
        generation = retry_upload(
            panel.documents, panel.blobs, document_id(upload_id, "upload id"), flask.g.reviewer, panel.clock(), lease
        )
    except RetryRefused as refused:
        raise Conflict(refused.reason) from None
    flask.current_app.logger.info("upload %s retried by hand as %s by %s", upload_id, generation, flask.g.reviewer)
    return flask.redirect(flask.url_for("files.uploads", status="received", retried=generation))


@blueprint.route("/vendors/<vendor>/mapping", methods=["GET", "POST"])
def mapping(vendor: str) -> Any:
    panel = context()
    if not VENDOR_ID.fullmatch(vendor):
        raise BadRequest(f"{vendor[:70]!r} is not a vendor id")
    record = vendors.load(panel.documents, vendor)
    if record is None and not panel.documents.query(
        ledger.COLLECTION, [("vendor", "==", vendor)], [("received_at", "desc")], 1
    ):
        raise NotFound(f"no vendor {vendor}: nothing was ever uploaded under that name")
    current = record.column_mapping if record and record.column_mapping else ColumnMapping()
    if flask.request.method == "POST":
        columns = {name: flask.request.form.get(name, "").strip() for name in FIELDS}
        chosen = ColumnMapping(**columns, default_currency=current.default_currency)
        if not chosen.name or not (chosen.sku or chosen.gtin):
            raise BadRequest("a mapping needs the name column and the SKU or barcode column")
        # The whole mapping, as the import stores it: the vendor's next file is read with it.
        saved = vendors.Vendor(vendor, chosen, f"set by {flask.g.reviewer}", panel.clock())
        panel.documents.commit([vendors.write(saved)])
        return flask.redirect(flask.url_for("files.mapping", vendor=vendor, saved=1))
    return flask.render_template(
        "mapping.html",
        vendor=vendor,
        record=record,
        mapping=current.columns(),
        fields=FIELDS,
        saved=bool(flask.request.args.get("saved")),
    )


def _last(found: list[tuple[str, dict[str, Any]]], field: str) -> str:
    if len(found) < LIST_LIMIT:
        return ""
    value = found[-1][1].get(field)
    return value.isoformat() if isinstance(value, datetime) else ""
