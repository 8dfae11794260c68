"""Cloud Functions entry points. Wiring only: check the event, call the core, return."""

from __future__ import annotations

import flask
import functions_framework
from catalogist import logs
from catalogist.errors import BadEvent
from catalogist.events import parse_storage_event
from catalogist.firestore_adapter import FirestoreDocuments
from catalogist.settings import Settings
from catalogist.storage_adapter import StorageBlobs
from catalogist.uploads import handle_upload
from cloudevents.http import CloudEvent

SETTINGS = Settings.from_env()
logs.configure(SETTINGS.log_level)
# Built once per instance; the clients inside connect lazily on first use.
BLOBS = StorageBlobs(SETTINGS.project)
DOCUMENTS = FirestoreDocuments(SETTINGS.project, SETTINGS.firestore_database)


@functions_framework.cloud_event
def on_upload(cloud_event: CloudEvent) -> None:
    try:
        event = parse_storage_event(cloud_event.get_attributes(), cloud_event.get_data())
    except BadEvent as error:
        flask.abort(400, description=error.reason)
    handle_upload(event, SETTINGS, BLOBS, DOCUMENTS)
