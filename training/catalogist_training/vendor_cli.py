"""`catalogist train|evaluate textcat|price`: argparse subcommands for the vendor-file models.

Wire with `register_train(train_subparsers)` and `register_evaluate(evaluate_subparsers)`; each
subcommand sets `func(args) -> int`. Every flag has an environment-variable twin (shown in
--help) so CI can configure runs without editing commands. Try: `python -m
catalogist_training.vendor_cli train textcat --help`.
"""

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from catalogist.flags import add_flag
from catalogist_training.catalogue import GUESSED, CatalogueColumns
from catalogist_training.release_manifest import record_command


def _log_to_stderr() -> None:
    """Structured log lines (what reading the catalogue found) on stderr: stdout is the result."""
    from catalogist.logs import JsonFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])


def _run_train_textcat(args: argparse.Namespace) -> int:
    from catalogist_training.textcat import train

    _log_to_stderr()
    config = train(
        args.data,
        args.out,
        extras=_extras(args),
        target_precision=args.target_precision,
        limit=args.limit,
        folds=args.folds,
        columns=_columns(args) or GUESSED,
        include_test=args.include_test_split,
    )
    print(json.dumps(config, indent=2))
    return 0


def _run_train_price(args: argparse.Namespace) -> int:
    from catalogist_training.price import train

    _log_to_stderr()
    print(
        json.dumps(
            train(
                args.data,
                args.out,
                extras=_extras(args),
                ridge_alpha=args.ridge_alpha,
                limit=args.limit,
                columns=_columns(args) or GUESSED,
                include_test=args.include_test_split,
            ),
            indent=2,
        )
    )
    return 0


def _run_evaluate(kind: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from catalogist_training.textcat import NothingToScore

        try:
            if kind == "textcat":
                from catalogist_training.textcat import evaluate as evaluate_textcat

                metrics = evaluate_textcat(
                    args.model, args.data, args.out, with_baseline=not args.no_baseline, columns=_columns(args)
                )
            else:
                from catalogist_training.price import evaluate

                metrics = evaluate(args.model, args.data, args.out, columns=_columns(args))
        except NothingToScore as nothing:
            print(f"catalogist evaluate {kind}: {nothing}", file=sys.stderr)
            return 2
        metrics.pop("model", None)
        print(json.dumps(metrics, indent=2))
        return 0

    return run


def _add_extra(parser: argparse.ArgumentParser, env: str) -> None:
    """A repeatable flag, which `add_flag` does not make: its variable lists the files apart
    by the path separator (`:`), and the files given on the command line replace them."""
    from_env = [Path(p) for p in os.environ.get(env, "").split(os.pathsep) if p.strip()]
    parser.add_argument(
        "--extra",
        type=Path,
        action="append",
        help="CSV of extra training rows with the columns of products.csv (e.g. from `catalogist export "
        "reviews`); repeat for several; a product named there replaces its rows in --data "
        f"(env {env}, files apart by {os.pathsep!r})",
    )
    parser.set_defaults(extra_from_env=from_env)


def _extras(args: argparse.Namespace) -> list[Path]:
    return list(args.extra) if args.extra else list(args.extra_from_env)


# flag, its environment variable's tail, CatalogueColumns field, help; lists are comma-separated
COLUMN_FLAGS = (
    ("--sku-column", "SKU_COLUMN", "sku", "column of the product's id"),
    ("--name-column", "NAME_COLUMN", "name", "column of the product's name"),
    ("--brand-column", "BRAND_COLUMN", "brand", "column of the brand"),
    ("--category-path", "CATEGORY_PATH", "category_path", "one column holding the whole category path"),
    ("--separator", "SEPARATOR", "separator", "what parts the path column's levels (default: found, e.g. '>')"),
    ("--category-levels", "CATEGORY_LEVELS", "category_levels", "one column per level, root first, comma-separated"),
    ("--level-names", "LEVEL_NAMES", "level_names", "the store's names of its levels, root first, comma-separated"),
    ("--price-column", "PRICE_COLUMN", "price", "the price the shop sells at (what the price model learns)"),
    ("--list-price-column", "LIST_PRICE_COLUMN", "list_price", "the vendor's list price"),
    ("--currency", "CURRENCY", "currency", "the prices' currency where cells and headers name none (else INR)"),
)


def _add_columns(parser: argparse.ArgumentParser) -> None:
    """Which columns of --data hold what: a mapping file, and a flag per field over it; a
    column named by neither is guessed (catalogist_training.catalogue)."""
    add_flag(
        parser,
        "--columns",
        "CATALOGIST_CATALOGUE_COLUMNS",
        "JSON file naming the columns (fields: " + ", ".join(f for *_, f, _ in COLUMN_FLAGS) + ", group)",
        type=Path,
    )
    for flag, env, _, help in COLUMN_FLAGS:
        add_flag(parser, flag, f"CATALOGIST_CATALOGUE_{env}", help)


def _columns(args: argparse.Namespace) -> CatalogueColumns | None:
    """The columns the flags and the mapping file name; None when they name none."""
    base = CatalogueColumns.from_file(args.columns) if args.columns else GUESSED
    given = {field: getattr(args, flag[2:].replace("-", "_")) for flag, _, field, _ in COLUMN_FLAGS}
    listed = {
        field: tuple(part.strip() for part in value.split(",") if part.strip()) if value else ()
        for field, value in given.items()
        if field in ("category_levels", "level_names")
    }
    columns = base.overridden(**(given | listed))
    return None if columns == GUESSED else columns


def register_train(subparsers: Any) -> None:
    textcat = subparsers.add_parser(
        "textcat",
        help="train the text categorizer on a store's catalogue (products.csv by default)",
        description="Fit the name+brand → category path model, a tree of any depth; the combination of "
        "its experts and the thresholds are fitted out of fold; the held-out test split is skipped "
        "unless --include-test-split.",
    )
    add_flag(
        textcat,
        "--data",
        "CATALOGIST_TEXTCAT_DATA",
        "the catalogue: CSV, TSV, XLSX, JSON or JSONL, columns named below or guessed (products.csv needs none)",
        type=Path,
        required=True,
    )
    _add_columns(textcat)
    add_flag(
        textcat, "--out", "CATALOGIST_TEXTCAT_OUT", "directory for the exported model files", type=Path, required=True
    )
    _add_extra(textcat, "CATALOGIST_TEXTCAT_EXTRA")
    add_flag(
        textcat,
        "--folds",
        "CATALOGIST_TEXTCAT_FOLDS",
        "folds of the out-of-fold answers that fit the combination and the thresholds",
        type=int,
        default=5,
    )
    add_flag(
        textcat,
        "--target-precision",
        "CATALOGIST_TEXTCAT_TARGET_PRECISION",
        "precision each level's threshold is calibrated for",
        type=float,
        default=0.98,
    )
    add_flag(
        textcat,
        "--limit",
        "CATALOGIST_TEXTCAT_LIMIT",
        "train on the first N training rows only (0: all; small values are for smoke tests)",
        type=int,
        default=0,
    )
    _add_include_test(textcat, "CATALOGIST_TEXTCAT_INCLUDE_TEST_SPLIT")
    textcat.set_defaults(func=_run_train_textcat)

    price = subparsers.add_parser(
        "price",
        help="train the price model (LightGBM P10/P50/P90, text and list-price modes)",
        description="Fit ridge + group medians + nearest-neighbour prices stacked into LightGBM on log sale price.",
    )
    add_flag(
        price,
        "--data",
        "CATALOGIST_PRICE_DATA",
        "the catalogue: CSV, TSV, XLSX, JSON or JSONL, columns named below or guessed (products.csv needs none)",
        type=Path,
        required=True,
    )
    _add_columns(price)
    add_flag(price, "--out", "CATALOGIST_PRICE_OUT", "directory for the exported model files", type=Path, required=True)
    _add_extra(price, "CATALOGIST_PRICE_EXTRA")
    add_flag(price, "--ridge-alpha", "CATALOGIST_PRICE_RIDGE_ALPHA", "ridge L2 strength", type=float, default=0.3)
    add_flag(
        price,
        "--limit",
        "CATALOGIST_PRICE_LIMIT",
        "train on the first N training rows only (0: all; small values are for smoke tests)",
        type=int,
        default=0,
    )
    _add_include_test(price, "CATALOGIST_PRICE_INCLUDE_TEST_SPLIT")
    price.set_defaults(func=_run_train_price)


def _add_include_test(parser: argparse.ArgumentParser, env: str) -> None:
    add_flag(
        parser,
        "--include-test-split",
        env,
        "learn from the test split too: for the release to ship once the recipe was chosen on it "
        "(`evaluate` then finds no row of --data to score)",
        action="store_true",
    )


def register_evaluate(subparsers: Any) -> None:
    for kind, what in (("textcat", "text categorizer"), ("price", "price model")):
        parser = subparsers.add_parser(
            kind,
            help=f"evaluate the {what}: metrics.json and report.html",
            description=f"Score the {what} on every row of --data it was not trained on.",
        )
        upper = kind.upper()
        add_flag(parser, "--model", f"CATALOGIST_{upper}_MODEL", "directory written by train", type=Path, required=True)
        add_flag(
            parser,
            "--data",
            f"CATALOGIST_{upper}_EVAL_DATA",
            "the catalogue to score (its columns: as the release was trained, unless named here)",
            type=Path,
            required=True,
        )
        _add_columns(parser)
        add_flag(
            parser, "--out", f"CATALOGIST_{upper}_REPORT", "directory for metrics and report", type=Path, required=True
        )
        if kind == "textcat":
            add_flag(
                parser,
                "--no-baseline",
                "CATALOGIST_TEXTCAT_NO_BASELINE",
                "skip the scikit-learn baseline fitted on the model's training rows (on a million rows it "
                "would take hours and tens of GB)",
                action="store_true",
            )
        parser.set_defaults(func=_run_evaluate(kind))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="catalogist", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    register_train(commands.add_parser("train", help="train a model").add_subparsers(dest="model_kind", required=True))
    register_evaluate(
        commands.add_parser("evaluate", help="evaluate a model").add_subparsers(dest="model_kind", required=True)
    )
    args = parser.parse_args(argv)
    record_command(sys.argv[1:] if argv is None else argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
