"""Vertex AI custom training (issue #25): a training account that reads only the training data,
writes its own job files, publishes new releases without being able to replace one, and outputs
that tell `catalogist train classifier --vertex` where everything is."""

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


def test_the_trainer_publishes_new_releases_and_cannot_replace_or_delete_one() -> None:
    grants = {
        attr(r.body, "role")
        for r in load().iam_members()
        if expr(attr(r.body, "member")) == "google_service_account.training.member"
        and expr(attr(r.body, "bucket")) == "google_storage_bucket.models.name"
    }

    # objectCreator creates; replacing an object needs storage.objects.delete, which neither role has
    assert grants == {"roles/storage.objectCreator", "roles/storage.objectViewer"}


def test_the_outputs_name_what_train_classifier_vertex_takes() -> None:
    value = load().outputs["training"]["value"][0]

    assert expr(value["service_account"]) == "google_service_account.training.email"
    assert expr(value["staging_location"]) == "local.vertex_staging"
    assert expr(value["image"]) == "local.trainer_image"
    assert "google_storage_bucket.models.name" in expr(value["models_bucket"])


def test_the_aiplatform_api_is_on() -> None:
    assert "aiplatform.googleapis.com" in attr(load().locals, "apis")
