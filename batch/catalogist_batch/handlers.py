"""The releases on Beam's RunInference: loaded once per worker process (RunInference keeps the
model a handler loads in a per-process cache), a batch of products at a time.

One handler holds the run's three releases, each loaded on first use through the function's own
loader and checks (`wiring.models_in_service`: the manifest, every file's sha256, the store's
currency for prices), so a run that re-scores rows alone never loads the classifier. Photos are
classified one at a time within a batch, by the function's `score_photo`: the int8 model takes one
photo per call, and a row's decision must not depend on the others batched with it; rows are
categorized and priced a batch at a time, as an import page is.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from apache_beam.ml.inference.base import ModelHandler

from catalogist.adapters.storage import StorageBlobs
from catalogist.documents.products import PhotoScore
from catalogist.errors import PermanentError
from catalogist.imports.rows import RowModels
from catalogist.models.kinds import CLASSIFIER, PRICE, TEXTCAT
from catalogist.photos.pipeline import score_photo
from catalogist.settings import Settings
from catalogist.wiring import models_in_service
from catalogist_batch.job import now
from catalogist_batch.rescore import Work, score_photos, score_rows_of


class Releases:
    """The releases a job runs with, each loaded on first use and kept for the process."""

    def __init__(self, settings: Settings) -> None:
        # A cache folder of the process's own: two processes fetching one release into one folder
        # could each read the other's half-written file.
        cache = os.path.join(settings.model_cache_dir, f"batch-{os.getpid()}")
        self.settings = replace(settings, model_cache_dir=cache)
        self.blobs = StorageBlobs(settings.project)
        self._models = models_in_service(self.settings, self.blobs)

    def classifier(self) -> Any:
        return self._models[CLASSIFIER.name].get()

    def price(self) -> Any:
        return self._models[PRICE.name].get()

    def rows(self) -> RowModels:
        return RowModels(self._models[TEXTCAT.name].get(), self.price())

    def get(self) -> RowModels:
        """As an import's `RowModelsSource`."""
        return self.rows()

    def versions(self) -> dict[str, str]:
        return {name: lazy.get().version for name, lazy in self._models.items()}


class ReleasesHandler(ModelHandler[Work, Work, Releases]):
    def __init__(self, settings: Settings, min_batch: int = 16, max_batch: int = 128) -> None:
        super().__init__()
        self._settings = settings
        self._batch = {"min_batch_size": min_batch, "max_batch_size": max_batch}

    def load_model(self) -> Releases:
        return Releases(self._settings)

    def run_inference(
        self, batch: Sequence[Work], model: Releases, inference_args: dict[str, Any] | None = None
    ) -> Iterable[Work]:
        works = list(batch)
        for work in works:
            if work.image:
                classify(work, model)
        if any(work.row for work in works):
            score_rows_of(works, model.rows())
        return works

    def batch_elements_kwargs(self) -> dict[str, int]:
        return self._batch

    def get_num_bytes(self, batch: Sequence[Work]) -> int:
        return sum(len(work.photos) * 150_000 + 2_000 for work in batch)


def classify(work: Work, releases: Releases) -> None:
    """The product's photos read again at their pinned generations and classified; a photo that
    cannot be read any more (deleted, or no longer a photo) keeps its old score, and says so."""
    classifier = releases.classifier()
    scores: dict[str, PhotoScore] = {}
    for key, version in work.photos.items():
        try:
            data = releases.blobs.read_all(
                version.bucket, version.name, version.generation, releases.settings.max_photo_bytes
            )
            scores[key] = score_photo(data, version, classifier, now())
        except PermanentError as error:
            work.unreadable[key] = error.reason
    score_photos(work, scores, classifier, releases.price())
