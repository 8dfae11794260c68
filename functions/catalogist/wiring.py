"""Builds, once per instance, what the entry points hand to the core.

Heavy imports (LiteRT, the classifier, LightGBM) happen when the first photo or file needs
them, not at start-up, so cold starts stay short and a file never pays for the image model.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from catalogist.adapters.firestore import FirestoreDocuments
from catalogist.adapters.storage import StorageBlobs
from catalogist.errors import ModelError
from catalogist.imports.pipeline import FilePipeline, RowModels
from catalogist.intake.uploads import Pipeline
from catalogist.models.releases import LoadedOnce
from catalogist.photos.imaging import DecodeBudget
from catalogist.photos.pipeline import PhotoPipeline
from catalogist.ports import ReleaseFiles
from catalogist.settings import Settings


def classifier_opener(settings: Settings) -> Callable[[Path], Any]:
    def open_classifier(folder: Path) -> Any:
        from catalogist.models.classifier import PhotoClassifier

        return PhotoClassifier.open(
            folder, num_threads=settings.model_threads, tta=settings.photo_tta, max_interpreters=settings.threads
        )

    return open_classifier


def serial_blas() -> None:
    """One BLAS thread for the row models, which run on the import's one models thread.

    OpenBLAS starts a thread per core, and its idle threads spin: they took the cores the
    import's writer thread needed (and, locally, the emulators). Loaded libraries only, so this
    is called after numpy, SciPy and LightGBM are in.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def open_textcat(folder: Path) -> Any:
    from catalogist.models.textcat import TextCategorizer

    model = TextCategorizer.open(folder)
    serial_blas()
    return model


def open_price(folder: Path, currency: str) -> Any:
    from catalogist.models.price_model import PriceModel

    model = PriceModel.open(folder)
    if model.currency != currency:
        raise ModelError(f"the price release {folder} predicts {model.currency}; the store sells in {currency}")
    serial_blas()
    return model


class RowModelsOnce:
    """The text categorizer and price releases, each loaded on first use."""

    def __init__(self, textcat: LoadedOnce[Any], price: LoadedOnce[Any]) -> None:
        self._textcat = textcat
        self._price = price

    def get(self) -> RowModels:
        return RowModels(self._textcat.get(), self._price.get())


def row_models(settings: Settings, files: ReleaseFiles, cache: Path) -> RowModelsOnce:
    return RowModelsOnce(
        LoadedOnce(settings.textcat_release, open_textcat, files, cache),
        LoadedOnce(settings.price_release, lambda folder: open_price(folder, settings.currency), files, cache),
    )


def build(settings: Settings) -> tuple[StorageBlobs, FirestoreDocuments, dict[str, Pipeline]]:
    blobs = StorageBlobs(settings.project)
    documents = FirestoreDocuments(settings.project, settings.firestore_database)
    cache = Path(settings.model_cache_dir)
    classifiers = LoadedOnce(settings.classifier_release, classifier_opener(settings), blobs, cache)
    pipelines: dict[str, Pipeline] = {
        "photo": PhotoPipeline(
            blobs,
            documents,
            classifiers,
            settings.max_photo_bytes,
            DecodeBudget(settings.decode_memory_bytes),
            settings.audit_rate,
        ),
        "vendor_file": FilePipeline(blobs, documents, row_models(settings, blobs, cache), settings.audit_rate),
    }
    return blobs, documents, pipelines
