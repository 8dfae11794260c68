"""The one place that reads the environment: a frozen `Settings` value built at start-up.

Terraform sets the same variable names on the deployed functions; `catalogist dev up` sets them
for the local stack. A missing required name fails fast and says which one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from catalogist.errors import SettingsError

MIB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    project: str
    uploads_bucket: str
    models_bucket: str
    # A local folder or gs://bucket/prefix holding the model releases (classifier/, textcat/, …).
    model_location: str
    max_object_bytes: int = 50 * MIB
    max_image_pixels: int = 60_000_000
    # Older events are acknowledged and logged, not processed (a backlog after an outage).
    max_event_age_seconds: float = 24 * 3600.0
    firestore_database: str = "(default)"
    # Set only against emulators; the Google clients read the same names themselves.
    storage_emulator_host: str | None = None
    firestore_emulator_host: str | None = None
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        models_bucket = _required(env, "CATALOGIST_MODELS_BUCKET")
        return cls(
            project=_required(env, "GOOGLE_CLOUD_PROJECT"),
            uploads_bucket=_required(env, "CATALOGIST_UPLOADS_BUCKET"),
            models_bucket=models_bucket,
            model_location=env.get("CATALOGIST_MODEL_LOCATION") or f"gs://{models_bucket}",
            max_object_bytes=_positive_int(env, "CATALOGIST_MAX_OBJECT_BYTES", 50 * MIB),
            max_image_pixels=_positive_int(env, "CATALOGIST_MAX_IMAGE_PIXELS", 60_000_000),
            max_event_age_seconds=_positive_float(env, "CATALOGIST_MAX_EVENT_AGE_SECONDS", 24 * 3600.0),
            firestore_database=env.get("CATALOGIST_FIRESTORE_DATABASE") or "(default)",
            storage_emulator_host=env.get("STORAGE_EMULATOR_HOST") or None,
            firestore_emulator_host=env.get("FIRESTORE_EMULATOR_HOST") or None,
            log_level=(env.get("CATALOGIST_LOG_LEVEL") or "INFO").upper(),
        )


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"missing setting {name}: set the environment variable {name}")
    return value


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"setting {name} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"setting {name} must be positive, got {value}")
    return value


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"setting {name} must be a number, got {raw!r}") from None
    if not value > 0:
        raise SettingsError(f"setting {name} must be positive, got {value}")
    return value
