"""Builds, once per instance, what the entry points hand to the core.

Heavy imports (LiteRT, the classifier, LightGBM) happen when the first photo or file needs
them, not at start-up, so cold starts stay short and a file never pays for the image model.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from catalogist.adapters.firestore import EmulatorDocuments, FirestoreDocuments
from catalogist.adapters.storage import StorageBlobs
from catalogist.errors import ModelError
from catalogist.imaging import DecodeBudget, return_freed_pixels_to_the_system
from catalogist.imports.pipeline import FilePipeline, RowModels
from catalogist.intake.uploads import Pipeline
from catalogist.models.releases import MANIFEST, LoadedOnce, Release
from catalogist.photos.pipeline import PhotoPipeline
from catalogist.ports import ReleaseFiles
from catalogist.settings import Settings

log = logging.getLogger("catalogist.wiring")
T = TypeVar("T")


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


def price_model(settings: Settings, files: ReleaseFiles, cache: Path) -> LoadedOnce[Any]:
    return LoadedOnce(settings.price_release, lambda folder: open_price(folder, settings.currency), files, cache)


def row_models(
    settings: Settings, files: ReleaseFiles, cache: Path, price: LoadedOnce[Any] | None = None
) -> RowModelsOnce:
    """`price`: the instance's price release when the photo path shares it (loaded once)."""
    return RowModelsOnce(
        LoadedOnce(settings.textcat_release, open_textcat, files, cache),
        price or price_model(settings, files, cache),
    )


class Lazy(Generic[T]):
    """A value built on first use, once, however many request threads ask at the same time."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
        return self._value


TREES = {"image": ("classifier_release", "image-classifier"), "text": ("textcat_release", "textcat")}
RELEASES = {**TREES, "price": ("price_release", "price")}


def build_panel(settings: Settings, blobs: StorageBlobs, documents: FirestoreDocuments) -> Any:
    """The review panel's Flask app, with the sign-in its settings ask for and the taxonomies of
    the releases in service (their manifests and taxonomy.json only: the panel runs no model)."""
    from catalogist.panel.app import create_app
    from catalogist.panel.auth import DevSignIn, IapSignIn, SignIn

    settings.require_panel()
    sign_in: SignIn
    if settings.panel_auth == "dev":
        sign_in = DevSignIn(settings.reviewers, settings.panel_secret, settings.on_cloud_run)
    else:
        sign_in = IapSignIn(settings.iap_audience, settings.reviewers)
    cache = Path(settings.model_cache_dir) / "panel"
    releases = {
        name: _ReleaseInfo(getattr(settings, setting), kind, blobs, cache) for name, (setting, kind) in RELEASES.items()
    }
    taxonomies = {tree: releases[tree].taxonomy for tree in TREES}
    return create_app(
        settings, documents, blobs, sign_in, taxonomies, lambda: [r.describe() for r in releases.values()]
    )


class _ReleaseInfo:
    """A release's manifest and taxonomy, read once; None (and a log line) when unreadable, so
    the panel still shows everything else."""

    def __init__(self, location: str, kind: str, files: ReleaseFiles, cache: Path) -> None:
        self.location, self.kind = location, kind
        only = ("taxonomy.json",) if kind in ("image-classifier", "textcat") else (MANIFEST,)
        self._release = LoadedOnce(
            location, lambda folder: Release.open(folder, kind, only=only), files, cache / kind, only
        )

    def release(self) -> Release | None:
        try:
            return self._release.get()
        except (ModelError, OSError) as error:
            log.warning(
                "model release unreadable for the panel", extra={"location": self.location, "error": str(error)}
            )
            return None

    def taxonomy(self) -> Any:
        from catalogist.models.taxonomy import Taxonomy

        release = self.release()
        return Taxonomy.load(release.path("taxonomy.json")) if release else None

    def describe(self) -> dict[str, Any]:
        release = self.release()
        if release is None:
            return {"kind": self.kind, "version": "unreadable", "location": self.location, "figures": ""}
        metrics = release.manifest.get("metrics") or {}
        shown = {k: v for k, v in metrics.items() if isinstance(v, int | float)}
        figures = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in list(shown.items())[:6])
        return {"kind": self.kind, "version": release.version, "location": self.location, "figures": figures}


def document_store(settings: Settings) -> FirestoreDocuments:
    """Firestore, or the local emulator with the writes it cannot isolate made safe by claims."""
    return documents_for(settings.project, settings.firestore_emulator_host, settings.firestore_database)


def documents_for(project: str, emulator_host: str, database: str = "(default)") -> FirestoreDocuments:
    store = EmulatorDocuments if emulator_host else FirestoreDocuments
    return store(project, database)


def check_local_releases(settings: Settings) -> None:
    """A release given as a local folder must be one now, at start-up: found missing by the
    first upload, it would fail every upload instead (a gs:// release is fetched on first use)."""
    for name in ("classifier_release", "textcat_release", "price_release"):
        location = getattr(settings, name)
        if location and not location.startswith("gs://") and not (Path(location) / MANIFEST).is_file():
            raise ModelError(
                f"CATALOGIST_{name.upper()} is {location!r}, which holds no model release "
                f"(no {MANIFEST} at {Path(location).resolve()})"
            )


def build(settings: Settings) -> tuple[StorageBlobs, FirestoreDocuments, dict[str, Pipeline]]:
    check_local_releases(settings)
    return_freed_pixels_to_the_system()  # the decode budget bounds what is in use, this what is held
    blobs = StorageBlobs(settings.project)
    documents = document_store(settings)
    cache = Path(settings.model_cache_dir)
    classifiers = LoadedOnce(settings.classifier_release, classifier_opener(settings), blobs, cache)
    price = price_model(settings, blobs, cache)  # files and photo-only products both get prices
    pipelines: dict[str, Pipeline] = {
        "photo": PhotoPipeline(
            blobs,
            documents,
            classifiers,
            settings.max_photo_bytes,
            DecodeBudget(settings.decode_memory_bytes),
            settings.audit_rate,
            price,
        ),
        "vendor_file": FilePipeline(blobs, documents, row_models(settings, blobs, cache, price), settings.audit_rate),
    }
    return blobs, documents, pipelines
