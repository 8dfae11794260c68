"""Monitoring as code: every failure the issue names has an alert, each alert sends to the
channels and names its runbook section in docs/deploy.md, the log-based metric counts exactly the
uploads the function's own log lines say ended failed or rejected, and the budget notifies."""

from __future__ import annotations

import json
import logging
import re

import pytest

from catalogist.intake.ledger import Status
from catalogist.logs import JsonFormatter
from catalogist.vendorfiles.formats import Kind
from tests.terraform.hcl import REPO, attr, block, blocks, example_values, expr, failed_validations, load, scope
from tests.terraform.hcl_eval import evaluate

REQUIRED = example_values()
DEPLOY_MD = REPO / "docs" / "deploy.md"
UPLOADS_PY = REPO / "functions" / "catalogist" / "intake" / "uploads.py"
# What each alert watches: (resource, metric type) its first condition filters on.
WATCHED = {
    "backlog": ("pubsub_subscription", "pubsub.googleapis.com/subscription/oldest_unacked_message_age"),
    "dead_letters": ("pubsub_subscription", "pubsub.googleapis.com/subscription/num_undelivered_messages"),
    "failed_uploads": ("cloud_run_revision", "logging.googleapis.com/user/"),
    "rejected_uploads": ("cloud_run_revision", "logging.googleapis.com/user/"),
    "server_errors": ("cloud_run_revision", "run.googleapis.com/request_count"),
    "throttled": ("cloud_run_revision", "run.googleapis.com/request_count"),
    "instances_at_max": ("cloud_run_revision", "run.googleapis.com/container/instance_count"),
    "memory": ("cloud_run_revision", "run.googleapis.com/container/memory/utilizations"),
    "load_balancer_errors": ("https_lb_rule", "loadbalancing.googleapis.com/https/request_count"),
    "certificate": ("uptime_url", "monitoring.googleapis.com/uptime_check/check_passed"),
}


def _policies() -> dict:
    return {p.name: p.body for p in load().of_type("google_monitoring_alert_policy")}


def _condition(policy: dict, index: int = 0) -> dict:
    return block(blocks(policy, "conditions")[index], "condition_threshold")


def test_every_failure_the_issue_names_has_an_alert_on_the_right_metric() -> None:
    policies = _policies()

    assert set(policies) == set(WATCHED)
    for name, (resource, metric) in WATCHED.items():
        condition = expr(attr(_condition(policies[name]), "filter"))
        assert f'resource.type=\\"{resource}\\"' in condition, name
        assert f'metric.type=\\"{metric}' in condition, name


def test_every_alert_reaches_the_channels_and_names_its_runbook_section() -> None:
    runbook = DEPLOY_MD.read_text().split("\n## Runbook", 1)
    assert len(runbook) == 2, "docs/deploy.md has no Runbook section"
    sections = set(re.findall(r"^### (.+)$", runbook[1].split("\n## ", 1)[0], flags=re.MULTILINE))

    assert attr(load().locals, "runbook") == "docs/deploy.md, section Runbook"
    for name, policy in _policies().items():
        assert expr(attr(policy, "notification_channels")) == "local.notification_channels", name
        content = attr(block(policy, "documentation"), "content")
        named = re.findall(r'\$\{local\.runbook\}: \\"([^"\\]+)\\"', content)
        assert named and named[0] in sections, f"{name}: its runbook section {named} is not in docs/deploy.md"


def test_ratios_divide_by_all_requests_of_the_same_service() -> None:
    policies = _policies()

    for name in ("server_errors", "throttled", "load_balancer_errors"):
        condition = _condition(policies[name])
        numerator = expr(attr(condition, "filter"))
        denominator = expr(attr(condition, "denominator_filter"))
        assert numerator.startswith(denominator), name
        assert "response_code" in numerator.removeprefix(denominator), name


def test_the_thresholds_are_the_services_own_limits() -> None:
    tf = load()
    policies = _policies()
    names = scope(tf, **REQUIRED)
    services = evaluate(
        attr(tf.locals, "services"), {**names, "local": {"upload_function": "u", "panel_function": "p"}}
    )

    assert expr(attr(_condition(policies["instances_at_max"]), "threshold_value")) == "each.value.max_instances - 0.5"
    assert services["on_upload"]["max_instances"] == names["var"]["upload_function"]["max_instances"]
    assert services["panel"]["max_instances"] == names["var"]["panel"]["max_instances"]
    assert names["var"]["alert_thresholds"]["memory_utilization"] == 0.85
    # a delivery may hold an event for its whole ack deadline: the backlog alert waits longer
    assert names["var"]["alert_thresholds"]["backlog_age_seconds"] >= names["var"]["delivery"]["ack_deadline_seconds"]


def test_the_certificate_is_checked_as_a_browser_would() -> None:
    tf = load()
    check = tf.get("google_monitoring_uptime_check_config.panel").body
    http = block(check, "http_check")
    certificate = _policies()["certificate"]

    assert attr(http, "use_ssl") is True and attr(http, "validate_ssl") is True
    assert expr(attr(block(check, "monitored_resource"), "labels")["host"]) == "var.panel.domain"
    expiry = expr(attr(_condition(certificate, 1), "filter"))
    assert "uptime_check/time_until_ssl_cert_expires" in expiry
    assert attr(_condition(certificate, 1), "comparison") == "COMPARISON_LT"


def _end_log_line(kind: str, status: str) -> dict:
    # What uploads._end logs: "<kind> <status>", with the status and the upload id as fields.
    record = logging.LogRecord("catalogist.intake.uploads", logging.WARNING, __file__, 1, f"{kind} {status}", (), None)
    record.status, record.upload_id, record.reason = status, "u1", "why"
    return json.loads(JsonFormatter().format(record))


def test_the_end_of_an_upload_is_still_logged_as_the_metric_reads_it() -> None:
    source = UPLOADS_PY.read_text()

    assert "f\"{entry['kind']} {status.value}\"" in source
    assert '"status": status.value' in source


def _first_group(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in {text!r}"
    return found.group(1)


@pytest.mark.parametrize("kind", [k.value for k in Kind])
@pytest.mark.parametrize("status", [s.value for s in Status])
def test_the_log_metric_counts_failed_and_rejected_uploads_only(kind: str, status: str) -> None:
    tf = load()
    text = evaluate(attr(tf.locals, "upload_endings_filter"), {"local": {"upload_function": "catalogist-on-upload"}})
    message_regex = _first_group(r'jsonPayload\.message=~"(.+?)"( AND|$)', text)
    statuses = set(re.findall(r'"(\w+)"', _first_group(r"jsonPayload\.status=\((.+?)\)", text)))
    line = _end_log_line(kind, status)

    counted = line["status"] in statuses and re.search(message_regex, line["message"]) and "upload_id" in line

    assert bool(counted) == (status in ("failed", "rejected"))
    extractor = evaluate(attr(tf.get("google_logging_metric.upload_endings").body, "label_extractors"), {})
    kind_regex = _first_group(r'REGEXP_EXTRACT\(jsonPayload\.message, "(.+)"\)', extractor["kind"])
    assert _first_group(kind_regex, line["message"]) == kind


def test_the_budget_notifies_at_each_threshold_and_on_the_forecast() -> None:
    tf = load()
    budget = tf.get("google_billing_budget.catalogist").body

    assert expr(attr(budget, "provider")) == "google.billing"
    assert expr(attr(block(budget, "budget_filter"), "projects")[0]) == "projects/${data.google_project.this.number}"
    dynamic = budget["dynamic"][0]["threshold_rules"]
    assert expr(attr(dynamic, "for_each")) == "var.budget.thresholds"
    forecast = [r for r in blocks(budget, "threshold_rules") if attr(r, "spend_basis") == "FORECASTED_SPEND"]
    assert len(forecast) == 1
    rule = block(budget, "all_updates_rule")
    assert expr(attr(rule, "monitoring_notification_channels")) == "local.notification_channels"
    assert scope(tf, **REQUIRED)["var"]["budget"]["thresholds"] == [0.5, 0.9, 1.0]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("notification_channels", {}),
        ("notification_channels", {"emails": [f"ops{i}@shop.example" for i in range(6)]}),
        ("notification_channels", {"emails": ["not an address"]}),
        ("notification_channels", {"existing": ["1234"]}),
        ("budget", {"billing_account": "0123456789", "amount": 100}),
        ("budget", {"billing_account": "012345-6789AB-CDEF01", "amount": 0}),
        ("budget", {"billing_account": "012345-6789AB-CDEF01", "amount": 100, "thresholds": [5]}),
        ("alert_thresholds", {"backlog_age_seconds": 60}),
        ("alert_thresholds", {"error_ratio": 5}),
    ],
)
def test_alerting_settings_that_would_not_work_are_refused(variable: str, value: dict) -> None:
    tf = load()

    assert failed_validations(tf, variable, scope(tf, **{**REQUIRED, variable: value}))
