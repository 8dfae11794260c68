"""Rows per second of the row models at serving time, a git revision's code beside this
checkout's, on one core, in one run.

    .venv/bin/python bench/bench_row_models.py [--old-ref main] [--rows 10000] \
        [--old-textcat DIR --old-price DIR] [--new-textcat DIR --new-price DIR]
    .venv/bin/python bench/bench_row_models.py --smoke    # 800 rows, this commit against itself

Each side runs in a process of its own pinned to the same core, with one BLAS and one LightGBM
thread: the old side imports `catalogist` from `git archive <old-ref>`, the new side from this
checkout, each with the releases its own code reads (by default the old ref's committed
models/textcat and models/price beside this checkout's). Both read the same BigBasket rows in
pages of 400 (the import pipeline's page): the text categorizer's `decide_many` on (name,
brand), the price model's `suggest` on (name, brand, category path, pack size), every third row
with its list price. One page first to warm up, then the best of `--passes` passes over all rows.
Without the old ref (not a git checkout, or no such revision) only this checkout is measured,
and the bench says so.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIGBASKET = REPO.parent / "shared" / "datasets" / "bigbasket" / "products.csv"
PAGE_ROWS = 400
TARGETS = {"text": 20_000, "price": 10_000}  # rows/s, issue #17


def catalogue_rows(path: Path, count: int) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["product"].strip() and r["type"].strip()]
    return (rows * (count // len(rows) + 1))[:count]


def best_rate(serve, inputs: list, passes: int) -> float:
    serve(inputs[:PAGE_ROWS])
    best = 0.0
    for _ in range(passes):
        started = time.perf_counter()
        for start in range(0, len(inputs), PAGE_ROWS):
            serve(inputs[start : start + PAGE_ROWS])
        best = max(best, len(inputs) / (time.perf_counter() - started))
    return best


def measure(textcat_dir: Path, price_dir: Path, data: Path, count: int, passes: int) -> dict[str, float]:
    """In the worker process: the rates of whichever `catalogist` is first on the path."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    from catalogist.models.price_features import PriceInput
    from catalogist.models.price_model import PriceModel
    from catalogist.models.textcat import TextCategorizer
    from catalogist.vendorfiles.packsize import parse_pack_size

    rows = catalogue_rows(data, count)
    texts = [(r["product"], r["brand"], "") for r in rows]
    inputs = []
    for i, r in enumerate(rows):
        pack = parse_pack_size(r["product"])
        inputs.append(
            PriceInput(
                r["product"],
                r["brand"],
                (r["category"], r["sub_category"], r["type"]),
                pack.quantity if pack else None,
                pack.unit if pack else "",
                pack.count if pack else 1,
                float(r["market_price"]) if i % 3 == 0 and r["market_price"] else None,
            )
        )
    textcat, price = TextCategorizer.open(textcat_dir), PriceModel.open(price_dir)
    return {"text": best_rate(textcat.decide_many, texts, passes), "price": best_rate(price.suggest, inputs, passes)}


def default_old_ref() -> str:
    """main, as a branch of its own or, in a clone of another branch, as the remote's."""
    for ref in ("main", "origin/main"):
        found = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            capture_output=True,
            check=False,
        )
        if found.returncode == 0:
            return ref
    return "main"


def old_tree(ref: str, into: Path) -> Path | None:
    """`functions/` and `models/` of `ref`, unpacked from git; None (and why) when there is no such ref."""
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", ref], capture_output=True, text=True, check=False
    ).stdout.strip()
    paths = subprocess.run(
        ["git", "-C", str(REPO), "ls-tree", "--name-only", ref, "functions", "models"],
        capture_output=True,
        text=True,
        check=False,
    )
    if paths.returncode != 0 or "functions" not in paths.stdout.split():
        why = paths.stderr.strip() or "it has no functions/"
        print(f"no old side: {ref!r} is not a revision of a git checkout here ({why})")
        return None
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", ref, *paths.stdout.split()], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    print(f"old: {ref} ({commit}), new: this checkout")
    return into


def run_side(
    functions: Path, textcat_dir: Path, price_dir: Path, data: Path, count: int, passes: int
) -> dict[str, float]:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(functions), os.environ.get("PYTHONPATH", "")])}
    arguments = [str(textcat_dir), str(price_dir), str(data), str(count), str(passes)]
    command = [sys.executable, __file__, "--worker", *arguments]
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if done.returncode:
        raise SystemExit(f"the side with {functions} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# Tiny sizes, and this commit against itself: both sides run in seconds (a test runs them).
SMOKE = {"rows": 800, "passes": 1, "old_ref": "HEAD"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--old-ref", help="git revision of the code to compare against (main, or origin/main in a clone of a branch)"
    )
    for side, where in (("old", "the old ref's models/"), ("new", "models/")):
        for kind in ("textcat", "price"):
            parser.add_argument(f"--{side}-{kind}", type=Path, help=f"{kind} release of the {side} code ({where})")
    parser.add_argument("--data", type=Path, default=BIGBASKET)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help=f"tiny sizes ({SMOKE}): checks that it runs")
    args = parser.parse_args()
    if args.smoke:  # the smoke sizes replace the defaults; flags given still win
        parser.set_defaults(**SMOKE)
        args = parser.parse_args()
    args.old_ref = args.old_ref or default_old_ref()
    with tempfile.TemporaryDirectory() as scratch:
        sides = {}
        old = old_tree(args.old_ref, Path(scratch))
        if old is not None:
            textcat, price = args.old_textcat or old / "models" / "textcat", args.old_price or old / "models" / "price"
            if (textcat / "manifest.json").exists() and (price / "manifest.json").exists():
                sides["old"] = run_side(old / "functions", textcat, price, args.data, args.rows, args.passes)
            else:
                print(f"no old side: {args.old_ref} has no committed models/; give --old-textcat and --old-price")
        textcat, price = args.new_textcat or REPO / "models" / "textcat", args.new_price or REPO / "models" / "price"
        sides["new"] = run_side(REPO / "functions", textcat, price, args.data, args.rows, args.passes)
    print(f"{args.rows:,} BigBasket rows in pages of {PAGE_ROWS}, one core, best of {args.passes} passes")
    print(f"{'model':<8}{'old rows/s':>12}{'new rows/s':>12}{'new/old':>9}{'target':>9}")
    for kind in ("text", "price"):
        new = sides["new"][kind]
        old_rate = f"{sides['old'][kind]:>12,.0f}" if "old" in sides else f"{'–':>12}"
        ratio = f"{new / sides['old'][kind]:>8.1f}×" if "old" in sides else f"{'–':>9}"
        print(f"{kind:<8}{old_rate}{new:>12,.0f}{ratio}{TARGETS[kind]:>9,}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        textcat_dir, price_dir, data, count, passes = sys.argv[2:7]
        print(json.dumps(measure(Path(textcat_dir), Path(price_dir), Path(data), int(count), int(passes))))
    else:
        main()
