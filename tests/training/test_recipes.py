"""Recipes are the plain fine-tune plus named parts, so each part can be measured on its own."""

import pytest

from catalogist_training.augment import AugmentConfig
from catalogist_training.config import PLAIN_PARTS, TrainConfig


def test_the_plain_recipe_switches_off_every_part_of_the_current_one():
    current = TrainConfig.named("current", "data", "out")
    plain = TrainConfig.named("plain", "data", "out")

    assert (plain.label_smoothing, plain.coarse_loss_weight, plain.ema_momentum) == (0, 0, 0)
    assert not plain.freeze_batch_norm and plain.iconic_copies == 0 and plain.epochs == 12
    assert plain.augment.distractor_prob == plain.augment.jpeg_prob == 0
    assert plain.train_from == current.train_from == "stem"  # whole network in both
    for name in PLAIN_PARTS:
        assert getattr(plain, name) != getattr(current, name), f"{name} is not a part the two differ in"


def test_one_part_switched_back_on_changes_only_that_part():
    plain = TrainConfig.plain("data", "out")

    with_ema = plain.with_overrides(ema_momentum=0.99)
    shop = plain.with_augment("shop")

    assert with_ema.ema_momentum == 0.99 and with_ema.augment == plain.augment
    assert shop.augment == AugmentConfig() and shop.ema_momentum == 0
    assert plain.with_augment(None) == plain


def test_a_smoke_run_of_a_recipe_keeps_its_parts_at_smoke_size():
    smoke = TrainConfig.named("plain", "data", "out", smoke=True)

    assert smoke.image_size == 96 and smoke.epochs == 2
    assert smoke.ema_momentum == 0 and not smoke.freeze_batch_norm


def test_thresholds_are_borrowed_only_by_a_run_with_nothing_left_to_calibrate_on():
    with pytest.raises(ValueError, match="refit"):
        TrainConfig("data", "out", thresholds_from="other/release")

    refit = TrainConfig("data", "out", val_split="", holdout_fraction=0, thresholds_from="other/release")
    assert refit.thresholds_from


def test_a_saved_config_loads_back_the_same(tmp_path):
    config = TrainConfig.plain("data", "out").with_overrides(extra_train=("val",), seed=3)

    config.save(tmp_path / "config.json")

    assert TrainConfig.load(tmp_path / "config.json") == config
