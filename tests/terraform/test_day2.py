"""Day 2: what a second, third, tenth apply does. A new domain gets its certificate before the old
one goes; a replaced function gets its invoker back; the same source gives the same zip; every
sizing input is checked against Cloud Run's rules and against the others; the panel's secret
never enters the state."""

from __future__ import annotations

import re

import pytest

from catalogist.settings import MIB, Settings
from tests.terraform import hcl_eval
from tests.terraform.hcl import (
    attr,
    block,
    example_values,
    expr,
    failed_validations,
    load,
    scope,
    workloads,
)
from tests.terraform.hcl_eval import evaluate

REQUIRED = example_values()


def test_a_new_domain_gets_a_new_certificate_before_the_old_one_goes() -> None:
    certificate = load().get("google_compute_managed_ssl_certificate.panel").body
    name = attr(certificate, "name")

    assert attr(block(certificate, "lifecycle"), "create_before_destroy") is True
    first = evaluate(name, {"var": {"panel": {"domain": "review.shop.example"}}})
    second = evaluate(name, {"var": {"panel": {"domain": "panel.shop.example"}}})
    assert first != second
    assert re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", first) and len(first) <= 63


def test_grants_on_a_service_are_replaced_with_the_service() -> None:
    tf = load()
    grants = [
        *tf.of_type("google_cloud_run_v2_service_iam_member"),
        *tf.of_type("google_iap_web_backend_service_iam_member"),
    ]

    assert grants
    for grant in grants:
        target = expr(attr(grant.body, "name") or attr(grant.body, "web_backend_service"))
        service = target.removesuffix(".name")
        triggers = [expr(t) for t in attr(block(grant.body, "lifecycle"), "replace_triggered_by")]
        # the id changes only when the service is replaced, not on every new revision
        assert triggers == [f"{service}.id"], grant.address


def test_the_same_source_gives_the_same_zip() -> None:
    archive = next(d for d in load().data if d.type == "archive_file")

    assert re.fullmatch(r"0[0-7]{3}", attr(archive.body, "output_file_mode") or "")


@pytest.mark.parametrize(
    ("variable", "value", "because"),
    [
        ("upload_function", {"cpu": "0.5"}, "concurrency must be 1 below 1 vCPU"),
        ("upload_function", {"cpu": "3"}, "Cloud Run's vCPU values"),
        ("upload_function", {"cpu": "1", "memory": "6Gi"}, "outside what Cloud Run allows"),
        ("upload_function", {"cpu": "4", "memory": "1Gi"}, "outside what Cloud Run allows"),
        ("upload_function", {"memory": "1Gi"}, "must hold decode_memory_mb"),
        ("upload_function", {"decode_memory_mb": 1536}, "must hold decode_memory_mb"),
        ("upload_function", {"memory": "2GB"}, "must be like 2Gi"),
        ("upload_function", {"concurrency": 32}, "1 to 16"),
        ("panel", {"domain": "review.shop.example", "cpu": "0.25"}, "concurrency must be 1 below 1 vCPU"),
        ("panel", {"domain": "review.shop.example", "cpu": "0.25", "concurrency": 1}, "outside what Cloud Run allows"),
        ("panel", {"domain": "review.shop.example", "memory": "512Mi"}, "at least 712Mi"),
        ("panel", {"domain": "review.shop.example", "memory": "1G"}, "must be like 1Gi"),
        ("labels", {"App": "catalogist"}, "labels"),
        ("labels", {"app": "Catalogist"}, "labels"),
    ],
)
def test_a_sizing_cloud_run_or_the_code_would_refuse_is_refused_at_plan(
    variable: str, value: dict, because: str
) -> None:
    tf = load()

    failed = failed_validations(tf, variable, scope(tf, **{**REQUIRED, variable: value}))

    assert any(because in message for message in failed), failed


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("upload_function", {}),
        ("upload_function", {"cpu": "4", "memory": "4Gi", "concurrency": 8, "decode_memory_mb": 1024}),
        (
            "upload_function",
            {"cpu": "1", "memory": "1536Mi", "concurrency": 1, "decode_memory_mb": 512},
        ),
        ("panel", {"domain": "review.shop.example"}),
        ("panel", {"domain": "review.shop.example", "cpu": "0.5", "memory": "1Gi", "concurrency": 1}),
        ("labels", {"app": "catalogist", "team": "back-office_2"}),
    ],
)
def test_sizings_cloud_run_accepts_are_accepted(variable: str, value: dict) -> None:
    tf = load()

    assert not failed_validations(tf, variable, scope(tf, **{**REQUIRED, variable: value}))


@pytest.mark.parametrize(("memory", "budget_mb"), [("1Gi", 512), ("2Gi", 1536), ("1536Mi", 1024)])
def test_the_panels_decode_budget_follows_its_memory(memory: str, budget_mb: int) -> None:
    tf = load()
    names = scope(tf, **{**REQUIRED, "panel": {"domain": "review.shop.example", "memory": memory}})
    environment = workloads(tf)["panel"].environment

    value = evaluate("${" + environment["CATALOGIST_DECODE_MEMORY_MB"] + "}", names)
    settings = Settings.from_env(
        {"GOOGLE_CLOUD_PROJECT": "p", "CATALOGIST_MODELS_BUCKET": "m", "CATALOGIST_DECODE_MEMORY_MB": str(value)}
    )

    assert value == budget_mb
    assert settings.decode_memory_bytes == budget_mb * MIB
    assert settings.decode_memory_bytes < names["local"]["panel_memory_mib"] * MIB


def test_the_panel_secret_is_written_without_entering_the_state() -> None:
    tf = load()
    version = tf.get("google_secret_manager_secret_version.panel").body
    required = attr(hcl_eval.loads(tf.sources["versions.tf"]), "terraform")

    assert "secret_data" not in version
    assert expr(attr(version, "secret_data_wo")) == "ephemeral.random_password.panel_secret.result"
    assert expr(attr(version, "secret_data_wo_version")) == "var.panel_secret_version"
    assert not tf.of_type("random_password"), "a random_password resource keeps its result in the state"
    assert 'ephemeral "random_password" "panel_secret"' in tf.sources["panel.tf"]
    # write-only arguments exist from Terraform 1.11
    assert attr(required, "required_version").startswith(">= 1.11")
