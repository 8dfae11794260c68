"""Vertex AI custom training (issue #25): a training account that reads only the training data,
writes only the models bucket's staging/ prefix and its own job files, and outputs that tell
`catalogist train --vertex` where everything is."""

from __future__ import annotations

import pytest

from tests.terraform.hcl import attr, example_values, expr, failed_validations, load, scope
from tests.terraform.hcl_eval import evaluate

REQUIRED = example_values()


def _training_data(location: str | None) -> dict:
    tf = load()
    names = scope(tf, **REQUIRED, training_data=location)
    return evaluate(attr(tf.locals, "training_data"), names)


def test_the_training_data_defaults_to_the_jobs_bucket_and_follows_the_variable() -> None:
    assert _training_data(None) == {"bucket": "my-shop-catalogist-jobs", "prefix": "training-data/"}
    assert _training_data("gs://shop-ml/photos/2026/") == {"bucket": "shop-ml", "prefix": "photos/2026/"}


@pytest.mark.parametrize("location", ["gs://shop-ml", "gs://shop-ml/photos", "s3://shop-ml/photos/", "shop-ml/photos/"])
def test_a_training_data_location_that_is_not_a_folder_is_refused(location: str) -> None:
    tf = load()

    assert failed_validations(tf, "training_data", scope(tf, **REQUIRED, training_data=location))


def test_the_trainer_cannot_write_over_a_published_release() -> None:
    grants = [
        r
        for r in load().iam_members()
        if expr(attr(r.body, "member")) == "google_service_account.training.member"
        and expr(attr(r.body, "bucket")) == "google_storage_bucket.models.name"
    ]

    assert len(grants) == 1
    condition = expr(attr(grants[0].body["condition"][0], "expression"))
    assert "objects/staging/" in condition
    # releases are <kind>/<version>/ at the top of the bucket: outside staging/
    assert attr(grants[0].body, "role") == "roles/storage.objectUser"


def test_the_outputs_name_the_account_and_the_staging_locations() -> None:
    value = load().outputs["training"]["value"][0]

    assert expr(value["service_account"]) == "google_service_account.training.email"
    assert expr(value["staging_location"]) == "local.vertex_staging"
    assert expr(value["models_staging"]) == "local.models_staging"


def test_the_aiplatform_api_is_on() -> None:
    assert "aiplatform.googleapis.com" in attr(load().locals, "apis")
