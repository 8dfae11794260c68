"""Big vendor files go to a Dataflow Flex Template job (issue #26): on_upload is told where the
template, region, workers' identity and temp location are, from the same values Terraform
creates, and CI learns where to put the template from an output."""

from __future__ import annotations

import pytest

from catalogist.settings import Settings
from tests.terraform.hcl import attr, example_values, expr, failed_validations, load, scope, workloads
from tests.terraform.hcl_eval import evaluate

REQUIRED = example_values()
IMPORT_SETTINGS = {
    "CATALOGIST_IMPORT_JOBS": '"dataflow"',
    "CATALOGIST_IMPORT_JOB_TEMPLATE": "local.import_template",
    "CATALOGIST_DATAFLOW_REGION": "local.dataflow_region",
    "CATALOGIST_DATAFLOW_SERVICE_ACCOUNT": "google_service_account.dataflow.email",
    "CATALOGIST_DATAFLOW_TEMP_LOCATION": "local.dataflow_temp_location",
    "CATALOGIST_DATAFLOW_STAGING_LOCATION": "local.dataflow_staging_location",
    "CATALOGIST_DATAFLOW_SUBNETWORK": "var.import_jobs.subnetwork",
    "CATALOGIST_DATAFLOW_MAX_WORKERS": "var.import_jobs.max_workers",
    "CATALOGIST_BIG_FILE_BYTES": "var.import_jobs.big_file_bytes",
}


def test_on_upload_is_told_where_import_jobs_run() -> None:
    environment = workloads(load())["on_upload"].environment

    assert {name: environment.get(name) for name in IMPORT_SETTINGS} == {
        name: value.strip('"') if value.startswith('"') else value for name, value in IMPORT_SETTINGS.items()
    }


def test_the_panel_launches_no_job() -> None:
    environment = workloads(load())["panel"].environment

    assert not set(IMPORT_SETTINGS) & set(environment)


def _locations(**given: object) -> dict:
    tf = load()
    names = scope(tf, **REQUIRED, **given)
    bucket = "my-jobs"
    # The bucket's name is the variable's, known at plan; stand it in for the resource attribute.
    names["google_storage_bucket"] = {"jobs": {"name": bucket}}
    return {
        name: evaluate(attr(tf.locals, name), names)
        for name in ("import_template", "dataflow_temp_location", "dataflow_staging_location", "dataflow_region")
    }


def test_the_template_and_temp_locations_follow_the_variables() -> None:
    default = _locations()
    moved = _locations(import_jobs={"template_object": "templates/v2/import.json", "region": "us-central1"})

    assert default["import_template"] == "gs://my-jobs/templates/import.json"
    assert default["dataflow_temp_location"] == "gs://my-jobs/dataflow/tmp"
    assert default["dataflow_staging_location"] == "gs://my-jobs/dataflow/staging"
    assert default["dataflow_region"] == "europe-west1"
    assert moved["import_template"] == "gs://my-jobs/templates/v2/import.json"
    assert moved["dataflow_region"] == "us-central1"


def test_ci_reads_the_template_location_and_image_from_an_output() -> None:
    value = load().outputs["import_job"]["value"][0]

    assert expr(value["template"]) == "local.import_template"
    assert expr(value["image"]) == "local.import_image"
    assert expr(value["service_account"]) == "google_service_account.dataflow.email"


def test_the_jobs_bucket_is_private_and_drops_finished_jobs_files() -> None:
    bucket = load().get("google_storage_bucket.jobs").body

    assert bucket["uniform_bucket_level_access"] == [True]
    assert bucket["public_access_prevention"] == ["enforced"]
    prefixes = [rule["condition"][0].get("matches_prefix") for rule in bucket["lifecycle_rule"]]
    assert [["dataflow/"]] in prefixes


def test_what_the_function_launches_with_is_a_setting_it_reads_and_a_dataflow_job_needs() -> None:
    environment = {
        name: "x"
        for name in ("GOOGLE_CLOUD_PROJECT", "CATALOGIST_MODELS_BUCKET", *IMPORT_SETTINGS)
        if name not in ("CATALOGIST_BIG_FILE_BYTES", "CATALOGIST_DATAFLOW_MAX_WORKERS")
    }
    environment["CATALOGIST_IMPORT_JOBS"] = "dataflow"

    settings = Settings.from_env(environment)

    assert (settings.dataflow_staging_location, settings.dataflow_subnetwork) == ("x", "x")
    without_staging = {k: v for k, v in environment.items() if k != "CATALOGIST_DATAFLOW_STAGING_LOCATION"}
    with pytest.raises(Exception, match="CATALOGIST_DATAFLOW_STAGING_LOCATION"):
        Settings.from_env(without_staging)


@pytest.mark.parametrize(
    ("given", "refused"),
    [
        ({"max_workers": 8}, False),
        ({"max_workers": 0}, True),
        ({"max_workers": 2.5}, True),
        ({"max_workers": 500}, True),
        ({"subnetwork": "regions/europe-west1/subnetworks/batch"}, False),
        ({"subnetwork": "batch"}, True),
        ({"subnetwork": "regions/europe-west1/subnetworks/Batch_1"}, True),
    ],
)
def test_the_workers_count_and_subnetwork_are_checked_at_plan(given: dict, refused: bool) -> None:
    tf = load()

    failed = failed_validations(tf, "import_jobs", scope(tf, **REQUIRED, import_jobs=given))

    assert bool(failed) is refused, failed


def test_the_workers_default_to_what_the_function_defaults_to() -> None:
    names = scope(load(), **REQUIRED)

    assert names["var"]["import_jobs"]["max_workers"] == Settings.dataflow_max_workers
    assert names["var"]["import_jobs"]["subnetwork"] == Settings.dataflow_subnetwork
