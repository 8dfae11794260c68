"""The photo classifier of a model release: int8 TFLite run by LiteRT, answers as decisions.

A release (`catalogist.models.releases`) of kind `image-classifier` holds `model.tflite` and
`taxonomy.json` (the leaves in model-output order and the calibrated thresholds).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from catalogist.imaging import photo_pixels
from catalogist.models.kinds import CLASSIFIER
from catalogist.models.releases import Release
from catalogist.models.store_map import MAP_FILE, StoreMap
from catalogist.models.taxonomy import Decision, Taxonomy

MODEL_FILE = "model.tflite"
TAXONOMY_FILE = "taxonomy.json"
TTA_VIEWS = ("none", "flip", "flip_crops")
CROP_SHARE = 0.875  # the zoomed-in views of `flip_crops` keep the central 87.5 % of each side


def available_cpus() -> int:
    """The cores this process may run on (a container's share, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # older deployments ship the predecessor package under another name
        from tflite_runtime.interpreter import Interpreter
    return Interpreter


class TFLiteModel:
    """One TFLite file: uint8 or float pixels in, leaf probabilities (float) out.

    Safe to call from many threads at once. A LiteRT `Interpreter` owns its input and output
    tensors, so threads sharing one overwrite each other's: under 300 concurrent uploads one
    shared interpreter gave 4 photos another photo's scores without any error, and 67 calls
    failed with "There is at least 1 reference to internal data". Each call therefore borrows an
    interpreter of its own from a pool. The pool grows on demand up to `max_interpreters` (each
    costs about the model's size plus its activations); more callers than that wait for one to
    come back, which also keeps inference from oversubscribing the cores.
    """

    def __init__(self, path: Path, num_threads: int = 1, max_interpreters: int | None = None) -> None:
        self._path = str(path)
        self._num_threads = num_threads
        self._slots = threading.BoundedSemaphore(max_interpreters or available_cpus())
        self._idle: list[Any] = []
        self._idle_lock = threading.Lock()
        first = self._new_interpreter()
        self._input = first.get_input_details()[0]
        self._output = first.get_output_details()[0]
        self.image_size = int(self._input["shape"][1])
        self._idle.append(first)
        self.interpreters_created = 1

    def _new_interpreter(self) -> Any:
        interpreter = _interpreter_class()(model_path=self._path, num_threads=self._num_threads)
        interpreter.allocate_tensors()
        return interpreter

    @contextmanager
    def _borrowed(self) -> Iterator[Any]:
        with self._slots:
            with self._idle_lock:
                interpreter = self._idle.pop() if self._idle else None
                if interpreter is None:
                    self.interpreters_created += 1
            if interpreter is None:
                interpreter = self._new_interpreter()
            try:
                yield interpreter
            finally:
                with self._idle_lock:
                    self._idle.append(interpreter)

    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 pixels -> (leaves,) float probabilities."""
        x = pixels[None]
        scale, zero = self._input["quantization"]
        if self._input["dtype"] == np.float32:
            x = x.astype(np.float32)
        elif scale and (abs(scale - 1.0) > 1e-6 or zero != 0):
            info = np.iinfo(self._input["dtype"])
            x = np.clip(np.round(x / scale + zero), info.min, info.max)
        with self._borrowed() as interpreter:
            interpreter.set_tensor(self._input["index"], x.astype(self._input["dtype"]))
            interpreter.invoke()
            y = interpreter.get_tensor(self._output["index"])[0]  # a copy: safe once returned
        scale, zero = self._output["quantization"]
        if self._output["dtype"] != np.float32 and scale:
            y = (y.astype(np.float32) - zero) * scale
        # uint8 probabilities sum to 1 only up to rounding; thresholds assume they sum exactly.
        total = float(y.sum())
        return (y / total if total > 0 else y).astype(np.float32)


def release_views(release: Release) -> str:
    """The test-time views a release was calibrated on (`tta` in its manifest; none before it was recorded)."""
    return str(release.manifest.get("tta", "none"))


def tta_views(pixels: np.ndarray, tta: str) -> list[np.ndarray]:
    """The views whose predictions are averaged: the photo, its mirror, zoomed-in crops."""
    if tta not in TTA_VIEWS:
        raise ValueError(f"tta must be one of {TTA_VIEWS}, not {tta!r}")
    views = [pixels]
    if tta in ("flip", "flip_crops"):
        views.append(pixels[:, ::-1])
    if tta == "flip_crops":
        size = pixels.shape[0]
        margin = round(size * (1 - CROP_SHARE) / 2)
        centre = Image.fromarray(pixels[margin : size - margin, margin : size - margin])
        zoomed = np.asarray(centre.resize((size, size), Image.Resampling.BILINEAR))
        views += [zoomed, zoomed[:, ::-1]]
    return views


class PhotoClassifier:
    """Pixels to leaf probabilities and photos to a taxonomy `Decision`, with the release's int8
    model and calibrated thresholds. Load once per instance; safe to share between threads."""

    def __init__(
        self, release: Release, num_threads: int = 1, tta: str = "release", max_interpreters: int | None = None
    ) -> None:
        self.release = release
        self.taxonomy = Taxonomy.load(release.path(TAXONOMY_FILE))
        cpus = available_cpus()
        self.model = TFLiteModel(release.path(MODEL_FILE), num_threads, min(max_interpreters or cpus, cpus))
        # The thresholds were calibrated on the averaged predictions of these views: serving
        # others would decide on confidences the promise was not made for.
        self.tta = release_views(release) if tta == "release" else tta
        tta_views(np.zeros((2, 2, 3), np.uint8), self.tta)  # reject a bad name at load, not per photo
        self.image_size = self.model.image_size
        mapped = MAP_FILE in release.manifest["files"]  # checked against the manifest with the rest
        self.store_map = StoreMap.load(release.path(MAP_FILE)) if mapped else None

    @classmethod
    def open(cls, folder: Path, **options: Any) -> PhotoClassifier:
        """The release in a local folder (evaluation, tests); the functions load through `LoadedOnce`."""
        return cls(Release.open(folder, CLASSIFIER.manifest_kind, CLASSIFIER.files), **options)

    @property
    def version(self) -> str:
        return self.release.version

    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        views = tta_views(pixels, self.tta)
        return np.mean([self.model.probabilities(view) for view in views], axis=0)

    def classify(self, photo: bytes) -> Decision:
        """Raises `BadPhoto` for bytes that are not a usable photo."""
        return self.taxonomy.decide(self.probabilities(photo_pixels(photo, self.image_size)))
