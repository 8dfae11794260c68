"""A store's own tree served by the local stack (issue #31): the text and price releases trained
on a second catalogue (tests/fixtures/make_store_catalogue.py: a path 2–4 levels deep, levels of
its own names, euros) decide a vendor file's rows in that tree, a depth-2 leaf as it is."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from catalogist.models.taxonomy import Taxonomy
from catalogist_infra.stack import Stack, firestore_client, storage_client
from catalogist_training import vendor_cli
from tests.fixtures.make_store_catalogue import LEVEL_NAMES
from tests.support import final_ledger_entry, stack_config, store_catalogue, vendor

pytestmark = pytest.mark.slow  # two models trained and a stack of its own started
PRICE_LIST = (
    "SKU,Name,Brand,Price\nS-1,Real Fruit Power Orange Juice 1 L,Real,\nS-2,Green Tea Bags - Lemon 25 pcs,Tetley,\n"
)


@pytest.fixture(scope="module")
def store_stack(tmp_path_factory: pytest.TempPathFactory, reference_classifier: Path) -> Iterator[tuple[Stack, Path]]:
    folder = tmp_path_factory.mktemp("store-tree")
    data, columns = store_catalogue(folder)
    for kind in ("textcat", "price"):
        trained = ["train", kind, "--data", str(data), "--columns", str(columns), "--out", str(folder / kind)]
        assert vendor_cli.main(trained) == 0
    config = stack_config(folder / "stack")
    config.function_env.update(
        {
            "CATALOGIST_CLASSIFIER_RELEASE": str(reference_classifier),
            "CATALOGIST_TEXTCAT_RELEASE": str(folder / "textcat" / "release"),
            "CATALOGIST_PRICE_RELEASE": str(folder / "price" / "release"),
            "CATALOGIST_CURRENCY": "EUR",  # the store's; a release in another currency is refused
        }
    )
    stack = Stack(config)
    stack.start()
    try:
        yield stack, folder / "textcat" / "release"
    finally:
        stack.stop()


def test_a_vendor_files_rows_are_decided_in_the_stores_own_tree(store_stack: tuple[Stack, Path]) -> None:
    stack, release = store_stack
    tree = Taxonomy.load(release / "taxonomy.json")
    seller = vendor()
    blob = storage_client(stack.config).bucket(stack.config.uploads_bucket).blob(f"{seller}/prices.csv")
    blob.upload_from_string(PRICE_LIST, content_type="text/csv")
    firestore = firestore_client(stack.config)
    try:
        entry = final_ledger_entry(firestore, stack.config.uploads_bucket, blob, timeout=120)
        products = {s.get("sku"): s.to_dict() for s in firestore.collection("products").stream()}
    finally:
        firestore.close()

    assert entry["status"] == "done", entry.get("reason")
    assert tree.levels == LEVEL_NAMES
    juice, tea = products["S-1"], products["S-2"]
    assert tuple(juice["text_category"]["path"]) == ("Beverages", "Fruit Juices & Drinks")  # a depth-2 leaf
    for product in (juice, tea):
        path = tuple(product["text_category"]["path"])
        assert any(leaf[: len(path)] == path for leaf in tree.leaves)  # a node of the store's tree
        assert all(upper != lower for upper, lower in pairwise(path))  # never padded
        assert product["text_category"]["decided_level"] in LEVEL_NAMES
        assert product["price"]["currency"] == "EUR" and 0.2 < product["price"]["predicted"] < 20
