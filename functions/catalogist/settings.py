"""The one place that reads the environment: a frozen `Settings` value built at start-up.

Terraform sets the same variable names on the deployed functions; `catalogist dev up` sets them
for the local stack. A missing required name fails fast and says which one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from catalogist.errors import SettingsError

MIB = 1024 * 1024
Number = TypeVar("Number", int, float)


@dataclass(frozen=True)
class Settings:
    project: str
    models_bucket: str
    # A local folder or gs://bucket/prefix holding the model releases (classifier/, textcat/, …).
    model_location: str
    # The classifier release to serve: a local folder or gs://bucket/path of a release folder.
    # Pointing this at a new release is how a new model goes live; no code changes.
    classifier_release: str = ""
    textcat_release: str = ""
    price_release: str = ""
    # Test-time augmentation for photos: none | flip | flip_crops (see bench/ before changing).
    # Share of automatic decisions sampled into the review queue to measure their precision.
    audit_rate: float = 0.02
    # The store's currency: prices are suggested in it, and a price release in another is refused.
    currency: str = "INR"
    photo_tta: str = "none"
    model_threads: int = 1
    # Cloud Functions can write only under the temporary folder (kept in memory).
    model_cache_dir: str = os.path.join(tempfile.gettempdir(), "catalogist-models")
    max_photo_bytes: int = 25 * MIB
    # Files are streamed, so they may be far larger than photos (a million rows is ~100 MB).
    max_file_bytes: int = 2048 * MIB
    # Older events are acknowledged and logged, not processed (a backlog after an outage).
    max_event_age_seconds: float = 24 * 3600.0
    # Request threads per instance: functions-framework reads the same variable (THREADS) for
    # gunicorn, and the classifier keeps at most this many interpreters (see bench/bench_photos.py).
    threads: int = 4
    # Memory all photos being decoded at once may take; larger photos wait for one another.
    decode_memory_bytes: int = 512 * MIB
    # A claimed upload is another delivery's to take over once its lease runs out unrenewed.
    lease_seconds: float = 60.0
    # Deliveries that fail transiently before the upload ends `failed` (a poison event).
    max_attempts: int = 5
    # How long a duplicate delivery waits for the one doing the work before asking to be redelivered.
    busy_wait_seconds: float = 10.0
    # The vendors allowed to upload, by id (their folders' names): an object in any other folder
    # is refused with the reason. Empty (the local stack): any vendor folder is accepted.
    vendors: frozenset[str] = frozenset()
    # Vendor files above this size are imported by a batch job (`import_jobs`), not in the
    # delivery, which has to answer within the push deadline.
    big_file_bytes: int = 64 * MIB
    # Where big files' import jobs run: "" (none: every file is imported in the function), "local"
    # (the Beam pipeline on the local runner, in a process of its own) or "dataflow" (the Flex
    # Template at `import_job_template`, on Dataflow workers).
    import_jobs: str = ""
    import_job_template: str = ""  # gs://…/import.json, the Flex Template spec
    dataflow_region: str = ""
    dataflow_service_account: str = ""  # the workers' identity
    dataflow_temp_location: str = ""  # gs://…/tmp
    firestore_database: str = "(default)"
    # Set when the store is a local emulator (the client reads the same variable to connect);
    # its transactions do not isolate, so writes are made safe another way (adapters/firestore.py).
    firestore_emulator_host: str = ""
    log_level: str = "INFO"
    # The review panel: who signs in and how (iap deployed, dev on a developer's machine only).
    panel_auth: str = "iap"
    reviewers: frozenset[str] = frozenset()
    iap_audience: str = ""
    panel_secret: str = ""  # signs the dev sign-in cookie and the CSRF tokens
    on_cloud_run: bool = False  # K_SERVICE is set: the dev sign-in refuses to start
    panel_page_size: int = 25

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        models_bucket = _required(env, "CATALOGIST_MODELS_BUCKET")
        model_location = (env.get("CATALOGIST_MODEL_LOCATION") or f"gs://{models_bucket}").rstrip("/")
        return cls(
            project=_required(env, "GOOGLE_CLOUD_PROJECT"),
            models_bucket=models_bucket,
            model_location=model_location,
            classifier_release=env.get("CATALOGIST_CLASSIFIER_RELEASE") or f"{model_location}/classifier",
            textcat_release=env.get("CATALOGIST_TEXTCAT_RELEASE") or f"{model_location}/textcat",
            price_release=env.get("CATALOGIST_PRICE_RELEASE") or f"{model_location}/price",
            audit_rate=_share(env, "CATALOGIST_AUDIT_RATE", cls.audit_rate),
            currency=(env.get("CATALOGIST_CURRENCY") or cls.currency).strip().upper(),
            photo_tta=_choice(env, "CATALOGIST_PHOTO_TTA", "none", ("none", "flip", "flip_crops")),
            model_threads=_positive_int(env, "CATALOGIST_MODEL_THREADS", 1),
            model_cache_dir=env.get("CATALOGIST_MODEL_CACHE_DIR") or cls.model_cache_dir,
            max_photo_bytes=_positive_int(env, "CATALOGIST_MAX_PHOTO_BYTES", 25 * MIB),
            max_file_bytes=_positive_int(env, "CATALOGIST_MAX_FILE_BYTES", 2048 * MIB),
            max_event_age_seconds=_positive_float(env, "CATALOGIST_MAX_EVENT_AGE_SECONDS", 24 * 3600.0),
            threads=_positive_int(env, "THREADS", cls.threads),
            decode_memory_bytes=_positive_int(env, "CATALOGIST_DECODE_MEMORY_MB", cls.decode_memory_bytes // MIB) * MIB,
            lease_seconds=_positive_float(env, "CATALOGIST_LEASE_SECONDS", cls.lease_seconds),
            max_attempts=_positive_int(env, "CATALOGIST_MAX_ATTEMPTS", cls.max_attempts),
            busy_wait_seconds=_positive_float(env, "CATALOGIST_BUSY_WAIT_SECONDS", cls.busy_wait_seconds),
            vendors=frozenset(v.strip() for v in env.get("CATALOGIST_VENDORS", "").split(",") if v.strip()),
            big_file_bytes=_positive_int(env, "CATALOGIST_BIG_FILE_BYTES", cls.big_file_bytes),
            import_jobs=_choice(env, "CATALOGIST_IMPORT_JOBS", "", ("", "local", "dataflow")),
            import_job_template=env.get("CATALOGIST_IMPORT_JOB_TEMPLATE", "").strip(),
            dataflow_region=env.get("CATALOGIST_DATAFLOW_REGION", "").strip(),
            dataflow_service_account=env.get("CATALOGIST_DATAFLOW_SERVICE_ACCOUNT", "").strip(),
            dataflow_temp_location=env.get("CATALOGIST_DATAFLOW_TEMP_LOCATION", "").strip(),
            firestore_database=env.get("CATALOGIST_FIRESTORE_DATABASE") or "(default)",
            firestore_emulator_host=env.get("FIRESTORE_EMULATOR_HOST", "").strip(),
            log_level=(env.get("CATALOGIST_LOG_LEVEL") or "INFO").upper(),
            panel_auth=_choice(env, "CATALOGIST_PANEL_AUTH", "iap", ("iap", "dev")),
            reviewers=frozenset(
                email.strip().lower() for email in env.get("CATALOGIST_REVIEWERS", "").split(",") if email.strip()
            ),
            iap_audience=env.get("CATALOGIST_IAP_AUDIENCE", "").strip(),
            panel_secret=env.get("CATALOGIST_PANEL_SECRET", "").strip(),
            on_cloud_run=bool(env.get("K_SERVICE", "").strip()),
            panel_page_size=_positive_int(env, "CATALOGIST_PANEL_PAGE_SIZE", cls.panel_page_size),
        )

    def require_panel(self) -> None:
        """The panel's own settings, checked when the panel is built (`on_upload` needs none)."""
        if not self.reviewers:
            raise SettingsError("missing setting CATALOGIST_REVIEWERS: the reviewers' emails, comma-separated")
        if not self.panel_secret:
            raise SettingsError("missing setting CATALOGIST_PANEL_SECRET: a random secret for CSRF tokens")
        if self.panel_auth == "iap" and not self.iap_audience:
            raise SettingsError("missing setting CATALOGIST_IAP_AUDIENCE: the audience of the IAP assertions")


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"missing setting {name}: set the environment variable {name}")
    return value


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    return _positive(env, name, default, int, "a whole number")


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    return _positive(env, name, default, float, "a number")


def _positive(env: Mapping[str, str], name: str, default: Number, kind: Callable[[str], Number], what: str) -> Number:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"setting {name} must be {what}, got {raw!r}") from None
    if not value > 0:
        raise SettingsError(f"setting {name} must be positive, got {value}")
    return value


def _share(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"setting {name} must be a share between 0 and 1, got {raw!r}") from None
    if not 0 <= value <= 1:
        raise SettingsError(f"setting {name} must be a share between 0 and 1, got {value}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.get(name, "").strip() or default
    if value not in choices:
        raise SettingsError(f"setting {name} must be one of {', '.join(choices)}, got {value!r}")
    return value
