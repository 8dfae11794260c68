"""Builds, once per instance, what the entry points hand to the core.

Heavy imports (LiteRT, the classifier, LightGBM) happen when the first photo or file needs
them, not at start-up, so cold starts stay short and a file never pays for the image model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from catalogist.adapters.dataflow import DataflowJobs
from catalogist.adapters.firestore import EmulatorDocuments, FirestoreDocuments
from catalogist.adapters.local_jobs import LocalJobs
from catalogist.adapters.storage import StorageBlobs
from catalogist.errors import ModelError
from catalogist.imaging import DecodeBudget, return_freed_pixels_to_the_system
from catalogist.imports.jobs import ImportJobs
from catalogist.imports.pipeline import FilePipeline, RowModels
from catalogist.intake.uploads import Pipeline
from catalogist.models.kinds import CLASSIFIER, KINDS, MANIFEST, PRICE, TEXTCAT, ReleaseKind
from catalogist.models.releases import Lazy, Release, loaded_once
from catalogist.photos.pipeline import PhotoPipeline
from catalogist.ports import JobLauncher, ReleaseFiles
from catalogist.settings import BY_FIELD, PanelSettings, Settings, job_parameters

log = logging.getLogger("catalogist.wiring")


def serial_blas() -> None:
    """One BLAS thread for the row models, which run on the import's one models thread.

    OpenBLAS starts a thread per core, and its idle threads spin: they took the cores the
    import's writer thread needed (and, locally, the emulators). Loaded libraries only, so this
    is called after numpy, SciPy and LightGBM are in.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def opener(kind: ReleaseKind, settings: Settings) -> Callable[[Path], Any]:
    """How the function opens a release of `kind`: the classifier with the instance's threads
    and test-time views; the row models with one BLAS thread, the price model only in the
    store's currency."""

    def open_release(folder: Path) -> Any:
        if kind is CLASSIFIER:
            return kind.open(
                folder, num_threads=settings.model_threads, tta=settings.photo_tta, max_interpreters=settings.threads
            )
        model = kind.open(folder)
        if kind is PRICE and model.currency != settings.currency:
            raise ModelError(
                f"the price release {folder} predicts {model.currency}; the store sells in {settings.currency}"
            )
        serial_blas()
        return model

    return open_release


def models_in_service(settings: Settings, files: ReleaseFiles) -> dict[str, Lazy[Any]]:
    """Each kind's release in service (the location its setting names), loaded on first use."""
    cache = Path(settings.model_cache_dir)
    return {
        kind.name: loaded_once(getattr(settings, kind.setting), opener(kind, settings), files, cache) for kind in KINDS
    }


class RowModelsOnce:
    """The text categorizer and price releases, each loaded on first use."""

    def __init__(self, textcat: Lazy[Any], price: Lazy[Any]) -> None:
        self._textcat = textcat
        self._price = price

    def get(self) -> RowModels:
        return RowModels(self._textcat.get(), self._price.get())


def build_panel(settings: Settings, panel: PanelSettings, blobs: StorageBlobs, documents: FirestoreDocuments) -> Any:
    """The review panel's Flask app, with the sign-in its settings ask for and the taxonomies of
    the releases in service (their manifests and taxonomy.json only: the panel runs no model)."""
    from catalogist.panel.app import create_app
    from catalogist.panel.auth import DevSignIn, IapSignIn, SignIn

    sign_in: SignIn
    if panel.panel_auth == "dev":
        sign_in = DevSignIn(panel.reviewers, panel.panel_secret, panel.on_cloud_run)
    else:
        sign_in = IapSignIn(panel.iap_audience, panel.reviewers)
    releases = releases_in_service(settings, blobs)
    taxonomies = {kind.tree: releases[kind.name].taxonomy for kind in KINDS if kind.tree}
    return create_app(
        settings, panel, documents, blobs, sign_in, taxonomies, lambda: [r.describe() for r in releases.values()]
    )


def releases_in_service(settings: Settings, files: ReleaseFiles) -> dict[str, ReleaseInfo]:
    """Each kind's release as the panel and the commands read it: manifest and taxonomy only."""
    cache = Path(settings.model_cache_dir) / "panel"
    return {kind.name: ReleaseInfo(getattr(settings, kind.setting), kind, files, cache) for kind in KINDS}


class ReleaseInfo:
    """A release's manifest and taxonomy, read once; None (and a log line) when unreadable, so
    the panel still shows everything else."""

    def __init__(self, location: str, kind: ReleaseKind, files: ReleaseFiles, cache: Path) -> None:
        self.location, self.kind = location, kind
        only = ("taxonomy.json",) if kind.tree else (MANIFEST,)
        self._release = loaded_once(
            location, lambda folder: Release.open(folder, kind.manifest_kind, only=only), files, cache / kind.name, only
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
        kind = self.kind.manifest_kind
        release = self.release()
        if release is None:
            return {"kind": kind, "version": "unreadable", "location": self.location, "metrics": {}}
        # the figures as recorded at release; the panel says them in words (panel/words.py)
        return {
            "kind": kind,
            "version": release.version,
            "location": self.location,
            "metrics": release.manifest.get("metrics") or {},
            "target_precision": release.target_precision,
            # what its decisions were measured to keep on photos its thresholds were not set on
            "promise": (release.manifest.get("promise") or {}).get("statement"),
        }


def document_store(settings: Settings) -> FirestoreDocuments:
    """Firestore, or the local emulator with the writes it cannot isolate made safe by claims."""
    store = EmulatorDocuments if settings.firestore_emulator_host else FirestoreDocuments
    return store(settings.project, settings.firestore_database)


def check_local_releases(settings: Settings) -> None:
    """A release given as a local folder must be one now, at start-up: found missing by the
    first upload, it would fail every upload instead (a gs:// release is fetched on first use)."""
    for kind in KINDS:
        location = getattr(settings, kind.setting)
        if location and not location.startswith("gs://") and not (Path(location) / MANIFEST).is_file():
            raise ModelError(
                f"{BY_FIELD[kind.setting].env} is {location!r}, which holds no model release "
                f"(no {MANIFEST} at {Path(location).resolve()})"
            )


def dataflow_environment(settings: Settings) -> dict[str, Any]:
    """An import job's runtime environment on Dataflow (FlexTemplateRuntimeEnvironment): who its
    workers run as, where they stage and keep temporary files, their network and most workers."""
    return {
        "serviceAccountEmail": settings.dataflow_service_account,
        "tempLocation": settings.dataflow_temp_location,
        "stagingLocation": settings.dataflow_staging_location,
        "subnetwork": settings.dataflow_subnetwork,
        "maxWorkers": settings.dataflow_max_workers,
        "additionalUserLabels": {"app": "catalogist", "job": "import"},
    }


def import_jobs(settings: Settings) -> ImportJobs | None:
    """Where big vendor files are imported (`CATALOGIST_IMPORT_JOBS`): Dataflow Flex Template
    jobs, jobs on Beam's local runner, or nowhere but the function."""
    launcher: JobLauncher
    if settings.import_jobs == "dataflow":
        launcher = DataflowJobs(
            settings.project, settings.dataflow_region, settings.import_job_template, dataflow_environment(settings)
        )
    elif settings.import_jobs == "local":
        launcher = LocalJobs(settings.local_job_python, settings.local_job_logs)
    else:
        return None
    return ImportJobs(launcher, settings.big_file_bytes, job_parameters(settings))


def pipelines(settings: Settings, blobs: StorageBlobs, documents: FirestoreDocuments) -> dict[str, Pipeline]:
    """The pipeline of each kind of upload, sharing the instance's models (files and photo-only
    products both get prices from the one price release)."""
    models = models_in_service(settings, blobs)
    return {
        "photo": PhotoPipeline(
            blobs,
            documents,
            models[CLASSIFIER.name],
            settings.max_photo_bytes,
            DecodeBudget(settings.decode_memory_bytes),
            settings.audit_rate,
            models[PRICE.name],
        ),
        "vendor_file": FilePipeline(
            blobs,
            documents,
            RowModelsOnce(models[TEXTCAT.name], models[PRICE.name]),
            settings.audit_rate,
            import_jobs(settings),
        ),
    }


def build(settings: Settings) -> tuple[StorageBlobs, FirestoreDocuments, dict[str, Pipeline]]:
    check_local_releases(settings)
    return_freed_pixels_to_the_system()  # the decode budget bounds what is in use, this what is held
    blobs = StorageBlobs(settings.project)
    documents = document_store(settings)
    return blobs, documents, pipelines(settings, blobs, documents)
