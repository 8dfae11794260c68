"""Rows per second of the row models at serving time, today's code (a git revision) beside this
checkout's, on one core, in one run.

    python bench/bench_row_models.py --old-textcat DIR --old-price DIR \
        --new-textcat DIR --new-price DIR [--old-ref main] [--rows 10000]

Each side runs in a process of its own pinned to the same core, with one BLAS and one LightGBM
thread: the old side imports `catalogist` from `git archive <old-ref>`, the new side from this
checkout, each with releases its own `train` wrote. Both read the same BigBasket rows in pages
of 400 (the import pipeline's page): the text categorizer's `decide_many` on (name, brand), the
price model's `suggest` on (name, brand, category path, pack size), every third row with its
list price. One page first to warm up, then the best of three passes over all rows.
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
PASSES = 3
TARGETS = {"text": 20_000, "price": 10_000}  # rows/s, issue #17


def catalogue_rows(path: Path, count: int) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["product"].strip() and r["type"].strip()]
    return (rows * (count // len(rows) + 1))[:count]


def best_rate(serve, inputs: list) -> float:
    serve(inputs[:PAGE_ROWS])
    best = 0.0
    for _ in range(PASSES):
        started = time.perf_counter()
        for start in range(0, len(inputs), PAGE_ROWS):
            serve(inputs[start : start + PAGE_ROWS])
        best = max(best, len(inputs) / (time.perf_counter() - started))
    return best


def measure(textcat_dir: Path, price_dir: Path, data: Path, count: int) -> dict[str, float]:
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
    return {"text": best_rate(textcat.decide_many, texts), "price": best_rate(price.suggest, inputs)}


def old_code(ref: str, into: Path) -> Path:
    """The `functions/` tree of `ref`, unpacked from git."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", ref, "functions"], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "functions"


def run_side(functions: Path, textcat_dir: Path, price_dir: Path, data: Path, count: int) -> dict[str, float]:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(functions), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, __file__, "--worker", str(textcat_dir), str(price_dir), str(data), str(count)]
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if done.returncode:
        raise SystemExit(f"the side with {functions} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old-ref", default="main", help="git revision of today's serving code")
    for side in ("old", "new"):
        for kind in ("textcat", "price"):
            parser.add_argument(f"--{side}-{kind}", type=Path, required=True, help=f"{kind} release of the {side} code")
    parser.add_argument("--data", type=Path, default=BIGBASKET)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        old = run_side(old_code(args.old_ref, Path(scratch)), args.old_textcat, args.old_price, args.data, args.rows)
        new = run_side(REPO / "functions", args.new_textcat, args.new_price, args.data, args.rows)
    print(f"{args.rows:,} BigBasket rows in pages of {PAGE_ROWS}, one core, best of {PASSES} passes")
    print(f"{'model':<8}{'old rows/s':>12}{'new rows/s':>12}{'new/old':>9}{'target':>9}")
    for kind in ("text", "price"):
        ratio = new[kind] / old[kind]
        print(f"{kind:<8}{old[kind]:>12,.0f}{new[kind]:>12,.0f}{ratio:>8.1f}×{TARGETS[kind]:>9,}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        textcat_dir, price_dir, data, count = sys.argv[2:6]
        print(json.dumps(measure(Path(textcat_dir), Path(price_dir), Path(data), int(count))))
    else:
        main()
