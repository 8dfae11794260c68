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
from catalogist_training.config import config_flags
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
        "--out",
        "CATALOGIST_OUT",
        "output folder (work/, release/, eval-*/)",
        default="artifacts/classifier",
    )
    add_photo_selection_flags(parser)
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
    add_config_flags(parser)
    from catalogist_training.vertex import add_vertex_flags

    add_vertex_flags(parser)
    parser.set_defaults(func=run_train)
    return parser


def add_photo_selection_flags(parser: argparse.ArgumentParser) -> None:
    """The flags that choose a run's photos, the same for `train classifier` and `prepare photos`
    (a pack is made for the selection the training will ask for)."""
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
    parser.add_argument(
        "--extra",
        action="append",
        help="a folder of labelled photos to add, e.g. `catalogist export reviews`'s DIR/photos: its "
        "train.csv joins training, its val.csv validation and calibration (training too with "
        "--val-split none); repeatable (env CATALOGIST_EXTRA, comma-separated)",
    )
    add_flag(parser, "--val-split", "CATALOGIST_VAL_SPLIT", "validation split name or CSV manifest; none for a refit")


def add_config_flags(parser: argparse.ArgumentParser, only: tuple[str, ...] = ()) -> None:
    """`--field-name` (env CATALOGIST_FIELD_NAME) for each TrainConfig field with help text."""
    for f in config_flags(only):
        kind = f.type if f.type in (int, float, str) else str  # tuples: comma-separated
        add_flag(parser, "--" + f.name.replace("_", "-"), "CATALOGIST_" + f.name.upper(), f.metadata["help"], type=kind)


def config_overrides(args: argparse.Namespace, only: tuple[str, ...] = ()) -> dict:
    """What the flags set (None: not given), typed as the config's fields."""
    overrides = {}
    for f in config_flags(only):
        value = getattr(args, f.name)
        if value is not None and f.type not in (int, float, str):
            value = tuple(part for part in str(value).split(",") if part)
        overrides[f.name] = value
    return overrides


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
        "test-time views: release (those its thresholds were calibrated on), none, flip, flip_crops",
        default="release",
        choices=("release", "none", "flip", "flip_crops"),
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


def _env_paths(env: str) -> list[str]:
    return [part.strip() for part in os.environ.get(env, "").split(",") if part.strip()]


def extra_manifests(folders: list, refit: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(train, val) CSV manifests of `--extra` folders (here or gs://): each folder's train.csv
    and val.csv (an export's DIR or DIR/photos). A refit has no validation, so there both train."""
    from catalogist_training import files

    train: list[str] = []
    val: list[str] = []
    for folder in map(str, folders):
        photos = files.join(folder, "photos")
        base = photos if files.exists(files.join(photos, "train.csv")) else folder
        found = [files.join(base, f"{split}.csv") for split in ("train", "val")]
        found = [manifest for manifest in found if files.exists(manifest)]
        if not found:
            raise SystemExit(f"--extra {folder}: no train.csv or val.csv (as `catalogist export reviews` writes)")
        for manifest in found:
            local = manifest if files.is_remote(manifest) else str(Path(manifest).resolve())
            (train if files.name(manifest) == "train.csv" or refit else val).append(local)
    return tuple(train), tuple(val)


def resolved_config(args: argparse.Namespace):
    """The run's TrainConfig: the named recipe, then every flag given."""
    from catalogist_training.config import TrainConfig
    from catalogist_training.datasets import resolve_data

    data = resolve_data(args.data, Path(args.download_to) if args.download_to else None)
    base = TrainConfig.named(args.recipe, data, args.out, smoke=args.smoke)
    val_split = "" if args.val_split == "none" else args.val_split
    extra_train, extra_val = extra_manifests(args.extra or _env_paths("CATALOGIST_EXTRA"), refit=val_split == "")
    overrides = config_overrides(args, getattr(args, "config_fields", ()))
    overrides["extra_train"] = (*(overrides.get("extra_train") or ()), *extra_train) or None
    config = base.with_augment(getattr(args, "augment", None)).with_overrides(
        **overrides,
        val_split=val_split,
        extra_val=extra_val or None,
        freeze_batch_norm={"frozen": True, "trained": False}.get(getattr(args, "batch_norm", None) or ""),
    )
    return with_backbone_input(config, explicit_size=getattr(args, "image_size", None))


def with_backbone_input(config, explicit_size: int | None):
    """A SavedModel backbone with a fixed input size sets the run's image size."""
    from dataclasses import replace

    from catalogist_training.backbone import is_saved_model, saved_model_input_size, saved_model_path

    if not is_saved_model(config.backbone):
        return config
    size = saved_model_input_size(saved_model_path(config.backbone))
    if size is None:
        return config
    if explicit_size is not None and explicit_size != size:
        raise SystemExit(f"--image-size {explicit_size}: the backbone {config.backbone} takes {size}×{size} photos")
    return replace(config, image_size=size)


def run_train(args: argparse.Namespace) -> int:
    _setup_logging()
    if args.cpu_replicas and not args.vertex:
        from catalogist_training.accelerators import split_cpu

        split_cpu(args.cpu_replicas)  # before anything below starts TensorFlow
    from catalogist_training.export import ReleaseRefused, export_release
    from catalogist_training.prepare import prepare_photos
    from catalogist_training.train_classifier import train_classifier

    config = resolved_config(args)
    if args.vertex:
        from catalogist_training.vertex import submit_from_args

        return submit_from_args(args, config)
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
    from catalogist_training.photo_sets import ListedPhotos

    model_path = train_classifier(run, config)
    if model_path is None:
        log.info(
            "stopped after %d steps (--max-steps) with a checkpoint in %s; no release exported",
            config.max_steps,
            config.checkpoint_dir(),
        )
        return 0
    if isinstance(run.holdout, ListedPhotos):
        write_manifest(list(run.holdout.photos), str(Path(config.out) / "work" / "holdout.csv"))
    try:
        manifest = export_release(model_path, run, config)
    except ReleaseRefused as refusal:
        log.error("release refused: %s", refusal)
        return 2
    log.info("release written: %s", json.dumps(manifest["metrics"]))
    from catalogist_training.evaluate_classifier import evaluate_release

    release = Path(config.out) / "release"
    for split, photos in (("val", run.val), ("holdout", run.holdout)):
        if len(photos):
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
    if args.publish:
        from catalogist_training.vertex import publish_release

        publish_release(release, args.publish)
    return 0


def register_prepare(subparsers) -> argparse.ArgumentParser:
    from catalogist_training.prepare import SELECTION

    parser = subparsers.add_parser(
        "photos",
        help="pack a run's labelled photos into TFRecord shards (a folder or gs://) for fast re-reads",
        description="Choose the photos of each role (train, holdout, val, iconic, extra) as `train "
        "classifier` would and pack them, original bytes, into TFRecord shards with an index.json. "
        "`train classifier --data PACK` then reads them sequentially, from disk or a bucket.",
    )
    add_flag(
        parser, "--out", "CATALOGIST_PACK_OUT", "where the pack goes: a folder or gs://bucket/prefix", required=True
    )
    add_photo_selection_flags(parser)
    fields_offered = (*SELECTION, "iconic_copies", "seed")
    add_config_flags(parser, fields_offered)
    parser.set_defaults(func=run_prepare, config_fields=fields_offered)
    return parser


def run_prepare(args: argparse.Namespace) -> int:
    _setup_logging()
    from catalogist_training.prepare import pack_photos

    args.out_pack, args.out = args.out, ""
    config = resolved_config(args)
    index = pack_photos(config, args.out_pack)
    for role, entry in index["roles"].items():
        log.info(
            "%s: %d photos in %d shards (%.1f MB)", role, entry["photos"], len(entry["shards"]), entry["bytes"] / 1e6
        )
    for refused in index["refused"]:
        log.warning("refused %s (%s): %s", refused["image"], refused["role"], refused["reason"])
    return 0


def register_calibrate(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "classifier",
        help="set a release's thresholds again from labelled photos its training never saw",
        description="Recalibrate a classifier release in place on validation photos or on the "
        "store's reviewed and audited photos (`catalogist export reviews`), with the rule that "
        "keeps the target precision on unseen splits of them; the manifest states the new promise.",
    )
    add_flag(parser, "--release", "CATALOGIST_RELEASE_DIR", "the release folder to recalibrate", required=True)
    add_flag(parser, "--data", "CATALOGIST_DATA", "dataset with --split (Grocery Store layout, manifest, folder tree)")
    parser.add_argument("--split", action="append", help="split name or CSV manifest of --data; repeatable")
    parser.add_argument(
        "--reviews",
        action="append",
        help="a `catalogist export reviews` folder: its reviewed photos (train.csv and val.csv); repeatable",
    )
    add_flag(parser, "--target-precision", "CATALOGIST_TARGET_PRECISION", "precision to keep", type=float, default=0.98)
    add_flag(
        parser,
        "--calibration-rule",
        "CATALOGIST_CALIBRATION_RULE",
        "crossfit (the rule that keeps the target on unseen splits) or fixed (--bound-confidence)",
        default="crossfit",
        choices=("crossfit", "fixed"),
    )
    add_flag(
        parser,
        "--bound-confidence",
        "CATALOGIST_BOUND_CONFIDENCE",
        "for fixed: 0 is the point estimate",
        type=float,
        default=0.95,
    )
    parser.set_defaults(func=run_calibrate)
    return parser


def run_calibrate(args: argparse.Namespace) -> int:
    _setup_logging()
    from catalogist_training.calibrate import photos_needed
    from catalogist_training.datasets import load_split
    from catalogist_training.promise import recalibrate_release

    photos, named = [], []
    for split in args.split or []:
        if not args.data:
            raise SystemExit("--split needs --data")
        photos += load_split(args.data, split)
        named.append(Path(split).stem if split.endswith(".csv") else split)
    reviews_train, reviews_val = extra_manifests(args.reviews or [], refit=True)
    for manifest in (*reviews_train, *reviews_val):
        photos += load_split(manifest, manifest)
        named.append(f"reviews:{manifest}")
    if not photos:
        raise SystemExit("nothing to calibrate on: give --data with --split, or --reviews")
    found = recalibrate_release(
        Path(args.release),
        photos,
        named,
        args.target_precision,
        args.calibration_rule,
        args.bound_confidence or None,
    )
    if found["promise"]:
        print(found["promise"]["statement"])
    need = photos_needed(args.target_precision, 0.95)
    for level, figures in found["calibration"]["levels"].items():
        print(
            f"{level}: threshold {figures['threshold']:.3f}, decides {figures['decided']} of "
            f"{found['calibration']['photos']} photos at {figures['precision'] or 0:.1%} "
            f"(a 95% bound at {args.target_precision:.0%} needs {need}+ decided with no mistake)"
        )
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    _setup_logging()
    from catalogist_training.datasets import load_split
    from catalogist_training.evaluate_classifier import evaluate_release
    from catalogist_training.photo_sets import ListedPhotos

    if not (args.model and args.data and args.out):
        log.error("evaluate classifier needs --model, --data and --out")
        return 2
    photos = ListedPhotos(tuple(load_split(args.data, args.split)))
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
    prepare = commands.add_parser("prepare", help="prepare training data").add_subparsers(dest="what", required=True)
    register_train(train)
    register_evaluate(evaluate)
    register_prepare(prepare)
    calibrate = commands.add_parser("calibrate", help="calibrate a release").add_subparsers(dest="what", required=True)
    register_calibrate(calibrate)
    args = parser.parse_args(argv)
    record_command(sys.argv[1:] if argv is None else argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
