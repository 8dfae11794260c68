"""The Firestore adapters' `modify` against the real emulator: no write is lost to a concurrent
writer, however the store isolates (Firestore's transactions; claims where the emulator has none)."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from catalogist.adapters.firestore import (
    BATCH_LIMIT,
    CLAIMED_PER_COMMIT,
    REVISION_CLAIMS,
    EmulatorDocuments,
    FirestoreDocuments,
    claim_id,
)
from catalogist.ports import REVISION, Write
from tests.support import vendor


def store(stack, monkeypatch: pytest.MonkeyPatch, kind: type[FirestoreDocuments]) -> FirestoreDocuments:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", stack.config.firestore_host)
    documents = kind(stack.config.project)
    documents.client  # built while the variable is set  # noqa: B018
    return documents


@pytest.fixture
def emulator(stack, monkeypatch: pytest.MonkeyPatch) -> FirestoreDocuments:
    return store(stack, monkeypatch, EmulatorDocuments)


def existing(documents: FirestoreDocuments, collection: str, document_id: str) -> dict[str, Any]:
    found = documents.get(collection, document_id)
    assert found is not None, f"no {collection}/{document_id}"
    return found


def add_one(_: str, stored: dict | None) -> dict:
    return {"count": int((stored or {}).get("count", 0)) + 1, "seen": [*(stored or {}).get("seen", [])][-3:]}


def test_concurrent_read_modify_writes_lose_nothing(stack, monkeypatch: pytest.MonkeyPatch):
    """Four stores (four processes: their local turns are their own) of two threads each."""
    stores = [store(stack, monkeypatch, EmulatorDocuments) for _ in range(4)]
    collection = f"counters-{vendor()}"

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: stores[n % 4].modify(collection, ["shared"], add_one), range(160)))

    emulator = stores[0]
    counter = existing(emulator, collection, "shared")
    assert (counter["count"], counter[REVISION]) == (160, 160)
    claims = emulator.get_many(REVISION_CLAIMS, [claim_id(collection, "shared", n) for n in range(1, 162)])
    assert len(claims) == 160, "one claim a revision"


def test_old_claims_are_swept_and_writes_go_on(emulator, monkeypatch: pytest.MonkeyPatch):
    from catalogist.adapters import firestore

    collection = f"swept-{vendor()}"
    for _ in range(3):
        emulator.modify(collection, ["a"], add_one)
    monkeypatch.setattr(firestore, "CLAIMS_KEPT", timedelta(0))

    emulator._sweep_claims()
    emulator.modify(collection, ["a"], add_one)

    claims = emulator.get_many(REVISION_CLAIMS, [claim_id(collection, "a", n) for n in range(1, 5)])
    assert list(claims) == [claim_id(collection, "a", 4)]
    assert emulator.get(collection, "a")["count"] == 4


def test_a_page_of_documents_is_written_in_chunks_and_a_stale_read_is_read_again(emulator: FirestoreDocuments):
    collection = f"page-{vendor()}"
    ids = [f"p-{i:03d}" for i in range(2 * CLAIMED_PER_COMMIT + 7)]
    emulator.modify(collection, ids, add_one)
    stale = emulator.get_many(collection, ids)
    emulator.modify(collection, ids[::2], add_one)  # another writer, after that read

    calls: list[str] = []

    def counted(document_id: str, stored: dict | None) -> dict:
        calls.append(document_id)
        return add_one(document_id, stored)

    written = emulator.modify(collection, ids, counted, known=stale)

    after = emulator.get_many(collection, ids)
    assert all(after[i]["count"] == (3 if n % 2 == 0 else 2) for n, i in enumerate(ids)), "no write lost"
    assert len(calls) == len(ids) + len(ids[::2]), "only the documents changed since the read are changed again"
    assert set(written) == set(ids) and all(written[i][REVISION] == after[i][REVISION] for i in ids)


def test_a_change_that_raises_writes_nothing(emulator: FirestoreDocuments):
    collection = f"refused-{vendor()}"
    emulator.modify(collection, ["a"], add_one)

    def refuse(_: str, stored: dict | None) -> dict:
        raise ValueError("stale")

    with pytest.raises(ValueError, match="stale"):
        emulator.modify(collection, ["a"], refuse)

    assert existing(emulator, collection, "a")[REVISION] == 1


def test_the_transaction_path_writes_and_counts_revisions(stack, monkeypatch: pytest.MonkeyPatch):
    """Production's `modify` (a Firestore transaction), run once: the emulator cannot show its
    isolation, only that it reads, changes and writes as the emulator path does."""
    documents = store(stack, monkeypatch, FirestoreDocuments)
    collection = f"transactions-{vendor()}"

    documents.modify(collection, ["a", "b"], add_one)
    written = documents.modify(collection, ["a"], add_one)

    assert documents.get(collection, "a") == {**written["a"], "count": 2, REVISION: 2}
    assert existing(documents, collection, "b")[REVISION] == 1
    assert documents.modify(collection, ["b"], lambda _, stored: None) == {}
    assert existing(documents, collection, "b")[REVISION] == 1


def test_a_scan_gives_every_matching_document_once_page_by_page_as_written(emulator):
    """A re-scoring job reads a catalogue in pages; here pages of 100 over 1,500 matching
    documents (written each way the store writes), started after a given id, with others between."""
    collection = f"scanned-{vendor()}"
    ids = [f"p-{i:05d}" for i in range(3 * BATCH_LIMIT)]
    for start in range(0, len(ids), BATCH_LIMIT):
        emulator.commit(
            [Write(collection, i, {"vendor": "v", "n": int(i[2:])}) for i in ids[start : start + BATCH_LIMIT]]
        )
        emulator.commit([Write(collection, f"{i}-other", {"vendor": "w"}) for i in ids[start : start + 10]])
    emulator.create(collection, "q-created", {"vendor": "v", "n": -1})
    emulator.commit(
        [Write(collection, "q-merged", {"vendor": "v", "card": {"n": -2}}, paths=(("vendor",), ("card", "n")))]
    )
    emulator.update(collection, ids[20], {"n": 20, "card.seen": True})

    seen = list(emulator.scan(collection, [("vendor", "==", "v")], after=ids[9], page=100))

    seen_ids = [document_id for document_id, _ in seen]
    assert seen_ids == [*ids[10:], "q-created", "q-merged"], "each once, in id order, none lost"
    assert dict(seen)[ids[20]] == {"vendor": "v", "n": 20, "card": {"seen": True}}, "the fields as written"
    assert dict(seen)["q-merged"] == {"vendor": "v", "card": {"n": -2}}
    assert emulator.get(collection, "q-created") == {"vendor": "v", "n": -1}
