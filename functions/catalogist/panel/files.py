"""What vendors sent: the uploads ledger and each upload's page (Retry for a failed one, Re-run for
a finished one, and where it went), the imports of vendor files and each import's report (with
every rejected row's values, and those rows as a CSV the vendor can fix), and a vendor's column
mapping, read and set."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from typing import Any

import flask

from catalogist.documents import imports as imports_documents
from catalogist.documents import vendors
from catalogist.documents.imports import ImportReport
from catalogist.intake import ledger
from catalogist.intake.events import VENDOR_ID
from catalogist.intake.retry import RetryRefused, rerun_upload, retry_upload
from catalogist.panel import queries
from catalogist.panel.context import context, document_id, time_arg
from catalogist.panel.errors import BadRequest, Conflict, NotFound
from catalogist.ports import Filter
from catalogist.vendorfiles import ColumnMapping, escape_for_export
from catalogist.vendorfiles.mapping import FIELDS

blueprint = flask.Blueprint("files", __name__)
LIST_LIMIT = 50
RECENT_IMPORTS = 5  # offered for a re-run beside a vendor's mapping


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


def _report(import_id: str) -> ImportReport:
    fields = context().documents.get(queries.IMPORTS, document_id(import_id, "import id"))
    if fields is None:
        raise NotFound(f"no import {import_id}")
    return ImportReport.from_fields(import_id, fields)


@blueprint.get("/imports/<import_id>")
def import_report(import_id: str) -> Any:
    report = _report(import_id)
    entry = context().documents.get(ledger.COLLECTION, import_id) or {}
    return flask.render_template(
        "import.html",
        report=report,
        columns=rejected_columns(report),
        entry=entry,
        upload_id=import_id,
        fields=FIELDS,  # the columns read, in our fields' order (a stored map keeps none)
    )


def rejected_columns(report: ImportReport) -> list[str]:
    """The columns the rejected rows had, in the file's order (then any others they had)."""
    seen = dict.fromkeys(report.columns)
    for problem in report.first_rejected:
        seen.update(dict.fromkeys(problem.values))
    return [column for column in seen if any(column in problem.values for problem in report.first_rejected)]


@blueprint.get("/imports/<import_id>/rejected.csv")
def rejected_csv(import_id: str) -> Any:
    """The rejected rows as the vendor wrote them, with the problem beside each: a file to fix and
    send again. Spreadsheet-safe: a cell that would run as a formula starts with an apostrophe."""
    report = _report(import_id)
    columns = rejected_columns(report)
    out = io.StringIO()
    table = csv.writer(out)
    table.writerow(["row", "sheet", "problem", *columns])
    for problem in report.first_rejected:
        cells = [str(problem.row), problem.sheet, problem.reason, *(problem.values.get(c, "") for c in columns)]
        table.writerow([escape_for_export(cell) for cell in cells])
    name = str(report.object.get("name") or import_id).rsplit("/", 1)[-1]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name.rsplit(".", 1)[0])[:80] or "import"
    response = flask.make_response("\ufeff" + out.getvalue())  # the BOM: spreadsheets read it as UTF-8
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}-rejected-rows.csv"'
    return response


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


@blueprint.get("/uploads/<upload_id>")
def upload(upload_id: str) -> Any:
    """One upload: where it stands, what it made (its product or its import report), and where
    a retry or a re-run of it went. A new generation's page exists before its delivery does:
    it says so and looks again shortly."""
    panel = context()
    entry = panel.documents.get(ledger.COLLECTION, document_id(upload_id, "upload id"))
    origin = flask.request.args.get("from", "")
    if entry is None:
        earlier = panel.documents.get(ledger.COLLECTION, document_id(origin, "upload id")) if origin else None
        if earlier is None:
            raise NotFound(f"no upload {upload_id}")
        return flask.render_template("upload.html", entry=None, upload_id=upload_id, earlier=earlier, origin=origin)
    later = {
        name: ledger.upload_id(entry["bucket"], entry["name"], str(entry[name]))
        for name in ("retried_as", "rerun_as")
        if entry.get(name)
    }
    report = panel.documents.get(queries.IMPORTS, upload_id)
    return flask.render_template(
        "upload.html", entry=entry, upload_id=upload_id, later=later, has_report=report is not None, origin=origin
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
    return flask.redirect(flask.url_for("files.upload", upload_id=upload_id, sent="retried"))


@blueprint.post("/uploads/<upload_id>/rerun")
def rerun(upload_id: str) -> Any:
    """The file again, through the normal pipeline, as a new generation of the same object."""
    panel = context()
    try:
        generation = rerun_upload(
            panel.documents, panel.blobs, document_id(upload_id, "upload id"), flask.g.reviewer, panel.clock()
        )
    except RetryRefused as refused:
        raise Conflict(refused.reason) from None
    flask.current_app.logger.info("upload %s re-run as %s by %s", upload_id, generation, flask.g.reviewer)
    return flask.redirect(flask.url_for("files.upload", upload_id=upload_id, sent="rerun"))


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
    recent = panel.documents.query(
        queries.IMPORTS,
        [(imports_documents.VENDOR, "==", vendor)],
        [(imports_documents.STARTED_AT, "desc")],
        RECENT_IMPORTS,
    )
    return flask.render_template(
        "mapping.html",
        vendor=vendor,
        record=record,
        mapping=current.columns(),
        fields=FIELDS,
        saved=bool(flask.request.args.get("saved")),
        recent=[ImportReport.from_fields(import_id, fields) for import_id, fields in recent],
    )


def _last(found: list[tuple[str, dict[str, Any]]], field: str) -> str:
    if len(found) < LIST_LIMIT:
        return ""
    value = found[-1][1].get(field)
    return value.isoformat() if isinstance(value, datetime) else ""
