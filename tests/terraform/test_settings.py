"""The environment Terraform sets on each deployed function is the one the code reads.

The names come from the code's own table of settings (`catalogist.settings.SETTINGS`, the only
reader of the environment), and a recording environment checks that `Settings.from_env` really
asks for exactly the function's names, so neither can drift.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

import pytest

from catalogist.errors import SettingsError
from catalogist.settings import PLATFORM_NAMES, SETTINGS, PanelSettings, Settings
from tests.terraform.hcl import Workload, attr, expr, load, workloads

# The entry point that builds the review panel (main.py: PANEL -> wiring.build_panel ->
# PanelSettings.from_env), so it needs the panel's names as well.
PANEL_ENTRY_POINT = "panel"


def names_read() -> set[str]:
    """Every environment variable name the functions read (the function's and the panel's)."""
    return {setting.env for setting in SETTINGS}


def names_required() -> set[str]:
    """The names `Settings.from_env` cannot start without (the models bucket: unless every release
    is named, which a deployment does not do)."""
    return {setting.env for setting in SETTINGS if setting.required and not setting.panel} | {
        "CATALOGIST_MODELS_BUCKET"
    }


def names_the_panel_requires() -> set[str]:
    """The names the panel refuses to start without (the audience, as it signs in through IAP)."""
    return {setting.env for setting in SETTINGS if setting.required and setting.panel} | {"CATALOGIST_IAP_AUDIENCE"}


class RecordingEnvironment(Mapping[str, str]):
    def __init__(self, values: dict[str, str]) -> None:
        self._values = values  # not `values`: that would hide Mapping.values()
        self.asked: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        return self._values[name]

    def get(self, name: str, default: object = None) -> object:  # type: ignore[override]
        self.asked.add(name)
        return self._values.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _minimal_environment() -> dict[str, str]:
    return {name: "x" for name in names_required()}


def test_from_env_reads_exactly_the_table_s_names() -> None:
    recording = RecordingEnvironment(_minimal_environment())
    panel = RecordingEnvironment({})

    Settings.from_env(recording)
    with pytest.raises(SettingsError):
        PanelSettings.from_env(panel)

    assert recording.asked == {s.env for s in SETTINGS if not s.panel}
    assert panel.asked == {s.env for s in SETTINGS if s.panel} | {"GOOGLE_CLOUD_PROJECT"}
    assert names_required() and names_required() < names_read()


@pytest.mark.parametrize("missing", sorted(names_required()))
def test_each_required_name_is_really_required(missing: str) -> None:
    environment = {name: value for name, value in _minimal_environment().items() if name != missing}

    with pytest.raises(SettingsError, match=missing):
        Settings.from_env(environment)


@pytest.mark.parametrize("missing", sorted(names_the_panel_requires()))
def test_each_panel_name_is_really_required_by_the_panel(missing: str) -> None:
    panel = {
        "CATALOGIST_REVIEWERS": "a@example.com",
        "CATALOGIST_PANEL_SECRET": "s",
        "CATALOGIST_IAP_AUDIENCE": "/projects/1/global/backendServices/2",
    }
    assert set(panel) == names_the_panel_requires(), "the panel asks for new names: list them here"
    environment = {**_minimal_environment(), **{k: v for k, v in panel.items() if k != missing}}

    with pytest.raises(SettingsError, match=missing):
        PanelSettings.from_env(environment)


def _deployed() -> dict[str, Workload]:
    return workloads(load())


@pytest.mark.parametrize("entry_point", sorted(_deployed()))
def test_every_name_read_without_a_default_is_set(entry_point: str) -> None:
    workload = _deployed()[entry_point]

    missing = names_required() - workload.names

    assert not missing, f"{entry_point} would fail at start-up: {sorted(missing)} not set in terraform/"


def test_the_panel_gets_the_names_it_requires() -> None:
    panel = _deployed()[PANEL_ENTRY_POINT]

    missing = names_the_panel_requires() - panel.names

    assert not missing, f"the panel would refuse to start: {sorted(missing)} not set in terraform/panel.tf"


@pytest.mark.parametrize("entry_point", sorted(_deployed()))
def test_no_name_is_set_that_the_code_never_reads(entry_point: str) -> None:
    workload = _deployed()[entry_point]

    unread = workload.names - (names_read() - PLATFORM_NAMES)

    assert not unread, f"{entry_point} sets {sorted(unread)}, which no setting reads (or the platform owns)"


@pytest.mark.parametrize("entry_point", sorted(_deployed()))
def test_threads_equal_the_requests_an_instance_is_sent(entry_point: str) -> None:
    workload = _deployed()[entry_point]

    threads = workload.environment.get("THREADS")
    concurrency = expr(attr(workload.service, "max_instance_request_concurrency"))

    # functions-framework starts THREADS gunicorn threads and the classifier keeps THREADS
    # interpreters; Cloud Run sends max_instance_request_concurrency requests at once.
    assert threads is not None, f"{entry_point} does not set THREADS (functions-framework would start 4 per CPU)"
    assert threads == concurrency


def test_the_panel_secret_is_a_secret_not_a_plain_variable() -> None:
    panel = _deployed()[PANEL_ENTRY_POINT]

    secret = panel.secrets.get("CATALOGIST_PANEL_SECRET")

    assert "CATALOGIST_PANEL_SECRET" not in panel.environment
    assert secret is not None
    assert expr(attr(secret, "secret")).startswith("google_secret_manager_secret.")
    assert all("CATALOGIST_PANEL_SECRET" not in w.environment for w in _deployed().values())


def test_the_panel_signs_in_through_iap_with_the_load_balancers_audience() -> None:
    panel = _deployed()[PANEL_ENTRY_POINT]

    assert panel.environment["CATALOGIST_PANEL_AUTH"] == "iap"
    # The audience IAP puts in its assertions for a backend service (panel/auth.py).
    assert re.fullmatch(
        r"/projects/\$\{data\.google_project\.this\.number\}/global/backendServices/"
        r"\$\{google_compute_backend_service\.panel\.generated_id\}",
        panel.environment["CATALOGIST_IAP_AUDIENCE"],
    )
    assert re.sub(r"\s", "", panel.environment["CATALOGIST_REVIEWERS"]) == 'join(",",var.reviewers)'


def test_names_the_platform_sets_are_left_to_it() -> None:
    for workload in _deployed().values():
        assert not (workload.names & PLATFORM_NAMES)
