"""`catalogist train classifier` and `catalogist evaluate classifier`.

    python -m catalogist_training.cli train classifier --data ../shared/datasets/grocerystore \
        --out artifacts/classifier
    python -m catalogist_training.cli train classifier --smoke --data ../shared/datasets/grocerystore \
        --out artifacts/smoke
    python -m catalogist_training.cli evaluate classifier --model artifacts/classifier/release \
        --data ../shared/datasets/grocerystore --split val --out artifacts/classifier/eval-val

`register_train` / `register_evaluate` add the `classifier` subcommand to the `catalogist` CLI's
`train` and `evaluate` parsers. Every flag has an environment-variable twin (shown in --help).
"""

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from catalogist.flags import add_flag
from catalogist_training.release_manifest import record_command

log = logging.getLogger("catalogist.training")


def register_train(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "classifier",
        help="fine-tune the photo classifier and export an int8 release",
        description="Train EfficientNet-Lite0 on labelled photos, export int8 TFLite, calibrate "
        "thresholds, evaluate on validation. Rerun the same command to resume.",
    )
    add_flag(
        parser,
        "--data",
        "CATALOGIST_DATA",
        "dataset folder (Grocery Store layout, <split>.csv manifest or folder tree)",
    )
    add_flag(
        parser,
        "--download-to",
        "CATALOGIST_DOWNLOAD_TO",
        "download the public Grocery Store dataset here when --data is not given",
    )
    add_flag(
        parser,
        "--out",
        "CATALOGIST_OUT",
        "output folder (work/, release/, eval-*/)",
        default="artifacts/classifier",
    )
    add_flag(
        parser,
        "--smoke",
        "CATALOGIST_SMOKE",
        "tiny CI run: 4 classes, 12 photos each, 96 px, 2 epochs",
        action="store_true",
    )
    add_flag(
        parser,
        "--recipe",
        "CATALOGIST_RECIPE",
        "starting recipe: current (the release's) or plain (a plain fine-tune); the flags below switch its parts",
        default="current",
        choices=("current", "plain"),
    )
    add_flag(
        parser,
        "--batch-norm",
        "CATALOGIST_BATCH_NORM",
        "batch-norm statistics: frozen (ImageNet's) or trained",
        choices=("frozen", "trained"),
    )
    add_flag(
        parser,
        "--augment",
        "CATALOGIST_AUGMENT",
        "augmentation: shop (shop-photo failures) or standard (crops, flips, colour jitter)",
        choices=("shop", "standard"),
    )
    parser.add_argument(
        "--extra",
        action="append",
        type=Path,
        help="a folder of labelled photos to add, e.g. `catalogist export reviews`'s DIR/photos: its "
        "train.csv joins training, its val.csv validation and calibration (training too with "
        "--val-split none); repeatable (env CATALOGIST_EXTRA, comma-separated)",
    )
    for flag, env, kind, text in (
        ("--train-split", "CATALOGIST_TRAIN_SPLIT", str, "training split name"),
        ("--val-split", "CATALOGIST_VAL_SPLIT", str, "validation split name or CSV manifest; none for a refit"),
        (
            "--extra-train",
            "CATALOGIST_EXTRA_TRAIN",
            str,
            "more labelled photos to train on: split names or CSV manifests, comma-separated",
        ),
        (
            "--thresholds-from",
            "CATALOGIST_THRESHOLDS_FROM",
            str,
            "release whose thresholds a refit keeps (it has no unseen photos to calibrate on)",
        ),
        ("--label-smoothing", "CATALOGIST_LABEL_SMOOTHING", float, "label smoothing of the leaf loss"),
        ("--coarse-loss-weight", "CATALOGIST_COARSE_LOSS_WEIGHT", float, "weight of the coarse-level loss (0: off)"),
        ("--ema-momentum", "CATALOGIST_EMA_MOMENTUM", float, "moving average of weights (0: off)"),
        ("--iconic-copies", "CATALOGIST_ICONIC_COPIES", int, "copies of each iconic studio shot (0: none)"),
        ("--warmup-epochs", "CATALOGIST_WARMUP_EPOCHS", float, "epochs of learning-rate warmup"),
        ("--weight-decay", "CATALOGIST_WEIGHT_DECAY", float, "AdamW weight decay"),
        ("--dropout", "CATALOGIST_DROPOUT", float, "dropout before the classifier layer"),
        ("--patience", "CATALOGIST_PATIENCE", int, "epochs without progress on val before stopping (0: never)"),
        (
            "--bound-confidence",
            "CATALOGIST_BOUND_CONFIDENCE",
            float,
            "confidence of the precision's lower bound the thresholds keep (0: point estimate)",
        ),
        ("--backbone", "CATALOGIST_BACKBONE", str, "pretrained backbone: lite0 (default) or lite2"),
        ("--image-size", "CATALOGIST_IMAGE_SIZE", int, "input side in pixels"),
        ("--epochs", "CATALOGIST_EPOCHS", int, "training epochs"),
        ("--batch-size", "CATALOGIST_BATCH_SIZE", int, "photos per batch"),
        ("--learning-rate", "CATALOGIST_LEARNING_RATE", float, "peak learning rate"),
        ("--classes", "CATALOGIST_CLASSES", int, "keep only the first N categories (0: all)"),
        ("--limit", "CATALOGIST_LIMIT", int, "at most N training photos per category (0: all)"),
        (
            "--holdout-fraction",
            "CATALOGIST_HOLDOUT_FRACTION",
            float,
            "tail of each training category held out for checking",
        ),
        (
            "--max-gap",
            "CATALOGIST_MAX_GAP",
            float,
            "refuse the release if int8 is more than this below float (fraction)",
        ),
        (
            "--target-precision",
            "CATALOGIST_TARGET_PRECISION",
            float,
            "precision the per-level thresholds are calibrated for",
        ),
        (
            "--representative-photos",
            "CATALOGIST_REPRESENTATIVE_PHOTOS",
            int,
            "training photos that calibrate the int8 ranges (0: all)",
        ),
        (
            "--train-from",
            "CATALOGIST_TRAIN_FROM",
            str,
            "first backbone stage that trains (stem, block0..block6, head); earlier ones stay frozen",
        ),
        ("--threads", "CATALOGIST_THREADS", int, "TensorFlow threads (0: all cores)"),
        ("--seed", "CATALOGIST_SEED", int, "random seed"),
    ):
        add_flag(parser, flag, env, text, type=kind)
    parser.set_defaults(func=run_train)
    return parser


def register_evaluate(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "classifier",
        help="evaluate a classifier release with LiteRT; writes metrics.json and report.html",
        description="Run a release's int8 TFLite model through LiteRT with the functions' own "
        "preprocessing on a labelled split, including corrupted copies of each photo.",
    )
    add_flag(
        parser,
        "--model",
        "CATALOGIST_MODEL",
        "release folder (model.tflite, taxonomy.json, manifest.json)",
        required=False,
    )
    add_flag(parser, "--data", "CATALOGIST_DATA", "dataset folder")
    add_flag(parser, "--split", "CATALOGIST_SPLIT", "split name", default="val")
    add_flag(parser, "--out", "CATALOGIST_EVAL_OUT", "where metrics.json and report.html go")
    add_flag(
        parser,
        "--tta",
        "CATALOGIST_TTA",
        "test-time augmentation: none, flip, flip_crops",
        default="none",
        choices=("none", "flip", "flip_crops"),
    )
    add_flag(parser, "--threads", "CATALOGIST_THREADS", "LiteRT threads", type=int, default=1)
    add_flag(
        parser,
        "--no-robustness",
        "CATALOGIST_NO_ROBUSTNESS",
        "skip the corrupted copies",
        action="store_true",
    )
    parser.set_defaults(func=run_evaluate)
    return parser


def _setup_logging() -> None:
    from catalogist.logs import JsonFormatter

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def _env_paths(env: str) -> list[Path]:
    return [Path(part) for part in os.environ.get(env, "").split(",") if part.strip()]


def extra_manifests(folders: list[Path], refit: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(train, val) CSV manifests of `--extra` folders: each folder's train.csv and val.csv (an
    export's DIR or DIR/photos). A refit has no validation, so there both train."""
    train: list[str] = []
    val: list[str] = []
    for folder in folders:
        base = folder / "photos" if (folder / "photos" / "train.csv").exists() else folder
        found = [base / f"{split}.csv" for split in ("train", "val") if (base / f"{split}.csv").exists()]
        if not found:
            raise SystemExit(f"--extra {folder}: no train.csv or val.csv (as `catalogist export reviews` writes)")
        for manifest in found:
            (train if manifest.stem == "train" or refit else val).append(str(manifest.resolve()))
    return tuple(train), tuple(val)


def run_train(args: argparse.Namespace) -> int:
    _setup_logging()
    from catalogist_training.config import TrainConfig
    from catalogist_training.datasets import resolve_data
    from catalogist_training.export import ReleaseRefused, export_release
    from catalogist_training.prepare import prepare_photos
    from catalogist_training.train_classifier import train_classifier

    data = str(resolve_data(args.data, Path(args.download_to) if args.download_to else None))
    base = TrainConfig.named(args.recipe, data, args.out, smoke=args.smoke)
    val_split = "" if args.val_split == "none" else args.val_split
    extra_train, extra_val = extra_manifests(args.extra or _env_paths("CATALOGIST_EXTRA"), refit=val_split == "")
    named_extra = tuple(s for s in args.extra_train.split(",") if s) if args.extra_train else ()
    config = base.with_augment(args.augment).with_overrides(
        train_split=args.train_split,
        val_split=val_split,
        extra_train=(*named_extra, *extra_train) or None,
        extra_val=extra_val or None,
        thresholds_from=args.thresholds_from,
        label_smoothing=args.label_smoothing,
        coarse_loss_weight=args.coarse_loss_weight,
        ema_momentum=args.ema_momentum,
        freeze_batch_norm={"frozen": True, "trained": False}.get(args.batch_norm),
        iconic_copies=args.iconic_copies,
        warmup_epochs=args.warmup_epochs,
        weight_decay=args.weight_decay,
        dropout=args.dropout,
        patience=args.patience,
        bound_confidence=args.bound_confidence,
        backbone=args.backbone,
        image_size=args.image_size,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        classes=args.classes,
        limit=args.limit,
        holdout_fraction=args.holdout_fraction,
        max_gap=args.max_gap,
        target_precision=args.target_precision,
        train_from=args.train_from,
        representative_photos=args.representative_photos,
        threads=args.threads,
        seed=args.seed,
    )
    started = time.time()
    run = prepare_photos(config)
    log.info(
        "%d categories; %d train, %d extra, %d holdout, %d val photos",
        len(run.taxonomy.leaves),
        len(run.train),
        len(run.extra),
        len(run.holdout),
        len(run.val),
    )
    from catalogist_training.datasets import write_manifest

    model_path = train_classifier(run, config)
    write_manifest(list(run.holdout), Path(config.out) / "work" / "holdout.csv")
    try:
        manifest = export_release(model_path, run, config)
    except ReleaseRefused as refusal:
        log.error("release refused: %s", refusal)
        return 2
    log.info("release written: %s", json.dumps(manifest["metrics"]))
    from catalogist_training.evaluate_classifier import evaluate_release

    release = Path(config.out) / "release"
    for split, photos in (("val", run.val), ("holdout", run.holdout)):
        if photos:
            evaluate_release(
                release,
                photos,
                Path(config.out) / f"eval-{split}",
                split,
                robustness=not args.smoke or split == "val",
            )
    total = round(time.time() - started, 1)
    (Path(config.out) / "pipeline_seconds.json").write_text(json.dumps({"seconds": total}) + "\n")
    log.info("pipeline finished in %.1f s", total)
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    _setup_logging()
    from catalogist_training.datasets import load_split
    from catalogist_training.evaluate_classifier import evaluate_release

    if not (args.model and args.data and args.out):
        log.error("evaluate classifier needs --model, --data and --out")
        return 2
    photos = load_split(Path(args.data), args.split)
    metrics = evaluate_release(
        Path(args.model),
        photos,
        Path(args.out),
        args.split,
        tta=args.tta,
        threads=args.threads,
        robustness=not args.no_robustness,
    )
    log.info("metrics: %s", json.dumps({k: v for k, v in metrics.items() if not isinstance(v, dict)}))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry until the `catalogist` CLI wires these subcommands in."""
    parser = argparse.ArgumentParser(prog="catalogist", description="Catalogist training tools")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a model").add_subparsers(dest="what", required=True)
    evaluate = commands.add_parser("evaluate", help="evaluate a model").add_subparsers(dest="what", required=True)
    register_train(train)
    register_evaluate(evaluate)
    args = parser.parse_args(argv)
    record_command(sys.argv[1:] if argv is None else argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
