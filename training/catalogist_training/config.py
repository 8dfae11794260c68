"""The resolved settings of one classifier training run, saved as `config.json` beside it.

Defaults are the release recipe; `plain()` is a plain fine-tune to measure it against, and every
part of the release recipe is a field of its own, so a recipe is the plain one plus named parts
(`RECIPES`). `smoke()` is the tiny CI variant. Every run writes the config it actually used, so a
model can always be traced back to how it was made.
"""

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from catalogist_training.augment import AugmentConfig
from catalogist_training.backbone import VARIANTS

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


@dataclass(frozen=True)
class TrainConfig:
    data: str
    out: str
    recipe: str = "current"  # the named starting point the other fields were resolved from
    train_split: str = "train"
    val_split: str = "val"  # "" for none: a refit that trains on validation too
    # more labelled photos to train on: split names of `data` or CSV manifests (a refit's val)
    extra_train: tuple[str, ...] = ()
    # more photos to validate and calibrate on: CSV manifests (an export's val.csv: reviewed
    # products of real vendors, split from the export's train by vendor:sku)
    extra_val: tuple[str, ...] = ()
    holdout_fraction: float = 0.10  # tail of each train category kept out as a second check
    backbone: str = "lite0"  # lite0 (int8 4.1 MB) or lite2 (int8 5.7 MB: over budget, a yardstick)
    image_size: int = 224
    epochs: int = 16
    batch_size: int = 32
    learning_rate: float = 6e-4
    warmup_epochs: float = 1.0
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    coarse_loss_weight: float = 0.5  # weight of the coarse-marginal term of the loss
    dropout: float = 0.2
    ema_momentum: float = 0.99  # 0 turns the moving average of weights off
    freeze_batch_norm: bool = True  # keep ImageNet's batch-norm statistics instead of re-estimating them
    train_from: str = "stem"  # first trained stage (stem, block0..block6, head): earlier ones stay frozen
    iconic_copies: int = 3  # studio shots per class added to training (Grocery Store only)
    patience: int = 5  # epochs without a better val fine accuracy before stopping (0: never stop)
    classes: int = 0  # keep N leaves spread over the tree (0: all) - for smoke runs
    limit: int = 0  # keep at most N training photos per leaf (0: all)
    target_precision: float = 0.98
    # thresholds keep the target on the precision's lower bound at this confidence (calibrate.py);
    # 0: on the bare point estimate, which broke its promise on unseen photos
    bound_confidence: float = 0.95
    # a release whose thresholds this run takes instead of calibrating its own: a refit on every
    # labelled photo has none left to calibrate on, so it keeps those of a run that had
    thresholds_from: str = ""
    max_gap: float = 0.01  # refuse the release if int8 loses more fine accuracy than this
    representative_photos: int = 0  # int8 calibration photos from train (0: all of them)
    threads: int = 0  # TensorFlow threads (0: all cores)
    seed: int = 7
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
            patience=2,
            max_gap=0.10,
            learning_rate=1e-3,
        )

    def __post_init__(self):
        if self.backbone not in VARIANTS:
            raise ValueError(f"backbone must be one of {', '.join(VARIANTS)}, not {self.backbone!r}")
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
    def load(cls, path: Path) -> "TrainConfig":
        document = json.loads(path.read_text())
        augment: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in document["augment"].items()}
        document["augment"] = AugmentConfig(**augment)
        document["extra_train"] = tuple(document.get("extra_train", ()))
        document["extra_val"] = tuple(document.get("extra_val", ()))
        return cls(**document)
