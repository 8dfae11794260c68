"""The one place that reads the environment: every setting declared once in a table (its field,
environment name, default, how its text is read, what it is for), and the frozen `Settings`
and `PanelSettings` values built from it at start-up.

Terraform sets the same names on the deployed functions (tests/terraform checks them against
this table); `catalogist dev up` sets them for the local stack; the CLIs' flags that stand for
a setting are made from its row (`add_setting_flags`), with the same variable as their twin;
docs/settings.md is this table in words (`python -m catalogist.settings`). A missing required
name fails fast and says which one.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from catalogist.errors import SettingsError
from catalogist.flags import add_flag

MIB = 1024 * 1024
Reader = Callable[[str, str], Any]  # (setting's environment name, its text) -> value, or SettingsError


@dataclass(frozen=True)
class Setting:
    field: str
    env: str
    help: str
    default: Any = ""  # a value, or a function of the settings read before it (derived defaults)
    read: Reader = lambda _, text: text
    required: bool = False  # start-up fails without it
    panel: bool = False  # the review panel's own (`PanelSettings`)


def text(_: str, raw: str) -> str:
    return raw


def upper(_: str, raw: str) -> str:
    return raw.upper()


def positive(kind: Callable[[str], Any], what: str) -> Reader:
    def read(name: str, raw: str) -> Any:
        try:
            value = kind(raw)
        except ValueError:
            raise SettingsError(f"setting {name} must be {what}, got {raw!r}") from None
        if not value > 0:
            raise SettingsError(f"setting {name} must be positive, got {value}")
        return value

    return read


def share(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"setting {name} must be a share between 0 and 1, got {raw!r}") from None
    if not 0 <= value <= 1:
        raise SettingsError(f"setting {name} must be a share between 0 and 1, got {value}")
    return value


def choice(*choices: str) -> Reader:
    def read(name: str, raw: str) -> str:
        if raw not in choices:
            raise SettingsError(f"setting {name} must be one of {', '.join(choices)}, got {raw!r}")
        return raw

    return read


def comma_set(lower: bool = False) -> Reader:
    def read(_: str, raw: str) -> frozenset[str]:
        return frozenset((item.strip().lower() if lower else item.strip()) for item in raw.split(",") if item.strip())

    return read


def megabytes(name: str, raw: str) -> int:
    return int(positive(int, "a whole number of megabytes")(name, raw)) * MIB


def present(_: str, raw: str) -> bool:
    return bool(raw)


def _in_location(values: Mapping[str, Any], kind: str) -> str:
    return f"{values['model_location']}/{kind}" if values["model_location"] else ""


whole = positive(int, "a whole number")
number = positive(float, "a number")


SETTINGS: tuple[Setting, ...] = (
    Setting("project", "GOOGLE_CLOUD_PROJECT", "the Google Cloud project", required=True),
    Setting(
        "models_bucket",
        "CATALOGIST_MODELS_BUCKET",
        "the bucket model releases are published to (needed unless every release below is named)",
    ),
    Setting(
        "model_location",
        "CATALOGIST_MODEL_LOCATION",
        "a folder or gs://bucket/prefix holding the releases (classifier/, textcat/, price/)",
        default=lambda s: f"gs://{s['models_bucket']}" if s["models_bucket"] else "",
        read=lambda _, raw: raw.rstrip("/"),
    ),
    # Pointing one of these at a new release is how a new model goes live; no code changes.
    Setting(
        "classifier_release",
        "CATALOGIST_CLASSIFIER_RELEASE",
        "the photo classifier release served: a folder or gs:// path",
        default=lambda s: _in_location(s, "classifier"),
    ),
    Setting(
        "textcat_release",
        "CATALOGIST_TEXTCAT_RELEASE",
        "the text categorizer release served: a folder or gs:// path",
        default=lambda s: _in_location(s, "textcat"),
    ),
    Setting(
        "price_release",
        "CATALOGIST_PRICE_RELEASE",
        "the price model release served: a folder or gs:// path",
        default=lambda s: _in_location(s, "price"),
    ),
    Setting(
        "audit_rate",
        "CATALOGIST_AUDIT_RATE",
        "share of automatic decisions sampled into the review queue to measure their precision",
        0.02,
        share,
    ),
    Setting(
        "currency",
        "CATALOGIST_CURRENCY",
        "the store's currency: prices are suggested in it, a price release in another is refused",
        "INR",
        upper,
    ),
    Setting(
        "photo_tta",
        "CATALOGIST_PHOTO_TTA",
        "test-time views of photos: release (the views the release's thresholds were calibrated on), "
        "or none, flip, flip_crops to override it (the thresholds then no longer fit)",
        "release",
        choice("release", "none", "flip", "flip_crops"),
    ),
    Setting("model_threads", "CATALOGIST_MODEL_THREADS", "threads of each LiteRT interpreter", 1, whole),
    Setting(
        "model_cache_dir",
        "CATALOGIST_MODEL_CACHE_DIR",
        "where gs:// releases are downloaded (Cloud Functions can write only under the temporary folder)",
        os.path.join(tempfile.gettempdir(), "catalogist-models"),
    ),
    Setting("max_photo_bytes", "CATALOGIST_MAX_PHOTO_BYTES", "largest photo accepted, in bytes", 25 * MIB, whole),
    Setting(
        "max_file_bytes",
        "CATALOGIST_MAX_FILE_BYTES",
        "largest vendor file accepted, in bytes (files are streamed: a million rows is ~100 MB)",
        2048 * MIB,
        whole,
    ),
    Setting(
        "max_event_age_seconds",
        "CATALOGIST_MAX_EVENT_AGE_SECONDS",
        "older events are acknowledged and logged, not processed (a backlog after an outage)",
        24 * 3600.0,
        number,
    ),
    Setting(
        "threads",
        "THREADS",
        "request threads per instance (functions-framework reads the same variable); the classifier keeps "
        "at most this many interpreters",
        4,
        whole,
    ),
    Setting(
        "decode_memory_bytes",
        "CATALOGIST_DECODE_MEMORY_MB",
        "megabytes all photos being decoded at once may take; larger photos wait for one another",
        512 * MIB,
        megabytes,
    ),
    Setting(
        "lease_seconds",
        "CATALOGIST_LEASE_SECONDS",
        "a claimed upload is another delivery's to take over once its lease runs out unrenewed",
        60.0,
        number,
    ),
    Setting(
        "max_attempts",
        "CATALOGIST_MAX_ATTEMPTS",
        "deliveries that fail transiently before the upload ends failed (a poison event)",
        5,
        whole,
    ),
    Setting(
        "busy_wait_seconds",
        "CATALOGIST_BUSY_WAIT_SECONDS",
        "how long a duplicate delivery waits for the one doing the work before asking to be redelivered",
        10.0,
        number,
    ),
    Setting(
        "vendors",
        "CATALOGIST_VENDORS",
        "the vendor ids allowed to upload (their folders), comma-separated; empty: any vendor folder",
        frozenset(),
        comma_set(),
    ),
    Setting(
        "big_file_bytes",
        "CATALOGIST_BIG_FILE_BYTES",
        "vendor files above this size are imported by a batch job, not in the delivery (32 MiB: what the "
        "function imports within its 540 s at the measured ~80 KB/s)",
        32 * MIB,
        whole,
    ),
    Setting(
        "import_jobs",
        "CATALOGIST_IMPORT_JOBS",
        'where big files\' import jobs run: "" (none: every file in the function), local or dataflow',
        "",
        choice("", "local", "dataflow"),
    ),
    Setting("import_job_template", "CATALOGIST_IMPORT_JOB_TEMPLATE", "gs://…/import.json, the Flex Template spec"),
    Setting("dataflow_region", "CATALOGIST_DATAFLOW_REGION", "the region Dataflow import jobs run in"),
    Setting("dataflow_service_account", "CATALOGIST_DATAFLOW_SERVICE_ACCOUNT", "the Dataflow workers' service account"),
    Setting("dataflow_temp_location", "CATALOGIST_DATAFLOW_TEMP_LOCATION", "gs://…/tmp for Dataflow jobs"),
    Setting(
        "dataflow_staging_location",
        "CATALOGIST_DATAFLOW_STAGING_LOCATION",
        "gs://…/staging, where Dataflow jobs stage their files",
    ),
    Setting(
        "dataflow_subnetwork",
        "CATALOGIST_DATAFLOW_SUBNETWORK",
        "the subnetwork Dataflow workers run in (regions/REGION/subnetworks/NAME); empty: the default network",
    ),
    Setting(
        "dataflow_max_workers",
        "CATALOGIST_DATAFLOW_MAX_WORKERS",
        "most workers an import job scales to (one reads the file; the others categorize and write its pages)",
        8,
        whole,
    ),
    Setting(
        "local_job_python",
        "CATALOGIST_LOCAL_JOB_PYTHON",
        "with CATALOGIST_IMPORT_JOBS=local: the Python of the batch environment (batch/.venv) that runs import "
        "jobs on Beam's local runner",
    ),
    Setting(
        "local_job_logs",
        "CATALOGIST_LOCAL_JOB_LOGS",
        "with CATALOGIST_IMPORT_JOBS=local: the folder of the local import jobs' logs",
        os.path.join(tempfile.gettempdir(), "catalogist-jobs"),
    ),
    Setting("firestore_database", "CATALOGIST_FIRESTORE_DATABASE", "the Firestore database", "(default)", read=text),
    Setting(
        "firestore_emulator_host",
        "FIRESTORE_EMULATOR_HOST",
        "host:port of a local Firestore emulator (the client reads it too); writes it cannot isolate are made "
        "safe another way",
    ),
    Setting("log_level", "CATALOGIST_LOG_LEVEL", "DEBUG, INFO, WARNING or ERROR", "INFO", upper),
    # The review panel's own; checked when the panel is built (`on_upload` needs none of them).
    Setting(
        "panel_auth",
        "CATALOGIST_PANEL_AUTH",
        "how reviewers sign in: iap (deployed) or dev (a developer's machine only)",
        "iap",
        choice("iap", "dev"),
        panel=True,
    ),
    Setting(
        "reviewers",
        "CATALOGIST_REVIEWERS",
        "the reviewers' emails, comma-separated",
        frozenset(),
        comma_set(lower=True),
        required=True,
        panel=True,
    ),
    Setting("iap_audience", "CATALOGIST_IAP_AUDIENCE", "the audience of the IAP assertions", panel=True),
    Setting(
        "panel_secret",
        "CATALOGIST_PANEL_SECRET",
        "a random secret that signs the sign-in and session cookies and the CSRF tokens",
        required=True,
        panel=True,
    ),
    Setting(
        "on_cloud_run",
        "K_SERVICE",
        "set by Cloud Run itself: the dev sign-in refuses to start there",
        False,
        present,
        panel=True,
    ),
    Setting(
        "panel_page_size", "CATALOGIST_PANEL_PAGE_SIZE", "cards the queue fetches at a time", 25, whole, panel=True
    ),
)
BY_FIELD = {setting.field: setting for setting in SETTINGS}
# Set on the platform's side, never by a deployment (tests/terraform).
PLATFORM_NAMES = frozenset({"K_SERVICE"})


def _default(name: str) -> Any:
    default = BY_FIELD[name].default
    return None if callable(default) else default


def _values(environ: Mapping[str, str] | None, panel: bool) -> dict[str, Any]:
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.panel != panel and not (panel and setting.field == "project"):
            continue
        raw = str(env.get(setting.env, "") or "").strip()
        if raw:
            values[setting.field] = setting.read(setting.env, raw)
        elif setting.required and not panel:
            raise SettingsError(f"missing setting {setting.env}: set the environment variable {setting.env}")
        elif callable(setting.default):
            values[setting.field] = setting.default(values)
        else:
            values[setting.field] = setting.default
    return values


@dataclass(frozen=True)
class Settings:
    """What the functions read at start-up. Defaults live in `SETTINGS`, stated once."""

    project: str
    models_bucket: str = ""
    model_location: str = ""
    classifier_release: str = ""
    textcat_release: str = ""
    price_release: str = ""
    audit_rate: float = _default("audit_rate")
    currency: str = _default("currency")
    photo_tta: str = _default("photo_tta")
    model_threads: int = _default("model_threads")
    model_cache_dir: str = _default("model_cache_dir")
    max_photo_bytes: int = _default("max_photo_bytes")
    max_file_bytes: int = _default("max_file_bytes")
    max_event_age_seconds: float = _default("max_event_age_seconds")
    threads: int = _default("threads")
    decode_memory_bytes: int = _default("decode_memory_bytes")
    lease_seconds: float = _default("lease_seconds")
    max_attempts: int = _default("max_attempts")
    busy_wait_seconds: float = _default("busy_wait_seconds")
    vendors: frozenset[str] = _default("vendors")
    big_file_bytes: int = _default("big_file_bytes")
    import_jobs: str = _default("import_jobs")
    import_job_template: str = _default("import_job_template")
    dataflow_region: str = _default("dataflow_region")
    dataflow_service_account: str = _default("dataflow_service_account")
    dataflow_temp_location: str = _default("dataflow_temp_location")
    dataflow_staging_location: str = _default("dataflow_staging_location")
    dataflow_subnetwork: str = _default("dataflow_subnetwork")
    dataflow_max_workers: int = _default("dataflow_max_workers")
    local_job_python: str = _default("local_job_python")
    local_job_logs: str = _default("local_job_logs")
    firestore_database: str = _default("firestore_database")
    firestore_emulator_host: str = _default("firestore_emulator_host")
    log_level: str = _default("log_level")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        settings = cls(**_values(environ, panel=False))
        if not all((settings.classifier_release, settings.textcat_release, settings.price_release)):
            raise SettingsError(
                "missing setting CATALOGIST_MODELS_BUCKET: the bucket model releases are published to (or "
                "CATALOGIST_MODEL_LOCATION, or each of CATALOGIST_CLASSIFIER_RELEASE, _TEXTCAT_RELEASE, _PRICE_RELEASE)"
            )
        needed = {
            "dataflow": (
                "import_job_template",
                "dataflow_region",
                "dataflow_temp_location",
                "dataflow_staging_location",
            ),
            "local": ("local_job_python",),
        }
        for name in needed.get(settings.import_jobs, ()):
            if not getattr(settings, name):
                env = BY_FIELD[name].env
                raise SettingsError(f"missing setting {env}: CATALOGIST_IMPORT_JOBS={settings.import_jobs} needs it")
        return settings


# What a batch job runs with of the function's settings (an import job's parameters, the settings
# a re-scoring run passes its workers): the store, the releases, and the rules decisions follow.
JOB_FIELDS = (
    "project",
    "firestore_database",
    "firestore_emulator_host",
    "classifier_release",
    "textcat_release",
    "price_release",
    "currency",
    "audit_rate",
    "photo_tta",
    "model_threads",
    "max_photo_bytes",
    "max_attempts",
    "lease_seconds",
    "log_level",
)


def job_parameters(settings: Settings) -> dict[str, str]:
    """`JOB_FIELDS` of `settings` as text, by field name (a Flex Template's parameters)."""
    return {name: str(getattr(settings, name)) for name in JOB_FIELDS}


def from_job_parameters(parameters: Mapping[str, str]) -> Settings:
    """The settings a job was given (`job_parameters`), read as the function reads its
    environment: the same checks, the same defaults for what was not given."""
    unknown = set(parameters) - set(JOB_FIELDS)
    if unknown:
        raise SettingsError(f"not a job setting: {', '.join(sorted(unknown))} (one of {', '.join(JOB_FIELDS)})")
    return Settings.from_env({BY_FIELD[name].env: value for name, value in parameters.items()})


@dataclass(frozen=True)
class PanelSettings:
    """The review panel's own settings (`panel=True` rows), read when the panel is built."""

    project: str = ""
    panel_auth: str = _default("panel_auth")
    reviewers: frozenset[str] = _default("reviewers")
    iap_audience: str = _default("iap_audience")
    panel_secret: str = _default("panel_secret")
    on_cloud_run: bool = _default("on_cloud_run")
    panel_page_size: int = _default("panel_page_size")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PanelSettings:
        panel = cls(**_values(environ, panel=True))
        for setting in SETTINGS:
            if setting.panel and setting.required and not getattr(panel, setting.field):
                raise SettingsError(f"missing setting {setting.env}: {setting.help}")
        if panel.panel_auth == "iap" and not panel.iap_audience:
            raise SettingsError("missing setting CATALOGIST_IAP_AUDIENCE: the audience of the IAP assertions")
        return panel


def add_setting_flags(parser: argparse.ArgumentParser, *names: str, **defaults: Any) -> None:
    """A flag for each named setting (`--textcat-release` for textcat_release), its twin the
    setting's own variable; `defaults` replace the table's where a command has a better one."""
    for name in names:
        setting = BY_FIELD[name]
        default = defaults.get(name, None if callable(setting.default) else setting.default)
        kind = type(default) if isinstance(default, int | float) and not isinstance(default, bool) else str
        add_flag(parser, "--" + name.replace("_", "-"), setting.env, setting.help, type=kind, default=default)


def from_flags(args: argparse.Namespace, *names: str, environ: Mapping[str, str] | None = None) -> Settings:
    """The settings a command runs with: the environment, with the command's setting flags
    (`add_setting_flags`) in place of their variables where given."""
    env = dict(os.environ if environ is None else environ)
    for name in names:
        value = getattr(args, name, None)
        if value not in (None, ""):
            env[BY_FIELD[name].env] = ",".join(sorted(value)) if isinstance(value, frozenset) else str(value)
    return Settings.from_env(env)


def markdown() -> str:
    """The settings as docs/settings.md shows them."""
    lines = [
        "# Settings",
        "",
        "Every setting the functions read, generated from `functions/catalogist/settings.py`",
        "(`python -m catalogist.settings > docs/settings.md`). Terraform sets them on the deployed",
        "functions; `catalogist dev up` on the local stack.",
        "",
        "| variable | what it is | default |",
        "|---|---|---|",
    ]
    for setting in SETTINGS:
        default = setting.default
        if callable(default):
            shown = "derived (see what it is)"
        elif setting.required:
            shown = "required"
        elif isinstance(default, frozenset):
            shown = "empty"
        elif setting.field.endswith("_bytes") and isinstance(default, int):
            shown = f"{default // MIB} MiB" if setting.read is not megabytes else str(default // MIB)
        else:
            shown = f"`{default}`" if default != "" else "empty"
        where = " (panel)" if setting.panel else ""
        lines.append(f"| `{setting.env}` | {setting.help}{where} | {shown} |")
    return "\n".join(lines) + "\n"


def field_names(value: type) -> set[str]:
    return {f.name for f in fields(value)}


if __name__ == "__main__":
    sys.stdout.write(markdown())
