"""Uploads through the real emulators become ledger documents, once per object version."""

from __future__ import annotations

import io
import json

import pytest
import requests
from PIL import Image

from catalogist.intake.ledger import upload_id
from catalogist_infra.cloudevents import binary_event, object_resource
from catalogist_infra.stack import wait_until
from tests.support import vendor


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (250, 210, 40)).save(buffer, format="JPEG")
    return buffer.getvalue()


def ledger_document(firestore, bucket: str, blob, timeout: float = 30.0, finished: bool = True):
    """The ledger entry; with `finished`, once processing is over (status no longer `received`)."""
    reference = firestore.collection("uploads").document(upload_id(bucket, blob.name, str(blob.generation)))

    def found():
        snapshot = reference.get()
        if not snapshot.exists or (finished and snapshot.get("status") == "received"):
            return None
        return snapshot

    return wait_until(found, timeout)


def test_an_upload_becomes_a_ledger_document(uploads, firestore):
    blob = uploads.blob(f"{vendor()}/SKU-1.jpg")
    blob.upload_from_string(jpeg(), content_type="image/jpeg")

    snapshot = ledger_document(firestore, uploads.name, blob)

    assert snapshot is not None, "the bridge did not deliver the upload to on_upload"
    entry = snapshot.to_dict()
    assert entry["name"] == blob.name
    assert entry["generation"] == str(blob.generation)
    assert entry["vendor"] == blob.name.split("/")[0]
    assert (entry["kind"], entry["format"], entry["status"], entry["reason"]) == ("photo", "jpeg", "done", "")
    assert entry["size"] == blob.size


def test_a_new_generation_gets_its_own_document(uploads, firestore):
    blob = uploads.blob(f"{vendor()}/prices.csv")
    blob.upload_from_string("SKU,Name\nA-1,Apples\n", content_type="text/csv")
    first_generation = blob.generation
    assert ledger_document(firestore, uploads.name, blob, finished=False) is not None
    blob.upload_from_string("SKU,Name\nA-1,Green apples\n", content_type="text/csv")
    assert blob.generation != first_generation
    assert ledger_document(firestore, uploads.name, blob, finished=False) is not None


def test_the_same_event_delivered_three_times_leaves_one_unchanged_document(stack, uploads, firestore):
    blob = uploads.blob(f"{vendor()}/SKU-2.jpg")
    blob.upload_from_string(jpeg(), content_type="image/jpeg")
    first = ledger_document(firestore, uploads.name, blob)
    assert first is not None
    uploads.reload()
    listed = next(b for b in uploads.client.list_blobs(uploads, prefix=blob.name))
    headers, body = binary_event(object_resource(listed))

    answers = [requests.post(stack.config.functions_url, data=body, headers=headers, timeout=30) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    documents = [d for d in firestore.collection("uploads").stream() if d.get("name") == blob.name]
    assert len(documents) == 1
    assert documents[0].to_dict() == first.to_dict()
    assert documents[0].update_time == first.update_time


@pytest.mark.parametrize(
    ("name", "content", "content_type", "reason"),
    [
        ("report.pdf", None, "application/pdf", "the content is a PDF document named .pdf"),
        (
            "SKU-3.jpg",
            b"<!DOCTYPE html><html><body>Not found</body></html>",
            "image/jpeg",
            "named .jpg but the content is HTML",
        ),
        ("empty.csv", b"", "text/csv", "the object is empty (0 bytes)"),
    ],
)
def test_an_unsupported_object_is_recorded_as_rejected_with_its_reason(
    uploads, firestore, name, content, content_type, reason
):
    if content is None:  # a real PDF, written by Pillow
        buffer = io.BytesIO()
        Image.new("RGB", (20, 20)).save(buffer, format="PDF")
        content = buffer.getvalue()
    blob = uploads.blob(f"{vendor()}/{name}")
    blob.upload_from_string(content, content_type=content_type)

    snapshot = ledger_document(firestore, uploads.name, blob)

    assert snapshot is not None
    entry = snapshot.to_dict()
    assert (entry["kind"], entry["status"], entry["reason"]) == ("unsupported", "rejected", reason)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda h, d: ({**h, "ce-type": "google.cloud.storage.object.v1.deleted"}, d), "expected event type"),
        (lambda h, d: (h, {k: v for k, v in d.items() if k != "generation"}), "lacks generation"),
    ],
)
def test_a_malformed_cloud_event_that_names_no_upload_gets_a_400_with_the_reason(stack, change, reason):
    resource = {
        "bucket": "b",
        "name": "acme/x.jpg",
        "generation": "1",
        "size": "10",
        "updated": "2026-11-26T10:00:00Z",
    }
    headers, body = binary_event(resource)
    headers, data = change(headers, json.loads(body))

    answer = requests.post(stack.config.functions_url, data=json.dumps(data), headers=headers, timeout=30)

    assert answer.status_code == 400
    assert reason in answer.text


def test_an_unreadable_upload_event_is_recorded_as_rejected_and_acknowledged(stack, firestore):
    seller = vendor()
    resource = {
        "bucket": "b",
        "name": f"{seller}/x.jpg",
        "generation": "7",
        "size": "big",
        "updated": "2026-11-26T10:00:00Z",
    }
    headers, body = binary_event(resource)

    answer = requests.post(stack.config.functions_url, data=body, headers=headers, timeout=30)

    entry = firestore.collection("uploads").document(upload_id("b", f"{seller}/x.jpg", "7")).get().to_dict()
    assert answer.status_code == 200, "acknowledged: redelivering it cannot help"
    assert (entry["status"], entry["vendor"]) == ("rejected", seller)
    assert "whole numbers" in entry["reason"]


def test_a_json_body_without_cloud_event_attributes_gets_a_400(stack):
    answer = requests.post(stack.config.functions_url, json={"name": "acme/x.jpg"}, timeout=30)
    assert answer.status_code == 400
