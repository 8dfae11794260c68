"""One apply on a fresh project: the two bootstrap APIs first, then every API a declared resource
needs, then a pause every API-backed resource waits for (an API reported enabled still refuses
calls for a minute or so)."""

from __future__ import annotations

from tests.terraform.hcl import Resource, Terraform, attr, expr, load, waits_for

BOOTSTRAP = {"cloudresourcemanager.googleapis.com", "serviceusage.googleapis.com"}
# Which API each resource type calls (by the type's prefix).
API_OF_TYPE = {
    "google_artifact_registry_": "artifactregistry.googleapis.com",
    "google_billing_budget": "billingbudgets.googleapis.com",
    "google_cloud_run_v2_": "run.googleapis.com",
    "google_cloudfunctions2_": "cloudfunctions.googleapis.com",
    "google_compute_": "compute.googleapis.com",
    "google_eventarc_": "eventarc.googleapis.com",
    "google_firestore_": "firestore.googleapis.com",
    "google_iap_": "iap.googleapis.com",
    "google_logging_": "logging.googleapis.com",
    "google_monitoring_": "monitoring.googleapis.com",
    "google_project_iam_": "cloudresourcemanager.googleapis.com",
    "google_pubsub_": "pubsub.googleapis.com",
    "google_secret_manager_": "secretmanager.googleapis.com",
    "google_service_account": "iam.googleapis.com",
    "google_storage_": "storage.googleapis.com",
}
# Jobs the system launches but Terraform does not declare: their APIs must be on all the same.
LAUNCHED_APIS = {"dataflow.googleapis.com", "aiplatform.googleapis.com", "cloudbuild.googleapis.com"}
WAIT = "time_sleep.apis"


def _enabled(tf: Terraform, local: str) -> set[str]:
    return set(attr(tf.locals, local))


def test_the_bootstrap_apis_come_first_and_everything_else_after_them() -> None:
    tf = load()
    apis = tf.get("google_project_service.apis")
    bootstrap = tf.get("google_project_service.bootstrap")

    assert _enabled(tf, "bootstrap_apis") == BOOTSTRAP
    assert expr(attr(bootstrap.body, "for_each")) == "toset(local.bootstrap_apis)"
    assert expr(attr(apis.body, "for_each")) == "toset(local.apis)"
    assert apis.depends_on() == ["google_project_service.bootstrap"]
    assert not (_enabled(tf, "apis") & BOOTSTRAP)


def test_no_api_is_turned_off_by_a_destroy() -> None:
    tf = load()
    for address in ("google_project_service.apis", "google_project_service.bootstrap"):
        assert attr(tf.get(address).body, "disable_on_destroy") is False


def test_every_api_a_declared_resource_or_a_launched_job_calls_is_enabled() -> None:
    tf = load()
    enabled = _enabled(tf, "apis") | _enabled(tf, "bootstrap_apis")
    needed = set(LAUNCHED_APIS)
    for resource in tf.resources:
        needed |= {api for prefix, api in API_OF_TYPE.items() if resource.type.startswith(prefix)}

    assert needed <= enabled, f"enable {sorted(needed - enabled)} in apis.tf"


def test_the_pause_follows_the_enablement() -> None:
    sleep = load().get(WAIT)

    assert sleep.depends_on() == ["google_project_service.apis"]
    assert attr(sleep.body, "create_duration") == "60s"


def _api_backed(tf: Terraform) -> list[Resource]:
    return [
        r
        for r in tf.resources
        if r.type.startswith("google_") and r.type != "google_project_service" and not r.type.endswith("_iam_member")
    ]


def test_every_api_backed_resource_waits_for_the_pause() -> None:
    tf = load()

    late = [r.address for r in _api_backed(tf) if not waits_for(tf, r.address, WAIT)]

    assert not late, f"these would race the API enablement on a fresh project: {late}"


def test_the_wait_check_sees_a_resource_that_does_not_wait() -> None:
    tf = load()
    stray = Resource("google_storage_bucket", "stray", {"name": ["x"]}, "storage.tf")
    with_stray = Terraform((*tf.resources, stray), tf.data, tf.variables, tf.locals, tf.outputs, tf.sources)

    assert not waits_for(with_stray, stray.address, WAIT)
    assert waits_for(with_stray, "google_storage_bucket.uploads", WAIT)
