"""The environment Terraform sets on each deployed function is the one the code reads.

The names come from the code itself: `ast` reads `Settings.from_env` and `Settings.require_panel`
in functions/catalogist/settings.py (the only reader of the environment), and a recording
environment checks that reading against what `from_env` really asks for, so neither can drift.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping

import pytest

from catalogist.errors import SettingsError
from catalogist.settings import Settings
from tests.terraform.hcl import REPO, Workload, attr, expr, load, workloads

SETTINGS_PY = REPO / "functions" / "catalogist" / "settings.py"
ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]+")
# Set by Cloud Run on every instance; a deployment that set it would make the dev sign-in think
# it is (or is not) on Cloud Run, so Terraform must leave it alone.
PLATFORM_NAMES = {"K_SERVICE"}
# The entry point that builds the review panel (main.py: PANEL -> wiring.build_panel ->
# Settings.require_panel), so it needs the panel's names as well.
PANEL_ENTRY_POINT = "panel"


def _method(name: str) -> ast.FunctionDef:
    tree = ast.parse(SETTINGS_PY.read_text())
    settings = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings")
    return next(n for n in settings.body if isinstance(n, ast.FunctionDef) and n.name == name)


def _name_arguments(function: ast.FunctionDef) -> Iterator[tuple[ast.Call, str]]:
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            for argument in node.args:
                name = argument.value if isinstance(argument, ast.Constant) else None
                if isinstance(name, str) and ENV_NAME.fullmatch(name):
                    yield node, name


def names_read() -> set[str]:
    """Every environment variable name `from_env` passes to a reader (env.get, _required, …)."""
    return {name for _, name in _name_arguments(_method("from_env"))}


def names_required() -> set[str]:
    """The names `from_env` reads with `_required`: no default, start-up fails without them."""
    return {
        name
        for call, name in _name_arguments(_method("from_env"))
        if isinstance(call.func, ast.Name) and call.func.id == "_required"
    }


def names_the_panel_requires() -> set[str]:
    """The names `require_panel` refuses to start the panel without ("missing setting NAME")."""
    found = set()
    for node in ast.walk(_method("require_panel")):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.update(re.findall(r"missing setting ([A-Z][A-Z0-9_]+)", node.value))
    return found


class RecordingEnvironment(Mapping[str, str]):
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.asked: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        return self.values[name]

    def get(self, name: str, default: object = None) -> object:  # type: ignore[override]
        self.asked.add(name)
        return self.values.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def _minimal_environment() -> dict[str, str]:
    return {name: "x" for name in names_required()}


def test_the_reading_of_settings_py_matches_what_from_env_asks_for() -> None:
    recording = RecordingEnvironment(_minimal_environment())

    Settings.from_env(recording)

    assert recording.asked == names_read()
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
        Settings.from_env(environment).require_panel()


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

    assert not unread, f"{entry_point} sets {sorted(unread)}, which settings.py never reads (or the platform owns)"


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
