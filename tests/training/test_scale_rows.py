"""The catalogue made by perturbing BigBasket's rows (catalogist_training.scale_rows): copies stay
with their source product in splits and folds, never stand in for another product, come out the
same for a seed; and the bench that trains the row models on it runs end to end."""

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np

from catalogist_training import price, scale_rows, textcat
from catalogist_training.vendor_data import Product, load_products, name_group, product_key, split_of
from tests.support import REPO, small_csv

ROWS = 4_000


def made(tmp_path: Path, rows: int = ROWS, seed: int = 0) -> tuple[Path, Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    real = small_csv(tmp_path, rows=600)
    out = tmp_path / f"rows-{rows}-{seed}.csv"
    scale_rows.write(real, rows, out, seed)
    return real, out


def test_copies_split_and_fold_with_their_source_and_none_is_made_of_a_held_out_product(tmp_path: Path) -> None:
    real, generated = made(tmp_path)

    rows = load_products(generated)

    originals = {product_key(p): p for p in load_products(real)}
    paths: dict[str, set[tuple[str, ...]]] = {}  # a product listed twice may sit in two places
    for p in load_products(real):
        paths.setdefault(product_key(p), set()).add(p.category_path)
    copies = [p for p in rows if p.group != product_key(p)]
    assert len(copies) > 0.8 * ROWS
    for copy in copies:
        source = originals[copy.group]
        assert split_of(source) != "test"
        assert split_of(copy) == split_of(source)
        assert textcat.fold_of(copy, 5) == textcat.fold_of(source, 5)
        assert price.fold_of(copy) == price.fold_of(source)
        assert copy.category_path in paths[copy.group]
    held_out = [p for p in rows if split_of(p) == "test"]
    assert held_out and all(product_key(p) in originals and p.group == product_key(p) for p in held_out)


def test_no_copy_takes_another_products_name_or_another_groups_family(tmp_path: Path) -> None:
    real, generated = made(tmp_path)

    rows = load_products(generated)

    groups_of_key: dict[str, set[str]] = {}
    groups_of_family: dict[str, set[str]] = {}
    for p in rows:
        groups_of_key.setdefault(product_key(p), set()).add(p.group)
        groups_of_family.setdefault(name_group(p), set()).add(p.group)
    assert all(len(groups) == 1 for groups in groups_of_key.values())
    family_of_source = {product_key(p): name_group(p) for p in load_products(real)}
    for p in rows:
        if name_group(p) != family_of_source[p.group]:  # a new family: this group's alone
            assert groups_of_family[name_group(p)] == {p.group}


def test_the_real_rows_come_first_as_they_were(tmp_path: Path) -> None:
    real, generated = made(tmp_path)

    with real.open(newline="", encoding="utf-8") as handle:
        originals = list(csv.DictReader(handle))
    with generated.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))

    assert len(rows) == ROWS
    assert [{k: r[k] for k in originals[0]} for r in rows[: len(originals)]] == originals
    assert all(r["perturbation"] == "" for r in rows[: len(originals)])
    assert all(r["perturbation"] for r in rows[len(originals) :])
    assert len({r["index"] for r in rows}) == ROWS


def test_a_seed_makes_the_same_file_and_fewer_rows_make_a_prefix(tmp_path: Path) -> None:
    _, first = made(tmp_path)
    _, again = made(tmp_path / "again")
    _, other = made(tmp_path / "other", seed=1)
    _, fewer = made(tmp_path / "fewer", rows=2_000)

    assert first.read_bytes() == again.read_bytes()
    assert first.read_bytes() != other.read_bytes()
    assert first.read_bytes().startswith(fewer.read_bytes())


def test_a_bigger_pack_costs_more_and_a_copy_keeps_its_sources_discount(tmp_path: Path) -> None:
    real, generated = made(tmp_path)
    listings: dict[str, list[Product]] = {}  # a product listed twice may have two prices
    for p in load_products(real):
        listings.setdefault(product_key(p), []).append(p)
    with generated.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))

    packs = [r for r in rows if r["perturbation"] == "pack"]  # a rewrite may misspell "Pack"
    assert packs
    for row in packs:
        count = int(row["product"].rsplit("Pack of ", 1)[1])
        expected = count**scale_rows.SIZE_ELASTICITY
        # N^0.85 with a lognormal jitter of σ 0.05: five σ either side, and a rupee of rounding
        assert any(
            expected * math.exp(-0.25) - 1 / source.sale_price
            <= float(row["sale_price"]) / source.sale_price
            <= expected * math.exp(0.25) + 1 / source.sale_price
            for source in listings[row["source_product"]]
            if source.sale_price
        ), row
    for row in rows:
        if row["perturbation"] and row["market_price"]:
            assert float(row["market_price"]) >= float(row["sale_price"]) > 0


def test_a_copy_keeps_its_sources_discount_and_a_brand_copy_takes_its_new_brands(tmp_path: Path) -> None:
    """A shop's discount is the brand's: a copy sold under another brand is listed at the
    price off which that brand's median discount in the type is taken; every other copy keeps
    its source's discount. Both to the rounding of a rupee on each price."""
    real, generated = made(tmp_path)
    discounts: dict[tuple[tuple[str, ...], str], list[float]] = {}
    sources: dict[str, list[Product]] = {}
    for p in load_products(real):
        sources.setdefault(product_key(p), []).append(p)
        if p.sale_price and p.market_price and split_of(p) != "test":
            discounts.setdefault((p.category_path, p.brand), []).append(math.log(p.sale_price / p.market_price))
    with generated.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["perturbation"] and r["market_price"]]

    def close(row: dict[str, str], log_discount: float) -> bool:
        sale, listed = float(row["sale_price"]), float(row["market_price"])
        expected = max(sale / math.exp(log_discount), sale)
        return abs(listed - expected) <= 0.5 + 0.5 * expected / sale  # each price rounded to the rupee

    brand_copies = [r for r in rows if r["perturbation"].startswith("brand") and "+" not in r["perturbation"]]
    assert len(brand_copies) > 50
    for row in brand_copies:
        path = tuple(row[level] for level in ("category", "sub_category", "type"))
        ratios = sorted(discounts[(path, row["brand"])])
        assert close(row, ratios[len(ratios) // 2]), row
    others = [r for r in rows if r["perturbation"].split("+")[0] in ("rewrite", "pack", "variant")]
    for row in others:
        assert any(
            close(row, math.log(p.sale_price / p.market_price))
            for p in sources[row["source_product"]]
            if p.sale_price and p.market_price
        ), row


def test_the_command_writes_the_rows_asked_for_and_refuses_fewer_than_the_real_ones(tmp_path: Path) -> None:
    real = small_csv(tmp_path, rows=600)
    out = tmp_path / "rows.csv"

    assert scale_rows.main(["--data", str(real), "--rows", "1500", "--out", str(out)]) == 0

    assert len(load_products(out)) == 1500
    try:
        scale_rows.write(real, 100, tmp_path / "too-few.csv")
    except ValueError as error:
        assert "ask for more" in str(error)
    else:
        raise AssertionError("100 rows were accepted from a file of 600")


def test_the_price_neighbours_of_a_training_row_leave_out_the_copies_of_its_source() -> None:
    def product(name: str, brand: str, sale: float, group: str) -> Product:
        return Product("", name, brand, ("Beverages", "Tea", "Green Tea"), sale, None, group)

    rows = price._Rows.of(
        [
            product("Green Tea 100 g", "Tetley", 100.0, "a"),
            product("Gren Tea 100 g", "Tetley", 101.0, "a"),  # a copy of the row above
            product("Green Tea 100 g", "Lipton", 300.0, "b"),
            product("Basmati Rice 1 kg", "India Gate", 150.0, "c"),
        ]
    )
    idf, _, _ = price._ridge(rows, 0.3)
    index = price._neighbour_index(rows.first(), idf)

    features = price._neighbour_features(rows, index, idf, leave_own_product_out=True)

    nearest_price = features[:, price.KNN_FEATURES.index("nn1_log_price")]
    assert np.isclose(nearest_price[0], np.log(300.0)) and np.isclose(nearest_price[1], np.log(300.0))


def test_the_bench_smoke_run_trains_both_models_on_both_catalogues_and_prints_their_figures(tmp_path: Path) -> None:
    out = tmp_path / "bench"

    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bench_row_models_at_scale.py"), "--smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((out / "summary.json").read_text())
    runs = {(run["kind"], run["level"]): run for run in summary["runs"]}
    assert set(runs) == {(kind, level) for kind in ("textcat", "price") for level in ("real", "900")}
    for run in runs.values():
        assert run["peak_gb"] > 0 and run["cpu_s"] > 0 and not run["stopped_at_cap"] and not run["failed"]
        assert run["held_out"]["rows"] > 0
    assert runs[("textcat", "900")]["trained_rows"] > runs[("textcat", "real")]["trained_rows"]
    assert runs[("textcat", "900")]["held_out"]["baseline_omitted"] == "not asked for (--no-baseline)"
    table = done.stdout.splitlines()
    assert sum(line.startswith(("textcat ", "price ")) for line in table) == 4
    assert any("category" in line and "GB" in line for line in table)
    assert any("rmsle" in line and "GB" in line for line in table)
