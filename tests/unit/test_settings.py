import argparse

import pytest

from catalogist.errors import SettingsError
from catalogist.settings import MIB, SETTINGS, PanelSettings, Settings, add_setting_flags, field_names, markdown
from tests.support import REPO

REQUIRED = {
    "GOOGLE_CLOUD_PROJECT": "shop-prod",
    "CATALOGIST_MODELS_BUCKET": "shop-models",
}


def test_defaults_fill_everything_optional():
    settings = Settings.from_env(REQUIRED)
    assert settings.project == "shop-prod"
    assert settings.model_location == "gs://shop-models"
    assert settings.classifier_release == "gs://shop-models/classifier"
    assert settings.photo_tta == "release"
    assert settings.max_photo_bytes == 25 * MIB
    assert settings.max_file_bytes == 2048 * MIB
    assert (settings.threads, settings.max_attempts, settings.currency) == (4, 5, "INR")


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_a_missing_required_name_fails_fast_and_names_it(missing):
    environ = {k: v for k, v in REQUIRED.items() if k != missing}
    with pytest.raises(SettingsError, match=missing):
        Settings.from_env(environ)


def test_limits_are_read():
    settings = Settings.from_env(
        {
            **REQUIRED,
            "CATALOGIST_MAX_PHOTO_BYTES": "1024",
            "CATALOGIST_MAX_EVENT_AGE_SECONDS": "90.5",
            "CATALOGIST_MODEL_LOCATION": "/srv/models",
            "THREADS": "8",
            "CATALOGIST_DECODE_MEMORY_MB": "256",
            "CATALOGIST_CURRENCY": "eur",
        }
    )
    assert settings.max_photo_bytes == 1024
    assert settings.max_event_age_seconds == 90.5
    assert settings.model_location == "/srv/models"
    assert (settings.threads, settings.decode_memory_bytes, settings.currency) == (8, 256 * MIB, "EUR")


@pytest.mark.parametrize("raw", ["lots", "-5", "0"])
def test_a_malformed_limit_is_refused_with_its_value(raw):
    with pytest.raises(SettingsError, match="CATALOGIST_MAX_FILE_BYTES"):
        Settings.from_env({**REQUIRED, "CATALOGIST_MAX_FILE_BYTES": raw})


def test_a_release_is_chosen_by_configuration():
    settings = Settings.from_env({**REQUIRED, "CATALOGIST_CLASSIFIER_RELEASE": "gs://shop-models/classifier/v7"})
    assert settings.classifier_release == "gs://shop-models/classifier/v7"


def test_an_unknown_tta_mode_is_refused():
    with pytest.raises(SettingsError, match="CATALOGIST_PHOTO_TTA must be one of release, none, flip, flip_crops"):
        Settings.from_env({**REQUIRED, "CATALOGIST_PHOTO_TTA": "all"})


def test_every_setting_is_a_field_of_its_value_and_every_field_a_setting():
    assert field_names(Settings) == {s.field for s in SETTINGS if not s.panel}
    assert field_names(PanelSettings) == {s.field for s in SETTINGS if s.panel} | {"project"}
    assert len({s.env for s in SETTINGS}) == len(SETTINGS), "one variable per setting"


def test_the_panel_needs_its_reviewers_secret_and_audience():
    with pytest.raises(SettingsError, match="CATALOGIST_REVIEWERS"):
        PanelSettings.from_env({"CATALOGIST_PANEL_SECRET": "s"})

    panel = PanelSettings.from_env(
        {
            "CATALOGIST_REVIEWERS": "Ana@Shop.example, bo@shop.example",
            "CATALOGIST_PANEL_SECRET": "s",
            "CATALOGIST_PANEL_AUTH": "dev",
        }
    )
    assert (panel.reviewers, panel.panel_auth, panel.on_cloud_run) == (
        frozenset({"ana@shop.example", "bo@shop.example"}),
        "dev",
        False,
    )


def test_dataflow_import_jobs_need_their_template_region_and_temp_location():
    with pytest.raises(SettingsError, match="CATALOGIST_IMPORT_JOB_TEMPLATE"):
        Settings.from_env({**REQUIRED, "CATALOGIST_IMPORT_JOBS": "dataflow"})


def test_local_import_jobs_need_the_batch_environment_s_python():
    with pytest.raises(SettingsError, match="CATALOGIST_LOCAL_JOB_PYTHON"):
        Settings.from_env({**REQUIRED, "CATALOGIST_IMPORT_JOBS": "local"})

    local = Settings.from_env(
        {**REQUIRED, "CATALOGIST_IMPORT_JOBS": "local", "CATALOGIST_LOCAL_JOB_PYTHON": "batch/.venv/bin/python"}
    )
    assert (local.import_jobs, local.dataflow_max_workers) == ("local", 8)


def test_a_job_is_given_the_function_s_settings_and_reads_them_back_the_same():
    from catalogist.settings import JOB_FIELDS, from_job_parameters, job_parameters

    settings = Settings.from_env({**REQUIRED, "CATALOGIST_CURRENCY": "eur", "CATALOGIST_MAX_ATTEMPTS": "3"})

    again = from_job_parameters(job_parameters(settings))

    assert {name: getattr(again, name) for name in JOB_FIELDS} == {name: getattr(settings, name) for name in JOB_FIELDS}
    assert again.textcat_release == "gs://shop-models/textcat" and again.max_attempts == 3
    with pytest.raises(SettingsError, match="not a job setting: panel_secret"):
        from_job_parameters({**job_parameters(settings), "panel_secret": "x"})


def test_a_setting_s_flag_has_the_setting_s_variable_as_its_twin(monkeypatch):
    monkeypatch.setenv("CATALOGIST_TEXTCAT_RELEASE", "gs://shop-models/textcat/v3")
    parser = argparse.ArgumentParser()

    add_setting_flags(parser, "textcat_release", "max_attempts")

    args = parser.parse_args([])
    assert (args.textcat_release, args.max_attempts) == ("gs://shop-models/textcat/v3", 5)
    assert "CATALOGIST_TEXTCAT_RELEASE" in parser.format_help()


def test_docs_list_every_setting_as_the_table_says():
    assert (REPO / "docs" / "settings.md").read_text() == markdown(), (
        "run: python -m catalogist.settings > docs/settings.md"
    )
