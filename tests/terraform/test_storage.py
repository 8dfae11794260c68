"""The buckets Terraform creates are the ones the settings and the trigger name, and the release
locations it sets are where `catalogist release publish` puts releases."""

from __future__ import annotations

import re

import pytest

from catalogist.models.kinds import KINDS
from catalogist.settings import BY_FIELD, Settings
from catalogist_training.publish import parse_destination
from tests.terraform.hcl import attr, block, blocks, expr, load, workloads


def _bucket(name: str) -> dict:
    return load().get(f"google_storage_bucket.{name}").body


@pytest.mark.parametrize("entry_point", ["on_upload", "panel"])
def test_the_models_bucket_setting_names_the_models_bucket(entry_point: str) -> None:
    environment = workloads(load())[entry_point].environment

    assert environment["CATALOGIST_MODELS_BUCKET"] == "google_storage_bucket.models.name"


def test_buckets_are_named_by_their_variables() -> None:
    for name in ("uploads", "models", "source"):
        assert expr(attr(_bucket(name), "name")) == f"var.{name}_bucket"


@pytest.mark.parametrize("entry_point", ["on_upload", "panel"])
def test_every_release_the_code_loads_is_set_from_the_releases_variable(entry_point: str) -> None:
    environment = workloads(load())[entry_point].environment

    for kind in KINDS:
        assert environment[BY_FIELD[kind.setting].env] == f"var.releases.{kind.name}"


def test_the_releases_variable_admits_what_publish_writes_and_nothing_outside_the_models_bucket() -> None:
    variable = load().variables["releases"]
    condition = expr(attr(block(variable, "validation"), "condition"))
    template = re.search(r'regex\("(.+?)",\s*location\)', condition)
    assert template, "the releases validation is a regex per kind"
    pattern = template.group(1).replace("\\\\", "\\")

    def admitted(location: str, kind: str, models_bucket: str = "shop-models") -> bool:
        regex = pattern.replace("${var.models_bucket}", models_bucket).replace("${kind}", kind)
        return re.fullmatch(regex, location) is not None

    for kind in (k.name for k in KINDS):
        published = f"gs://shop-models/{kind}/20260115-093000"
        assert parse_destination(published) == ("shop-models", kind, "20260115-093000")
        assert admitted(published, kind)
        assert not admitted(f"gs://other-bucket/{kind}/20260115-093000", kind)
        assert not admitted(f"gs://shop-models/{kind}", kind), "a kind without a version is no release"
        # Settings' fallback (<bucket>/<kind>) is never what runs: the variable is required.
    assert "default" not in variable


def test_the_trigger_watches_the_bucket_the_function_may_read() -> None:
    tf = load()
    reads_uploads = [
        r
        for r in tf.of_type("google_storage_bucket_iam_member")
        if expr(attr(r.body, "bucket")) == "google_storage_bucket.uploads.name"
        and expr(attr(r.body, "member")) == "google_service_account.upload.member"
    ]
    function = workloads(tf)["on_upload"]

    assert reads_uploads
    assert expr(attr(function.service, "service_account_email")) == "google_service_account.upload.email"


@pytest.mark.parametrize("name", ["uploads", "models", "source"])
def test_no_bucket_can_be_public_or_use_acls(name: str) -> None:
    bucket = _bucket(name)

    assert attr(bucket, "uniform_bucket_level_access") is True
    assert attr(bucket, "public_access_prevention") == "enforced"


def test_uploads_keep_overwritten_generations_long_enough_for_late_events_then_drop_them() -> None:
    bucket = _bucket("uploads")
    rules = [block(rule, "condition") for rule in blocks(bucket, "lifecycle_rule")]

    assert attr(block(bucket, "versioning"), "enabled") is True
    assert any(
        expr(attr(rule, "days_since_noncurrent_time")) == "var.uploads_retention.noncurrent_days" for rule in rules
    )
    assert any(expr(attr(rule, "age")) == "var.uploads_retention.keep_days" for rule in rules)
    soft_delete = expr(attr(block(bucket, "soft_delete_policy"), "retention_duration_seconds"))
    assert soft_delete.startswith("var.uploads_retention.soft_delete_days")


def test_the_models_bucket_is_versioned() -> None:
    assert attr(block(_bucket("models"), "versioning"), "enabled") is True


def test_the_code_reads_no_uploads_bucket_setting_so_none_is_set() -> None:
    # The function learns the bucket from each event; only the trigger names it.
    for workload in workloads(load()).values():
        assert "CATALOGIST_UPLOADS_BUCKET" not in workload.environment


def test_the_function_is_told_exactly_the_vendors_that_have_a_folder() -> None:
    from tests.terraform.hcl import example_values, scope
    from tests.terraform.hcl_eval import evaluate

    tf = load()
    vendors = {"acme": "group:uploads@acme.example", "b.co_2": "user:feeds@b.example"}
    names = scope(tf, **{**example_values(), "vendors": vendors})
    environment = workloads(tf)["on_upload"].environment
    required = {"GOOGLE_CLOUD_PROJECT": "p", "CATALOGIST_MODELS_BUCKET": "m"}

    value = evaluate("${" + environment["CATALOGIST_VENDORS"] + "}", names)

    assert Settings.from_env({**required, "CATALOGIST_VENDORS": value}).vendors == set(vendors)


@pytest.mark.parametrize(
    ("vendors", "refused"),
    [
        ({}, True),
        ({"acme": "allUsers"}, True),
        ({"acme": "ann@acme.example"}, True),
        ({"../acme": "user:ann@acme.example"}, True),
        ({".acme": "user:ann@acme.example"}, True),
        ({"acme": "user:ann@acme.example", "b.co_2": "serviceAccount:f@p.iam.gserviceaccount.com"}, False),
    ],
)
def test_the_vendors_variable_refuses_what_the_function_would(vendors: dict, refused: bool) -> None:
    from catalogist.intake.events import VENDOR_ID
    from tests.terraform.hcl import example_values, failed_validations, scope

    tf = load()
    failed = failed_validations(tf, "vendors", scope(tf, **{**example_values(), "vendors": vendors}))

    assert bool(failed) == refused
    if vendors and not refused:
        assert all(VENDOR_ID.fullmatch(vendor) for vendor in vendors)
    if any(not VENDOR_ID.fullmatch(vendor) for vendor in vendors):
        assert refused
