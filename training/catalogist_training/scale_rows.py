"""A catalogue of N rows made from BigBasket's by perturbing its products: the row models at a
store's scale (issue #25) without a store's data.

    python -m catalogist_training.scale_rows --data ../shared/datasets/bigbasket/products.csv \\
        --rows 1000000 --out /tmp/rows.csv [--seed 0]

The file has the columns of products.csv and two more: every row of --data as it is first, then
perturbed copies until there are N rows. Copies are made only from the rows of the train and
validation splits (`vendor_data.split_of`), dealt to them in turn in a seeded order, so each
source gets N/S copies (±1) and the categories keep their shares. The same seed gives the same
file, byte for byte, and a smaller N gives a prefix of a larger N's copies.

Each copy is one of (column `perturbation`; `+rewrite` when a rewrite was added on top):

    rewrite  the same product as another vendor writes it, one or two of: a typo in a word of
             four letters or more (a letter dropped, doubled, swapped with the next, or hit on
             a neighbouring key); punctuation dropped; a long word abbreviated (`Organic` →
             `Org.`); the brand put in front of the name; a brand's words run together.
             Price × lognormal(σ 0.05).
    size     a name that states a size (`500 g`, 502 of BigBasket's 16,033 names) with another
             size of the same unit; price × (new / old)^0.85 (bigger packs cost less a gram).
    pack     `- Pack of N` (N of 2, 3, 4, 6) after the name; price × N^0.85.
    variant  a word of the name replaced by a word from another product of the same type
             (`Green Tea - Lemon` → `Green Tea - Mint`); price × lognormal(σ 0.15).
    brand    the brand of another product of the same type; price × the square root of the two
             brands' median price ratio in that type, × lognormal(σ 0.10); its list price is
             the one the new brand's median discount in that type is taken off (a discount is
             the brand's: 58% of BigBasket's rows sell within 1% of their brand's median one).

Prices are rounded to the rupee (to 0.1 under 10); a copy's list price keeps its source's
discount, a brand copy's its new brand's.
0.85 is an assumption, not a fit: BigBasket's names give 7 same-product size pairs, too few.

Leakage. The real rows are what the models are judged on, the held-out (test) split above all,
so no generated row may stand in for one of them. Three rules hold it:

1. No copy is made from a held-out row: a held-out product has no perturbed twin anywhere.
2. Every copy names its source in `source_product` (the source's `product_key`); splits and
   folds key on it (`vendor_data.split_key`), so copies of a validation product stay in
   validation and copies never answer for their source out of fold.
3. A copy may not take the (name, brand) of any product but its source's, nor a name family
   (`vendor_data.name_group`: the name without numbers and units) that a product of another
   group has, unless it is the source's own family (a size variant): a brand or word swap that
   lands on a real product, or on the family of one, is drawn again. Copies of different sources
   never meet either.

What is not held: the project owners' hidden rows are not in this file, so rule 3 cannot see
them; a `brand` or `variant` copy may, by chance, be named like one of them.
"""

import argparse
import csv
import math
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from catalogist.vendorfiles.packsize import parse_pack_size
from catalogist_training.vendor_data import Product, name_group, product_key, product_of, split_of

SIZE_ELASTICITY = 0.85  # price ∝ size^0.85
PACKS = (2, 3, 4, 6)
# (share of copies, price noise σ in log price)
KINDS = {
    "rewrite": (0.35, 0.05),
    "size": (0.10, 0.05),
    "pack": (0.15, 0.05),
    "variant": (0.25, 0.15),
    "brand": (0.15, 0.10),
}
EXTRA_REWRITE = 0.3  # a size, pack, variant or brand copy is also rewritten this often
TRIES = 6  # draws for one copy before its turn passes to the next source
EXTRA_COLUMNS = ("source_product", "perturbation")

# sizes a vendor sells, in base units, per unit
LADDERS = {
    "g": (50, 100, 200, 250, 400, 500, 1000, 2000, 5000),
    "ml": (100, 200, 250, 500, 750, 1000, 2000, 5000),
    "pcs": (1, 2, 4, 6, 10, 12, 20, 25, 30, 50, 100),
}
_SIZE = re.compile(
    r"(?<![\w.,])(\d+(?:[.,]\d+)?)\s*(mg|kg|kgs|gms|gm|g|ml|ltr|lt|l|pcs|pc|pieces|piece|nos)(?![\w])", re.I
)
_KEYBOARD = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_PUNCTUATION = re.compile(r"\s*[-,/()&+:]+\s*")


@dataclass(frozen=True)
class Source:
    row: dict[str, str]
    product: Product
    key: str  # product_key
    family: str  # name_group
    log_price: float


@dataclass(frozen=True)
class Copy:
    name: str
    brand: str
    price_factor: float
    perturbation: str
    log_discount: float | None = None  # log(sale / list) to price the list at; None: the source's


class Catalogue:
    """The real rows, what may be drawn from them, and who owns each product and family."""

    def __init__(self, data: Path) -> None:
        with data.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            self.columns = list(reader.fieldnames or [])
            self.rows = list(reader)
        self.sources: list[Source] = []
        self.key_owner: dict[str, str] = {}  # product_key → its group
        self.family_owners: dict[str, set[str]] = {}  # name_group → the groups that have it
        for row in self.rows:
            product = product_of(row)
            if product is None:
                continue  # a row training skips (no name or path): copied as it is, never perturbed
            key = product_key(product)
            self.key_owner[key] = key
            self.family_owners.setdefault(name_group(product), set()).add(key)
            if split_of(product) != "test" and product.sale_price:
                self.sources.append(Source(row, product, key, name_group(product), math.log(product.sale_price)))
        self.words_by_type: dict[tuple[str, ...], list[str]] = {}
        self.brands_by_type: dict[tuple[str, ...], list[str]] = {}
        brand_prices: dict[tuple[tuple[str, ...], str], list[float]] = {}
        brand_discounts: dict[tuple[tuple[str, ...], str], list[float]] = {}
        for source in self.sources:
            path = source.product.category_path
            self.words_by_type.setdefault(path, []).extend(_content_words(source.product.name))
            if source.product.brand:
                brand_prices.setdefault((path, source.product.brand), []).append(source.log_price)
                if source.product.market_price:
                    discount = source.log_price - math.log(source.product.market_price)
                    brand_discounts.setdefault((path, source.product.brand), []).append(discount)
        for type_path, brand in sorted(brand_prices):
            self.brands_by_type.setdefault(type_path, []).append(brand)
        self.brand_log_median = {k: sorted(v)[len(v) // 2] for k, v in brand_prices.items()}
        self.brand_log_discount = {k: sorted(v)[len(v) // 2] for k, v in brand_discounts.items()}
        self.next_index = 1 + max((int(r["index"]) for r in self.rows if str(r.get("index", "")).isdigit()), default=0)

    def claim(self, source: Source, name: str, brand: str) -> bool:
        """Whether a copy named so may join its source's group (rule 3); if so, it has."""
        candidate = Product("", name, brand, source.product.category_path, None, None)
        key, family = product_key(candidate), name_group(candidate)
        if key == source.key or self.key_owner.get(key, source.key) != source.key:
            return False
        if family != source.family and self.family_owners.get(family, {source.key}) != {source.key}:
            return False
        self.key_owner[key] = source.key
        self.family_owners.setdefault(family, {source.key})
        return True


def generate(data: Path, rows: int, seed: int = 0) -> Iterator[dict[str, str]]:
    """The real rows of `data`, then perturbed copies until `rows` rows in all."""
    catalogue = Catalogue(data)
    if rows < len(catalogue.rows):
        raise ValueError(f"{rows:,} rows asked for, but {data} alone has {len(catalogue.rows):,}: ask for more")
    if not catalogue.sources:
        raise ValueError(f"{data} has no priced rows outside the held-out split to perturb")
    for row in catalogue.rows:
        name = " ".join((row.get("product") or "").split())
        real = Product("", name, " ".join((row.get("brand") or "").split()), ("", "", ""), None, None)
        yield {**row, "source_product": product_key(real), "perturbation": ""}
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not a secret
    order = list(range(len(catalogue.sources)))
    rng.shuffle(order)
    wanted, turn = rows - len(catalogue.rows), 0
    made = 0
    while made < wanted:
        if turn > 3 * wanted + len(order):
            raise RuntimeError(f"only {made} of {wanted} copies could be made unlike every real product")
        source = catalogue.sources[order[turn % len(order)]]
        turn += 1
        for _ in range(TRIES):
            copy = perturb(catalogue, source, rng)
            if copy is not None and catalogue.claim(source, copy.name, copy.brand):
                yield copied_row(catalogue, source, copy, rng)
                made += 1
                break


def perturb(catalogue: Catalogue, source: Source, rng: random.Random) -> Copy | None:
    """One draw of a copy of `source`, or None when the drawn kind does not apply to it."""
    kind = rng.choices(list(KINDS), weights=[share for share, _ in KINDS.values()])[0]
    name, brand = source.product.name, source.product.brand
    factor, discount = 1.0, None
    if kind == "size":
        resized = _resize(name, rng)
        if resized is None:
            return None
        name, factor = resized
    elif kind == "pack":
        count = rng.choice(PACKS)
        name, factor = f"{name} - Pack of {count}", count**SIZE_ELASTICITY
    elif kind == "variant":
        words = _content_words(name)
        pool = catalogue.words_by_type.get(source.product.category_path, [])
        if not words or not pool:
            return None
        old, new = rng.choice(words), rng.choice(pool)
        if old.casefold() == new.casefold():
            return None
        name = re.sub(rf"\b{re.escape(old)}\b", new, name, count=1)
    elif kind == "brand":
        path = source.product.category_path
        others = [b for b in catalogue.brands_by_type.get(path, []) if b != brand]
        if not others:
            return None
        new_brand = rng.choice(others)
        gap = catalogue.brand_log_median[(path, new_brand)] - catalogue.brand_log_median.get((path, brand), 0.0)
        factor = math.exp(0.5 * gap) if brand else 1.0
        discount = catalogue.brand_log_discount.get((path, new_brand))
        brand = new_brand
    if kind == "rewrite" or rng.random() < EXTRA_REWRITE:
        for _ in range(1 if kind != "rewrite" or rng.random() < 0.6 else 2):
            name, brand = _rewrite(name, brand, rng)
        if kind != "rewrite":
            kind += "+rewrite"
    noise = KINDS[kind.split("+")[0]][1]
    return Copy(name, brand, factor * math.exp(rng.gauss(0.0, noise)), kind, discount)


def copied_row(catalogue: Catalogue, source: Source, copy: Copy, rng: random.Random) -> dict[str, str]:
    sale = _rounded(source.product.sale_price * copy.price_factor)  # type: ignore[operator]
    market = source.product.market_price
    if market and copy.log_discount is not None:
        market = sale / math.exp(copy.log_discount)  # the list price off which the brand's discount is
    elif market:
        market = sale * market / source.product.sale_price  # type: ignore[operator]
    row = {
        **source.row,
        "index": str(catalogue.next_index),
        "product": copy.name,
        "brand": copy.brand,
        "sale_price": f"{sale}",
        "market_price": f"{max(_rounded(market), sale)}" if market else "",
        "source_product": source.key,
        "perturbation": copy.perturbation,
    }
    catalogue.next_index += 1
    return row


# -- the perturbations ---------------------------------------------------------------------------


def _content_words(name: str) -> list[str]:
    """Words worth swapping or misspelling: letters only, three or more, not a unit."""
    return [w for w in re.findall(r"[^\W\d_]{3,}", name) if w.casefold() not in {"pcs", "gms", "ltr", "pack", "nos"}]


def _resize(name: str, rng: random.Random) -> tuple[str, float] | None:
    match = _SIZE.search(name)
    pack = parse_pack_size(name)
    if match is None or pack is None or pack.count != 1:
        return None
    ladder = [size for size in LADDERS[pack.unit] if abs(math.log(size / pack.quantity)) > 0.05]
    new = rng.choice(ladder)
    text = _size_text(new, pack.unit)
    return name[: match.start()] + text + name[match.end() :], (new / pack.quantity) ** SIZE_ELASTICITY


def _size_text(size: float, unit: str) -> str:
    if unit == "g":
        return f"{size / 1000:g} kg" if size >= 1000 else f"{size:g} g"
    if unit == "ml":
        return f"{size / 1000:g} L" if size >= 1000 else f"{size:g} ml"
    return f"{size:g} pcs"


def _rewrite(name: str, brand: str, rng: random.Random) -> tuple[str, str]:
    how = rng.choice(("typo", "typo", "punctuation", "abbreviation", "brand_in_name", "brand_joined"))
    if how == "punctuation" and _PUNCTUATION.search(name):
        return " ".join(_PUNCTUATION.sub(" ", name).split()), brand
    if how == "abbreviation":
        long_words = [w for w in _content_words(name) if len(w) >= 6]
        if long_words:
            word = rng.choice(long_words)
            return re.sub(rf"\b{re.escape(word)}\b", word[: rng.choice((3, 4))] + ".", name, count=1), brand
    if how == "brand_in_name" and brand and not name.casefold().startswith(brand.casefold()):
        return f"{brand} {name}", brand
    if how == "brand_joined" and len(brand.split()) > 1:
        return name, "".join(brand.split())
    return _typo(name, rng), brand


def _typo(name: str, rng: random.Random) -> str:
    words = [m for m in re.finditer(r"[^\W\d_]{4,}", name)]
    if not words:
        return name + "."  # nothing to misspell: a vendor's stray full stop
    word = rng.choice(words)
    text, at = word.group(), rng.randrange(1, len(word.group()) - 1)
    how = rng.choice(("drop", "double", "swap", "key"))
    if how == "drop":
        text = text[:at] + text[at + 1 :]
    elif how == "double":
        text = text[:at] + text[at] + text[at:]
    elif how == "swap":
        text = text[:at] + text[at + 1] + text[at] + text[at + 2 :]
    else:
        text = text[:at] + _neighbour_key(text[at], rng) + text[at + 1 :]
    return name[: word.start()] + text + name[word.end() :]


def _neighbour_key(letter: str, rng: random.Random) -> str:
    for row in _KEYBOARD:
        at = row.find(letter.lower())
        if at >= 0:
            near = [row[i] for i in (at - 1, at + 1) if 0 <= i < len(row)]
            found = rng.choice(near)
            return found.upper() if letter.isupper() else found
    return letter + letter


def _rounded(price: float) -> float:
    return max(round(price), 1.0) if price >= 10 else max(round(price, 1), 0.1)


# -- the command ---------------------------------------------------------------------------------


def write(data: Path, rows: int, out: Path, seed: int = 0) -> int:
    """Write the catalogue to `out`; returns the rows written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer: csv.DictWriter[str] | None = None
        for row in generate(data, rows, seed):
            if writer is None:
                writer = csv.DictWriter(
                    handle, fieldnames=[*(c for c in row if c not in EXTRA_COLUMNS), *EXTRA_COLUMNS]
                )
                writer.writeheader()
            writer.writerow(row)
            written += 1
    return written


SMALL_CATEGORIES = ("Beverages", "Snacks & Branded Foods")


def small_catalogue(data: Path, rows: int, out: Path) -> Path:
    """The first `rows` rows of two of the catalogue's categories, written to `out`: small enough
    to train both row models in seconds (the smoke runs of the benches and the tests), with
    enough types to have a tree."""
    with data.open(newline="", encoding="utf-8") as handle:
        kept = [r for r in csv.DictReader(handle) if r["category"] in SMALL_CATEGORIES]
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(kept[0]))
        writer.writeheader()
        writer.writerows(kept[:rows])
    return out


def main(argv: list[str] | None = None) -> int:
    from catalogist.flags import add_flag

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_flag(parser, "--data", "CATALOGIST_SCALE_DATA", "products.csv to perturb", type=Path, required=True)
    add_flag(parser, "--rows", "CATALOGIST_SCALE_ROWS", "rows in all, the real ones included", type=int, required=True)
    add_flag(parser, "--out", "CATALOGIST_SCALE_OUT", "CSV to write", type=Path, required=True)
    add_flag(parser, "--seed", "CATALOGIST_SCALE_SEED", "the same seed writes the same file", type=int, default=0)
    args = parser.parse_args(argv)
    written = write(args.data, args.rows, args.out, args.seed)
    print(f"{written:,} rows → {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
