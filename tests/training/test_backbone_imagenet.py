"""The imported EfficientNet-Lite0 and Lite2 still know ImageNet: proof the weight mapping (and
the block layout read from the weights) is right."""

from pathlib import Path

import numpy as np
import pytest

from catalogist.imaging import photo_pixels
from tests.support import GROCERY

BANANA = 954
# ImageNet classes of other products the dataset has a sample of.
SAMPLES = {"Granny-Smith": 948, "Lemon": 951, "Green-Bell-Pepper": 945}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("grocery"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning"),
]


def photos_of(name: str, split: str = "val") -> list[Path]:
    lines = (GROCERY / f"{split}.txt").read_text().splitlines()
    return [GROCERY / line.split(",")[0] for line in lines if f"/{name}/" in line]


@pytest.fixture(scope="module", params=["lite0", "lite2"])
def imagenet_model(request):
    from catalogist_training.backbone import build_imagenet_classifier

    return build_imagenet_classifier(224, request.param)


def top_classes(model, paths: list[Path]) -> np.ndarray:
    pixels = np.stack([photo_pixels(p.read_bytes(), 224) for p in paths]).astype(np.float32)
    return model.predict(pixels, verbose=0).argmax(axis=1)


def test_most_validation_bananas_are_imagenet_bananas(imagenet_model):
    bananas = photos_of("Banana")

    top = top_classes(imagenet_model, bananas)

    assert len(bananas) >= 5
    assert (top == BANANA).mean() > 0.5


@pytest.mark.parametrize(("name", "imagenet_class"), SAMPLES.items())
def test_sample_products_get_their_imagenet_class(imagenet_model, name, imagenet_class):
    photos = photos_of(name, "train")[:10]

    top = top_classes(imagenet_model, photos)

    assert np.bincount(top).argmax() == imagenet_class
