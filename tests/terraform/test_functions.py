"""The functions Terraform deploys are the entry points in functions/main.py, and on_upload hears
exactly the events the code accepts, with retries on, for as long as its largest import takes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from catalogist.intake.events import FINALIZED
from tests.terraform.hcl import (
    REPO,
    TERRAFORM,
    attr,
    block,
    blocks,
    example_values,
    expr,
    failed_validations,
    load,
    scope,
    workloads,
)

# The variables without a default, as terraform.tfvars.example sets them.
REQUIRED = example_values()

MAIN_PY = REPO / "functions" / "main.py"
# A 1,000,000-row price list (about 100 MB of CSV) imported at 837 rows/s on a 2-core machine.
MEASURED_IMPORT_BYTES_PER_SECOND = 100_000_000 / (1_000_000 / 837)
# Pub/Sub's longest ack deadline: a push request still running after it is delivered again.
PUBSUB_MAX_ACK_DEADLINE = 600


def entry_points() -> dict[str, str]:
    """Top-level functions of main.py decorated by functions_framework, with the decorator's kind
    (`cloud_event` or `http`)."""
    found = {}
    for node in ast.parse(MAIN_PY.read_text()).body:
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                if (
                    isinstance(decorator, ast.Attribute)
                    and isinstance(decorator.value, ast.Name)
                    and decorator.value.id == "functions_framework"
                ):
                    found[node.name] = decorator.attr
    return found


def test_main_py_has_entry_points() -> None:
    assert entry_points() == {"on_upload": "cloud_event", "panel": "http"}


def test_every_entry_point_is_deployed_and_every_deployed_one_exists() -> None:
    deployed = set(workloads(load()))

    assert deployed == set(entry_points())


def test_functions_are_built_from_the_functions_folder_with_its_pinned_requirements() -> None:
    tf = load()
    archive = next(d for d in tf.data if d.type == "archive_file")
    folder = (TERRAFORM / expr(attr(archive.body, "source_dir")).replace("${path.module}/", "")).resolve()

    assert folder == (REPO / "functions").resolve()
    assert (folder / "main.py").is_file()
    requirements = (folder / "requirements.txt").read_text().splitlines()
    pinned = [line for line in requirements if line and not line.startswith(("#", " "))]
    assert pinned and all("==" in line for line in pinned), "requirements.txt must pin every package"
    for workload in workloads(tf).values():
        source = block(block(block(workload.resource.body, "build_config"), "source"), "storage_source")
        assert expr(attr(source, "object")) == "google_storage_bucket_object.functions.name"
        assert attr(block(workload.resource.body, "build_config"), "runtime") == "python312"


def _trigger() -> dict:
    triggers = load().of_type("google_eventarc_trigger")
    assert len(triggers) == 1, "one trigger: uploads -> on_upload"
    return triggers[0].body


def _criteria() -> dict[str, str]:
    return {attr(c, "attribute"): expr(attr(c, "value")) for c in blocks(_trigger(), "matching_criteria")}


def test_the_trigger_sends_the_event_type_events_py_accepts() -> None:
    assert _criteria()["type"] == FINALIZED


def test_the_trigger_watches_the_uploads_bucket_only() -> None:
    assert _criteria() == {"type": FINALIZED, "bucket": "google_storage_bucket.uploads.name"}


def test_the_trigger_delivers_to_the_cloud_event_entry_point() -> None:
    destination = block(block(_trigger(), "destination"), "cloud_run_service")
    target = expr(attr(destination, "service"))

    address = re.fullmatch(r"(google_cloudfunctions2_function\.\w+)\.name", target)
    assert address, f"the trigger must name a deployed function's service, not {target!r}"
    function = load().get(address.group(1))
    entry_point = attr(block(function.body, "build_config"), "entry_point")
    assert entry_points()[entry_point] == "cloud_event"
    assert expr(attr(destination, "region")) == "var.region"


def test_retries_are_on() -> None:
    # Eventarc's retry_policy accepts only max_attempts = 1, which turns retries off; without it,
    # an unacknowledged event is redelivered for 24 hours. The function ends poison events itself.
    assert "retry_policy" not in _trigger()


def test_the_trigger_waits_for_the_eventarc_service_agent() -> None:
    tf = load()
    sleep = tf.get("time_sleep.service_agents")
    agent_grant = tf.get("google_project_iam_member.eventarc_agent")

    assert "time_sleep.service_agents" in [expr(d) for d in attr(_trigger(), "depends_on")]
    assert "google_project_iam_member.eventarc_agent" in sleep.depends_on()
    assert "google_project_service_identity.eventarc.email" in attr(agent_grant.body, "member")
    identity = tf.get("google_project_service_identity.eventarc")
    assert attr(identity.body, "service") == "eventarc.googleapis.com"


def _optional_default(variable: str, field: str) -> str:
    """The default given by `field = optional(type, default)` in a variable's object type."""
    type_text = load().variables[variable]["type"][0]
    match = re.search(rf"'{field}':\s*'\$\{{optional\(\w+,\s*\"?([^)\"]+)\"?\)\}}'", type_text)
    assert match, f"{variable}.{field} has no optional() default"
    return match.group(1)


def test_every_delivery_ends_within_the_ack_deadline_and_big_files_go_to_a_job() -> None:
    tf = load()
    on_upload = workloads(tf)["on_upload"]
    names = scope(tf, **REQUIRED)
    upload, delivery, jobs = (names["var"][n] for n in ("upload_function", "delivery", "import_jobs"))

    # An event_trigger block would make Cloud Functions own the subscription.
    assert "event_trigger" not in on_upload.resource.body
    assert expr(attr(on_upload.service, "timeout_seconds")) == "var.upload_function.timeout_seconds"
    assert upload["timeout_seconds"] <= delivery["ack_deadline_seconds"] <= PUBSUB_MAX_ACK_DEADLINE
    # The largest file imported inside a delivery, at the measured speed, fits in the timeout ...
    assert jobs["big_file_bytes"] / MEASURED_IMPORT_BYTES_PER_SECOND <= upload["timeout_seconds"]
    # ... and the variables refuse a timeout the deadline does not cover, or a threshold it does not.
    longer = scope(tf, **REQUIRED, upload_function={"timeout_seconds": 900})
    assert failed_validations(tf, "upload_function", longer)
    shorter_deadline = scope(tf, **REQUIRED, delivery={"ack_deadline_seconds": 300})
    assert failed_validations(tf, "upload_function", shorter_deadline)
    too_big = scope(tf, **REQUIRED, import_jobs={"big_file_bytes": 64 * 1024 * 1024})
    assert failed_validations(tf, "import_jobs", too_big)
    assert not failed_validations(tf, "import_jobs", names)


def test_threads_default_to_four() -> None:
    # bench/bench_concurrency.py decides this default; until its figures are in, 4 as in settings.py.
    from catalogist.settings import Settings

    assert int(_optional_default("upload_function", "concurrency")) == Settings.threads


def test_on_upload_is_reachable_only_from_inside_google_cloud() -> None:
    services = {name: w.service for name, w in workloads(load()).items()}

    assert attr(services["on_upload"], "ingress_settings") == "ALLOW_INTERNAL_ONLY"
    assert attr(services["panel"], "ingress_settings") == "ALLOW_INTERNAL_AND_GCLB"


def test_the_tfvars_example_sets_every_variable_without_a_default_and_nothing_else() -> None:
    import hcl2

    tf = load()
    example = hcl2.loads(Path(TERRAFORM / "terraform.tfvars.example").read_text())
    required = {name for name, body in tf.variables.items() if "default" not in body}

    assert required <= set(example)
    assert set(example) <= set(tf.variables)


def test_builds_wait_until_every_grant_of_the_build_account_is_seen() -> None:
    tf = load()
    sleep = tf.get("time_sleep.build_grants")
    build_grants = {
        r.address for r in tf.iam_members() if expr(attr(r.body, "member")) == "google_service_account.build.member"
    }

    assert set(sleep.depends_on()) == build_grants
    for workload in workloads(tf).values():
        assert "time_sleep.build_grants" in workload.resource.depends_on(), workload.entry_point
