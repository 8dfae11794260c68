"""Builds, once per instance, what the entry points hand to the core.

Heavy imports (LiteRT, the classifier, LightGBM) happen when the first photo or file needs
them, not at start-up, so cold starts stay short and a file never pays for the image model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalogist.adapters.firestore import FirestoreDocuments
from catalogist.adapters.storage import StorageBlobs
from catalogist.imports.pipeline import FilePipeline, RowModels
from catalogist.intake.uploads import Pipeline
from catalogist.models.releases import LoadedOnce, verify_release
from catalogist.photos.imaging import DecodeBudget
from catalogist.photos.pipeline import PhotoPipeline
from catalogist.settings import Settings


@dataclass(frozen=True)
class Versioned:
    model: Any
    version: str


def load_classifier(settings: Settings) -> Any:
    def load(folder: Path) -> Any:
        from catalogist.models.classifier import PhotoClassifier

        return PhotoClassifier(
            folder, num_threads=settings.model_threads, tta=settings.photo_tta, max_interpreters=settings.threads
        )

    return load


def serial_blas() -> None:
    """One BLAS thread for the row models, which run on the import's one models thread.

    OpenBLAS starts a thread per core, and its idle threads spin: they took the cores the
    import's writer thread needed (and, locally, the emulators). Same run, 10,000-row files end
    to end: 12.8-15.6 s with one BLAS thread, 16.0-17.9 s with two. Loaded libraries only, so
    this is called after numpy, SciPy and LightGBM are in.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def load_textcat(folder: Path) -> Versioned:
    from catalogist.models.textcat import TextCategorizer

    manifest = verify_release(folder)
    model = TextCategorizer.load(folder)
    serial_blas()
    return Versioned(model, str(manifest["version"]))


def load_price(folder: Path) -> Versioned:
    from catalogist.models.price_model import PriceModel

    manifest = verify_release(folder)
    model = PriceModel.load(folder)
    serial_blas()
    return Versioned(model, str(manifest["version"]))


class RowModelsOnce:
    """The text categorizer and price releases, each loaded on first use."""

    def __init__(self, textcat: LoadedOnce[Versioned], price: LoadedOnce[Versioned]) -> None:
        self._textcat = textcat
        self._price = price

    def get(self) -> RowModels:
        textcat, price = self._textcat.get(), self._price.get()
        return RowModels(textcat.model, textcat.version, price.model, price.version)


def build(settings: Settings) -> tuple[StorageBlobs, FirestoreDocuments, dict[str, Pipeline]]:
    blobs = StorageBlobs(settings.project)
    documents = FirestoreDocuments(settings.project, settings.firestore_database)
    cache = Path(settings.model_cache_dir)
    classifiers = LoadedOnce(settings.classifier_release, load_classifier(settings), blobs, cache)
    row_models = RowModelsOnce(
        LoadedOnce(settings.textcat_release, load_textcat, blobs, cache),
        LoadedOnce(settings.price_release, load_price, blobs, cache),
    )
    pipelines: dict[str, Pipeline] = {
        "photo": PhotoPipeline(
            blobs, documents, classifiers, settings.max_photo_bytes, DecodeBudget(settings.decode_memory_bytes)
        ),
        "vendor_file": FilePipeline(blobs, documents, row_models),
    }
    return blobs, documents, pipelines
