"""The import core with in-memory documents and tiny deterministic models (pure-unit seams)."""

import io
import threading
import time
from datetime import UTC, datetime

import pytest

from catalogist.documents import products
from catalogist.errors import BadFile, Superseded
from catalogist.imports.pages import PAGE_ROWS
from catalogist.imports.pipeline import FileSource, ImportContext, import_file
from catalogist.imports.progress import CHECK_EVERY_ROWS, SizedStream
from catalogist.intake.ledger import upload_id
from catalogist.ports import REVISION
from catalogist.vendorfiles.formats import detect_kind
from tests.support import CSV, Models, run
from tests.unit.fakes import Expecting, MemoryDocuments

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_rows_become_categorized_priced_products():
    documents = MemoryDocuments()
    summary = run(CSV, documents)
    assert (summary["status"], summary["rows_seen"], summary["written"], summary["rejected"]) == (
        "done",
        2,
        2,
        0,
    )
    rice = documents.get("products", "acme:R-1")
    assert (rice["name"], rice["brand"], rice["vendor_price"]) == (
        "Basmati rice 1 kg",
        "India Gate",
        {"amount": 250.0, "currency": ""},
    )
    assert rice["text_category"]["path_text"] == "Foodgrains/Rice/Basmati"
    assert rice["category"]["source"] == "text"
    assert rice["price"] == {
        "predicted": 100.0,
        "low": 80.0,
        "high": 130.0,
        "currency": "INR",
        "mode": "list_price",
        "model_version": "price-1",
        "rough": False,
        "from_category": "",
    }
    assert rice["source_file"]["row"] == 2
    assert documents.get("products", "acme:T-1")["price"]["mode"] == "text"
    assert summary["format"] == "csv" and summary["column_mapping"]
    assert set(summary["seconds"]) == {"parse", "read", "models", "write", "commit", "total"}


def test_the_same_file_version_twice_changes_nothing():
    documents = MemoryDocuments()
    run(CSV, documents)
    before = {k: dict(v) for k, v in documents.collections.items()}
    again = run(CSV, documents)
    assert again["status"] == "done"
    assert {k: dict(v) for k, v in documents.collections.items()} == before


def test_a_new_version_rewrites_only_the_rows_that_changed():
    documents = MemoryDocuments()
    run(CSV, documents)
    changed = CSV.replace("Green tea 100 g", "Green tea 250 g")
    summary = run(changed, documents, generation="2")
    assert (summary["written"], summary["unchanged"]) == (1, 1)
    assert documents.get("products", "acme:T-1")["name"] == "Green tea 250 g"


def test_a_bad_row_never_drops_the_good_rows():
    text = "SKU;Name;Price\nR-1;Basmati rice;250\n;Nameless row without SKU;10\nT-1;Green tea;20\n"
    documents = MemoryDocuments()
    summary = run(text, documents)
    assert (summary["written"], summary["rejected"]) == (2, 1)
    assert summary["first_rejected"][0]["row"] == 3
    assert summary["first_rejected"][0]["reason"]


def test_duplicate_skus_last_row_wins_and_the_import_says_so():
    text = "SKU;Name\nR-1;Basmati rice old;\nT-1;Green tea\nR-1;Basmati rice new\n"
    documents = MemoryDocuments()
    summary = run(text, documents)
    assert documents.get("products", "acme:R-1")["name"] == "Basmati rice new"
    assert summary["duplicate_skus"] == 1
    assert summary["duplicates"][0]["sku"] == "R-1"
    assert summary["duplicates"][0]["kept_row"] == 4


def test_the_vendor_mapping_is_remembered():
    documents = MemoryDocuments()
    run(CSV, documents)
    assert documents.get("vendors", "acme")["column_mapping"]


def test_a_photo_decision_is_kept_when_a_file_row_arrives():
    documents = MemoryDocuments()
    documents.create(
        "products",
        "acme:R-1",
        {
            "vendor": "acme",
            "sku": "R-1",
            "image_category": {
                "path": ["Fruit", "Apple"],
                "path_text": "Fruit/Apple",
                "needs_review": False,
                "decided_level": "coarse",
                "confidence": {"top": 1.0, "coarse": 0.99},
            },
        },
    )
    run(CSV, documents)
    product = documents.get("products", "acme:R-1")
    assert product["image_category"]["path_text"] == "Fruit/Apple"
    assert product["category"]["source"] == "image"
    assert product["name"] == "Basmati rice 1 kg"


def test_an_unreadable_file_is_recorded_on_the_import_and_raised():
    documents = MemoryDocuments()
    with pytest.raises(BadFile):
        run("", documents)
    imports = documents.collections["imports"]
    (only,) = imports.values()
    assert only["status"] == "rejected" and only["reason"]


def test_formula_cells_are_stored_as_text():
    documents = MemoryDocuments()
    run('SKU;Name;Brand\nF-1;"=HYPERLINK(""http://x"")";@brand\n', documents)
    product = documents.get("products", "acme:F-1")
    assert product["name"] == '=HYPERLINK("http://x")'
    assert product["brand"] == "@brand"


BANANA_PHOTO = {
    "path": ["Fruit", "Banana"],
    "path_text": "Fruit/Banana",
    "needs_review": False,
    "decided_level": "coarse",
    "confidence": {"top": 1.0, "coarse": 0.97},
}


def test_the_summary_follows_the_sources_whichever_writer_lands_last():
    documents = MemoryDocuments()
    text = {
        "path": ["Fruits & Vegetables"],
        "path_text": "Fruits & Vegetables",
        "needs_review": True,
        "decided_level": "category",
        "confidence": {"category": 0.9},
    }
    products.update(documents, ["acme:B-1"], lambda pid, stored: {"text_category": text}, "import", NOW)
    stale = documents.get("products", "acme:B-1")  # what a photo read before the import's write below
    products.update(documents, ["acme:B-1"], lambda pid, stored: {"image_category": BANANA_PHOTO}, "photo", NOW)

    # a writer that read `stale` is made to read again: its change sees the photo's decision
    seen = []

    def rewrite_text(pid, stored):
        seen.append(stored)
        return {"text_category": text}

    products.update(documents, ["acme:B-1"], rewrite_text, "import", NOW, known={"acme:B-1": stale})

    product = documents.get("products", "acme:B-1")
    assert (product["category_path"], product["category"]["source"], product["needs_review"]) == (
        "Fruit/Banana",
        "image",
        False,
    )
    assert [bool(s.get("image_category")) for s in seen] == [False, True], "changed again after the photo"
    assert product[REVISION] == 3


class SlowCommits(MemoryDocuments):
    """Commits take a while, as over the network, so the next page is read while one is in flight."""

    def __init__(self, fail_on_commit: int | None = None) -> None:
        super().__init__()
        self.commits = 0
        self.fail_on_commit = fail_on_commit

    def commit(self, writes) -> None:
        self.commits += 1
        if any(w.collection == "products" for w in writes):
            time.sleep(0.2)
            if self.commits == self.fail_on_commit:
                raise RuntimeError("commit refused")
        return super().commit(writes)


def test_a_sku_on_two_pages_ends_as_its_last_row_while_pages_are_written_in_the_background():
    documents = SlowCommits()
    run("SKU;Name\nX-1;Green tea old\n", documents)
    filler = "".join(f"F-{i};Basmati rice {i}\n" for i in range(PAGE_ROWS - 1))
    # page 1 rewrites X-1; page 2 puts back the stored row, which is unchanged only if read early
    text = "SKU;Name\nX-1;Green tea new\n" + filler + "X-1;Green tea old\n"

    summary = run(text, documents, generation="2")

    assert documents.get("products", "acme:X-1")["name"] == "Green tea old"
    assert summary["duplicate_skus"] == 1


def test_a_failed_background_write_stops_the_import_instead_of_passing_unnoticed():
    documents = SlowCommits(fail_on_commit=2)  # commit 1 marks the import running
    text = "SKU;Name\n" + "".join(f"R-{i};Basmati rice {i}\n" for i in range(3 * PAGE_ROWS))

    with pytest.raises(RuntimeError, match="commit refused"):
        run(text, documents)

    assert documents.get("imports", FileSource("uploads", "acme/prices.csv", "1", "acme").import_id)["status"] != "done"


class PhotoDuringCommit(MemoryDocuments):
    """A photo decides one product after the import read its page, before the page's commit."""

    def __init__(self, product_id: str) -> None:
        super().__init__()
        self.product_id = product_id
        self.ids_read: list[str] = []
        self.raced = False

    def get_many(self, collection, document_ids):
        self.ids_read += [i for i in document_ids if collection == "products"]
        return super().get_many(collection, document_ids)

    def commit(self, writes):
        if not self.raced and any(w.document_id == self.product_id for w in writes):
            self.raced = True
            product = self.get("products", self.product_id) or {}
            revision = int(product.get(REVISION) or 0)
            fields = {"image_category": BANANA_PHOTO, REVISION: revision + 1}
            fields.update(products.summary_fields({**product, **fields}))
            super().commit([Expecting("products", self.product_id, fields, revision=revision)])
        return super().commit(writes)


def test_a_photo_deciding_a_product_during_the_import_keeps_its_summary_and_only_that_one_is_reread():
    documents = PhotoDuringCommit("acme:R-1")

    summary = run(CSV, documents)

    product = documents.get("products", "acme:R-1")
    assert product["text_category"]["path_text"] == "Foodgrains/Rice/Basmati"  # the import's write landed
    assert (product["category_path"], product["category"]["source"]) == ("Fruit/Banana", "image")
    assert summary["written"] == 2
    assert documents.ids_read == ["acme:R-1", "acme:T-1", "acme:R-1"]  # the page, then the raced product


def test_without_photos_an_import_reads_each_product_once():
    documents = PhotoDuringCommit("acme:none")

    summary = run(CSV, documents)

    assert summary["written"] == 2
    assert documents.ids_read == ["acme:R-1", "acme:T-1"]


class CommitsWaitingForTheNextRead(MemoryDocuments):
    """Each page's commit holds on until the next page's products have been read (or 5 s have
    passed), and records whether that read came while it was still writing."""

    def __init__(self, first_skus: list[str]) -> None:
        super().__init__()
        self.first_skus = first_skus  # the first product of each page, in page order
        self.reads = {sku: threading.Event() for sku in first_skus}
        self.read_while_writing: list[bool] = []

    def get_many(self, collection, document_ids):
        for sku in set(document_ids) & set(self.reads):
            self.reads[sku].set()
        return super().get_many(collection, document_ids)

    def commit(self, writes) -> None:
        firsts = {w.document_id for w in writes} & set(self.first_skus)
        if firsts:
            page = self.first_skus.index(firsts.pop())
            if page + 1 < len(self.first_skus):
                self.read_while_writing.append(self.reads[self.first_skus[page + 1]].wait(timeout=5))
        return super().commit(writes)


def test_the_next_page_is_read_while_the_last_one_is_still_being_written():
    firsts = [f"acme:R-{i * PAGE_ROWS:04d}" for i in range(3)]
    documents = CommitsWaitingForTheNextRead(firsts)
    text = "SKU;Name\n" + "".join(f"R-{i:04d};Basmati rice {i}\n" for i in range(3 * PAGE_ROWS))

    run(text, documents)

    assert documents.read_while_writing == [True, True], "each commit saw the next page read meanwhile"
    assert all(documents.get("products", f"acme:R-{i:04d}") for i in range(3 * PAGE_ROWS))


def test_rows_of_an_older_upload_never_replace_what_a_newer_upload_wrote():
    documents = MemoryDocuments()
    run(CSV.replace("250,00", "99,00"), documents, generation="102", name="acme/prices.csv")
    older = run(CSV, documents, generation="101", name="acme/prices.csv")
    from_another_file = run(CSV, documents, generation="100", name="acme/old-prices.csv")

    assert (older["written"], older["superseded"]) == (0, 2)
    assert from_another_file["superseded"] == 2
    rice = documents.get("products", "acme:R-1")
    assert (rice["vendor_price"]["amount"], rice["source_file"]["generation"]) == (99.0, "102")


def test_an_import_told_a_newer_version_exists_stops_before_its_next_page():
    documents = MemoryDocuments()
    rows = "".join(f"R-{i};Basmati rice {i} kg;India Gate;{i},00\n" for i in range(3 * PAGE_ROWS))
    checks = []

    def still_current():
        checks.append(len(checks))
        return len(checks) < 2  # a newer generation arrives while the first page is written

    source = FileSource("uploads", "acme/prices.csv", "1", "acme")
    with pytest.raises(Superseded):
        import_file(
            io.BytesIO(("SKU;Name;Brand;Price\n" + rows).encode()),
            source,
            ImportContext(documents, Models(), NOW),
            still_current=still_current,
        )

    assert len(documents.collections["products"]) == PAGE_ROWS
    assert documents.get("imports", source.import_id)["status"] == "superseded"


def test_the_import_reads_the_format_the_ledger_decided():
    documents = MemoryDocuments()
    feed = '[{"sku": "R-1", "name": "Basmati rice 1 kg", "price": "250"}]'
    source = FileSource("uploads", "acme/list.txt", "1", "acme")
    verdict = detect_kind(source.name, "", feed.encode())

    summary = import_file(
        io.BytesIO(feed.encode()), source, ImportContext(documents, Models(), NOW), file_format=verdict.format
    )

    assert (verdict.format, summary["format"], summary["written"]) == ("json", "json", 1)
    assert source.import_id == upload_id("uploads", "acme/list.txt", "1")


def test_the_newest_upload_wins_across_files_even_when_a_newer_file_repeats_the_row():
    """The issue's sequence: prices.csv (generation 102) sets APL-002 at 250; b.csv (300) carries
    the same row; a.csv (250, delivered last) says 189. The product keeps 250, traced to b.csv."""
    documents = MemoryDocuments()
    row = "SKU;Name;Brand;Price\nAPL-002;Apple juice 1 l;Tropicana;{}\n"
    run(row.format("250,00"), documents, generation="102", name="acme/prices.csv")
    repeated = run(row.format("250,00"), documents, generation="300", name="acme/b.csv")
    older = run(row.format("189,00"), documents, generation="250", name="acme/a.csv")

    apple = documents.get("products", "acme:APL-002")
    assert apple["vendor_price"]["amount"] == 250.0
    assert (apple["source_file"]["name"], apple["source_file"]["generation"]) == ("acme/b.csv", "300")
    assert (repeated["unchanged"], repeated["refreshed"], repeated["written"]) == (1, 1, 0)
    assert (older["superseded"], older["written"]) == (1, 0)


def test_an_older_file_landing_while_a_newer_one_repeats_the_row_is_fenced_out():
    """a.csv (250) lands between b.csv's (300) read and its write: b.csv's refresh sees the
    change, categorizes its row after all, and writes it; a.csv's price does not survive."""
    row = "SKU;Name;Brand;Price\nAPL-002;Apple juice 1 l;Tropicana;{}\n"

    class OlderFileDuringCommit(MemoryDocuments):
        raced = False

        def commit(self, writes):
            if not self.raced and any(w.document_id == "acme:APL-002" for w in writes):
                self.raced = True
                run(row.format("189,00"), self, generation="250", name="acme/a.csv")
            return super().commit(writes)

    documents = OlderFileDuringCommit()
    documents.raced = True
    run(row.format("250,00"), documents, generation="102", name="acme/prices.csv")
    documents.raced = False
    run(row.format("250,00"), documents, generation="300", name="acme/b.csv")

    apple = documents.get("products", "acme:APL-002")
    assert (apple["vendor_price"]["amount"], apple["source_file"]["generation"]) == (250.0, "300")


def test_an_import_whose_rows_are_all_rejected_shows_progress_and_stops_for_a_newer_version():
    documents = MemoryDocuments()
    rows = "".join(f"N-{i};;;1,00\n" for i in range(3 * CHECK_EVERY_ROWS))  # no names: every row rejected
    checks, progress = [], []
    source = FileSource("uploads", "acme/nameless.csv", "1", "acme")

    def still_current() -> bool:
        progress.append(documents.get("imports", source.import_id)["rows_seen"])
        checks.append(True)
        return len(checks) < 2  # a newer generation arrives after the first check

    with pytest.raises(Superseded):
        import_file(
            io.BytesIO(("SKU;Name;Brand;Price\n" + rows).encode()),
            source,
            ImportContext(documents, Models(), NOW),
            still_current=still_current,
        )

    assert progress == [CHECK_EVERY_ROWS, 2 * CHECK_EVERY_ROWS], "rows seen, though none was written"
    report = documents.get("imports", source.import_id)
    assert (report["status"], report["rows_seen"]) == ("superseded", 2 * CHECK_EVERY_ROWS)


def test_a_file_read_shorter_than_its_object_fails_the_attempt():
    from catalogist.errors import ShortRead

    documents = MemoryDocuments()
    data = CSV.encode()
    source = FileSource("uploads", "acme/prices.csv", "1", "acme")

    with pytest.raises(ShortRead, match=f"ended after {len(data) - 20:,} of its {len(data):,} bytes"):
        import_file(SizedStream(io.BytesIO(data[:-20]), len(data)), source, ImportContext(documents, Models(), NOW))
    summary = import_file(SizedStream(io.BytesIO(data), len(data)), source, ImportContext(documents, Models(), NOW))

    assert documents.get("imports", source.import_id)["status"] == summary["status"] == "done"
