"""Cloud Functions entry points. Wiring only: check the event, call the core, return."""

from __future__ import annotations

import flask
import functions_framework
from cloudevents.http import CloudEvent

from catalogist import logs, wiring
from catalogist.errors import BadEvent, UploadInProgress
from catalogist.intake.events import parse_storage_event
from catalogist.intake.uploads import handle_upload, reject_unreadable_event
from catalogist.models.releases import Lazy
from catalogist.settings import PanelSettings, Settings

SETTINGS = Settings.from_env()
logs.configure(SETTINGS.log_level)
# Built once per instance; clients connect and models load lazily, on first use.
BLOBS, DOCUMENTS, PIPELINES = wiring.build(SETTINGS)
# The panel is built on its first request, so on_upload's deployment needs none of its settings.
PANEL = Lazy(lambda: wiring.build_panel(SETTINGS, PanelSettings.from_env(), BLOBS, DOCUMENTS))


@functions_framework.cloud_event
def on_upload(cloud_event: CloudEvent) -> None:
    attributes, data = cloud_event.get_attributes(), cloud_event.get_data()
    try:
        event = parse_storage_event(attributes, data)
    except BadEvent as error:
        # Bad input is permanent: recorded where an admin sees it and acknowledged, when the
        # event names an object at all; else refused at the edge with the reason.
        if reject_unreadable_event(attributes, data, error.reason, DOCUMENTS):
            return
        flask.abort(400, description=error.reason)
    try:
        handle_upload(event, SETTINGS, BLOBS, DOCUMENTS, PIPELINES)
    except UploadInProgress as busy:
        # Not acknowledged, so the event comes again; by then the work is finished (or the
        # delivery doing it was lost, and the redelivery takes over).
        flask.abort(409, description=str(busy))


@functions_framework.http
def panel(request: flask.Request) -> flask.typing.ResponseReturnValue:
    """The review panel (a Flask app of its own, behind IAP when deployed)."""
    app = PANEL.get()
    with app.request_context(request.environ):
        return app.full_dispatch_request()
