"""Documents in Firestore with the official client (one client per instance)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.field_path import FieldPath

from catalogist.ports import Write

BATCH_LIMIT = 500  # Firestore's limit on writes per commit


class FirestoreDocuments:
    def __init__(self, project: str, database: str = "(default)") -> None:
        self._project = project
        self._database = database

    @cached_property
    def client(self) -> firestore.Client:
        # Against the emulator (FIRESTORE_EMULATOR_HOST) the client needs no credentials.
        return firestore.Client(project=self._project, database=self._database)

    def get(self, collection: str, document_id: str) -> dict[str, Any] | None:
        snapshot = self.client.collection(collection).document(document_id).get()
        return snapshot.to_dict() if snapshot.exists else None

    def get_many(self, collection: str, document_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        references = [self.client.collection(collection).document(i) for i in document_ids]
        return {s.id: s.to_dict() or {} for s in self.client.get_all(references) if s.exists}

    def create(self, collection: str, document_id: str, fields: Mapping[str, Any]) -> bool:
        try:
            self.client.collection(collection).document(document_id).create(dict(fields))
        except gexc.AlreadyExists:
            return False
        return True

    def update(self, collection: str, document_id: str, fields: Mapping[str, Any]) -> None:
        self.client.collection(collection).document(document_id).update(dict(fields))

    def commit(self, writes: Sequence[Write]) -> None:
        if len(writes) > BATCH_LIMIT:
            raise ValueError(f"a batch holds at most {BATCH_LIMIT} writes, got {len(writes)}")
        batch = self.client.batch()
        for write in writes:
            reference = self.client.collection(write.collection).document(write.document_id)
            if not write.merge:
                batch.set(reference, dict(write.fields))
                continue
            paths = write.paths or tuple((name,) for name in write.fields)
            batch.set(reference, dict(write.fields), merge=[FieldPath(*path) for path in paths])
        batch.commit()
