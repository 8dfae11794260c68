"""Delivery you control: the subscription that pushes uploads to on_upload has an ack deadline
covering the function's longest request, a retry policy, a retention no longer than the function
keeps events, and a dead-letter topic with a subscription to replay from; and the function's own
attempt limit ends an upload `failed` before Pub/Sub gives up on it."""

from __future__ import annotations

import re

import pytest

from catalogist.settings import Settings
from tests.terraform.hcl import attr, block, blocks, example_values, expr, failed_validations, load, scope, workloads
from tests.terraform.hcl_eval import evaluate

REQUIRED = example_values()


def _subscription_update() -> tuple[dict[str, str], str]:
    """The update's triggers (name -> expression) and its command, each trigger written <name>."""
    update = load().get("terraform_data.uploads_subscription")
    triggers = {k: expr(v) for k, v in attr(update.body, "triggers_replace").items()}
    command = attr(block(update.body, "provisioner")["local-exec"], "command")
    placeholders = {"self": {"triggers_replace": {name: f"<{name}>" for name in triggers}}}
    return triggers, evaluate(command, placeholders)


def _flag(command: str, flag: str) -> str:
    found = re.search(rf"--{flag}=<(\w+)>(\s|$)", command)
    assert found, f"--{flag} is not set by a trigger"
    return found.group(1)


def _evaluated(names: dict, expression: str) -> object:
    return evaluate("${" + expression + "}", names)


def test_the_update_sets_every_delivery_setting_on_eventarcs_subscription() -> None:
    triggers, command = _subscription_update()

    assert command.startswith("gcloud pubsub subscriptions update <subscription> ")
    assert triggers["subscription"] == "local.uploads_subscription"
    assert load().locals["uploads_subscription"] == [
        "${google_eventarc_trigger.uploads_finalized.transport[0].pubsub[0].subscription}"
    ]
    settings = {
        "ack-deadline": "var.delivery.ack_deadline_seconds",
        "max-delivery-attempts": "local.max_delivery_attempts",
        "dead-letter-topic": "google_pubsub_topic.dead_letter.id",
        "min-retry-delay": "${var.delivery.minimum_backoff_seconds}s",
        "max-retry-delay": "${var.delivery.maximum_backoff_seconds}s",
        "message-retention-duration": "${local.max_event_age_seconds}s",
    }
    for flag, source in settings.items():
        assert triggers[_flag(command, flag)] == source, flag
    assert " --expiration-period=never " in command


def test_the_update_runs_again_when_the_trigger_changes_and_after_the_dead_letter_grants() -> None:
    update = load().get("terraform_data.uploads_subscription")

    lifecycle = block(update.body, "lifecycle")
    assert [expr(x) for x in attr(lifecycle, "replace_triggered_by")] == ["google_eventarc_trigger.uploads_finalized"]
    assert set(update.depends_on()) == {
        "google_pubsub_subscription.dead_letter",
        "google_pubsub_topic_iam_member.pubsub_agent_publishes_dead_letters",
        "google_pubsub_subscription_iam_member.pubsub_agent_acks_uploads",
    }


def test_the_ack_deadline_covers_the_longest_request_with_the_defaults() -> None:
    names = scope(load(), **REQUIRED)

    deadline = names["var"]["delivery"]["ack_deadline_seconds"]
    timeout = _evaluated(names, workloads(load())["on_upload"].service["timeout_seconds"][0][2:-1])

    assert timeout <= deadline <= 600


def test_the_code_gives_up_before_pubsub_does() -> None:
    tf = load()
    names = scope(tf, **REQUIRED)
    environment = workloads(tf)["on_upload"].environment

    attempts = _evaluated(names, environment["CATALOGIST_MAX_ATTEMPTS"])
    deliveries = names["local"]["max_delivery_attempts"]

    # The deployed default is the code's own, and the function records `failed` (shown in the
    # panel, retried by hand) while Pub/Sub still has deliveries left.
    assert attempts == Settings.max_attempts == 5
    assert deliveries > attempts
    assert 5 <= deliveries <= 100


@pytest.mark.parametrize(
    "delivery",
    [
        {"spare_deliveries": 0},  # Pub/Sub would give up on the function's last attempt
        {"max_attempts": 60, "spare_deliveries": 50},  # over Pub/Sub's 100
        {"max_attempts": 1, "spare_deliveries": 1},  # under Pub/Sub's 5
        {"ack_deadline_seconds": 900},
        {"minimum_backoff_seconds": 700},
        {"dead_letter_retention_days": 40},
    ],
)
def test_inconsistent_delivery_settings_are_refused(delivery: dict) -> None:
    tf = load()

    assert failed_validations(tf, "delivery", scope(tf, **REQUIRED, delivery=delivery))


def test_consistent_delivery_settings_keep_the_code_below_pubsub() -> None:
    tf = load()
    for max_attempts in (1, 5, 20, 99):
        names = scope(tf, **REQUIRED, delivery={"max_attempts": max_attempts, "spare_deliveries": 1})
        if failed_validations(tf, "delivery", names):
            continue
        assert names["local"]["max_delivery_attempts"] > max_attempts


def test_the_subscription_keeps_messages_as_long_as_the_function_reads_them() -> None:
    tf = load()
    names = scope(tf, **REQUIRED, delivery={"max_event_age_hours": 48})
    environment = workloads(tf)["on_upload"].environment

    age = _evaluated(names, environment["CATALOGIST_MAX_EVENT_AGE_SECONDS"])

    assert age == 48 * 3600 == names["local"]["max_event_age_seconds"]


def test_dead_letters_land_in_a_subscription_that_keeps_them_and_never_expires() -> None:
    tf = load()
    subscription = tf.get("google_pubsub_subscription.dead_letter").body

    assert expr(attr(subscription, "topic")) == "google_pubsub_topic.dead_letter.id"
    assert "push_config" not in subscription, "an operator pulls dead letters to inspect and replay them"
    assert attr(block(subscription, "expiration_policy"), "ttl") == ""
    assert (
        expr(attr(subscription, "message_retention_duration")) == "${var.delivery.dead_letter_retention_days * 86400}s"
    )


def test_pubsubs_agent_may_dead_letter_and_nothing_more() -> None:
    tf = load()
    grants = {
        (r.type, expr(attr(r.body, "role")))
        for r in tf.iam_members()
        if expr(attr(r.body, "member")) == "google_project_service_identity.pubsub.member"
    }

    assert grants == {
        ("google_pubsub_topic_iam_member", "roles/pubsub.publisher"),
        ("google_pubsub_subscription_iam_member", "roles/pubsub.subscriber"),
    }


def test_every_plan_compares_the_live_subscription_with_the_settings() -> None:
    check = load().checks["uploads_subscription_is_as_declared"]
    condition = expr(attr(block(check, "assert"), "condition"))

    for needed in (
        "ack_deadline_seconds == var.delivery.ack_deadline_seconds",
        "max_delivery_attempts == local.max_delivery_attempts",
        "dead_letter_topic == google_pubsub_topic.dead_letter.id",
    ):
        assert needed in condition
    assert blocks(check, "data")


def test_the_trigger_keeps_pubsub_retries_on() -> None:
    trigger = load().get("google_eventarc_trigger.uploads_finalized").body

    # Eventarc's retry_policy accepts only max_attempts = 1, which turns retries off.
    assert "retry_policy" not in trigger
