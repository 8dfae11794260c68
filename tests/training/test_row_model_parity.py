"""A page of 1,000 rows gets, row for row, what each row gets alone: the batched serving path
(one hashing pass, neighbour search as one sparse product, LightGBM on one array) changes the
speed, not the answers."""

from pathlib import Path

import pytest

from catalogist.models.price_model import PriceModel
from catalogist.models.textcat import TextCategorizer
from catalogist_training import vendor_cli
from catalogist_training.price import price_input
from catalogist_training.vendor_data import load_products
from tests.support import BIGBASKET, require_data, small_csv


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("parity")
    data = small_csv(folder, rows=1000)
    found = {}
    for kind in ("textcat", "price"):
        assert vendor_cli.main(["train", kind, "--data", str(data), "--out", str(folder / kind)]) == 0
        found[kind] = folder / kind
    return found


def thousand_products() -> list:
    return load_products(require_data(BIGBASKET, "the BigBasket catalogue"))[-1000:]


def test_text_decisions_of_a_page_are_each_rows_decision(releases: dict[str, Path]) -> None:
    model = TextCategorizer.open(releases["textcat"])
    texts = [p.text for p in thousand_products()]

    page = model.decide_many(texts)

    assert page == [model.decide(*text) for text in texts]


def test_price_suggestions_of_a_page_are_each_rows_suggestion(releases: dict[str, Path]) -> None:
    model = PriceModel.open(releases["price"])
    rows = [price_input(p, with_list_price=i % 3 == 0) for i, p in enumerate(thousand_products())]

    page = model.suggest(rows)

    assert page == [model.suggest([row])[0] for row in rows]
