"""Every IAM grant in terraform/ equals this reviewed allow-list: adding, widening or moving a
grant means changing the list below, in the same change, where a reviewer sees it. None is public,
none primitive, none an admin role, each has a one-line reason in iam.tf.

checkov's IAM checks do not cover most of this: its "not public" rules know the gen-1
google_cloudfunctions_function and v1 google_cloud_run_service IAM resources, not the
google_cloud_run_v2_service_iam_member that 2nd-gen invoker grants use.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from tests.terraform.hcl import Resource, attr, blocks, expr, load

_TARGETS = (
    "managed_folder",
    "bucket",
    "secret_id",
    "name",
    "web_backend_service",
    "repository",
    "service_account_id",
    "topic",
    "subscription",
    "project",
)
_FIRESTORE_DATABASE = "local.firestore_condition"
_GCF_SOURCES = (
    'resource.name.startsWith(\\"projects/_/buckets/gcf-v2-sources-${data.google_project.this.number}-${var.region}\\")'
)


class Grant(NamedTuple):
    type: str
    target: str
    role: str
    member: str
    condition: str | None = None


UPLOAD = "google_service_account.upload.member"
PANEL = "google_service_account.panel.member"
TRIGGER = "google_service_account.trigger.member"
TRAINING = "google_service_account.training.member"
_PREFIX = (
    'resource.type == \\"storage.googleapis.com/Bucket\\" || resource.name.startsWith(\\"projects/_/buckets/'
    '${{{bucket}}}/objects/{prefix}\\")'
)
BUILD = "google_service_account.build.member"
DATAFLOW = "google_service_account.dataflow.member"
PUBSUB_AGENT = "google_project_service_identity.pubsub.member"
_JOBS_PREFIX = (
    'resource.type == \\"storage.googleapis.com/Bucket\\" || resource.name.startsWith(\\"projects/_/buckets/'
    '${google_storage_bucket.jobs.name}/objects/{prefix}/\\")'
)
_IMPORT_TEMPLATE = (
    'resource.name == \\"projects/_/buckets/${google_storage_bucket.jobs.name}/objects/'
    '${var.import_jobs.template_object}\\"'
)

REVIEWED_GRANTS = {
    # on_upload reads the object version its event names, and the model releases it serves.
    Grant(
        "google_storage_bucket_iam_member", "google_storage_bucket.uploads.name", "roles/storage.objectViewer", UPLOAD
    ),
    Grant(
        "google_storage_bucket_iam_member", "google_storage_bucket.models.name", "roles/storage.objectViewer", UPLOAD
    ),
    # on_upload writes the ledger, products and imports in the one database.
    Grant("google_project_iam_member", "var.project_id", "roles/datastore.user", UPLOAD, _FIRESTORE_DATABASE),
    # The panel shows scored photos, retries failed uploads as new generations, and reads the
    # releases' taxonomies ...
    Grant(
        "google_storage_bucket_iam_member",
        "google_storage_bucket.uploads.name",
        "google_project_iam_custom_role.uploads_rewriter.name",
        PANEL,
    ),
    Grant("google_storage_bucket_iam_member", "google_storage_bucket.models.name", "roles/storage.objectViewer", PANEL),
    # ... reads the queue and writes reviews in the one database ...
    Grant("google_project_iam_member", "var.project_id", "roles/datastore.user", PANEL, _FIRESTORE_DATABASE),
    # ... and reads its CSRF secret, that secret only.
    Grant(
        "google_secret_manager_secret_iam_member",
        "google_secret_manager_secret.panel.id",
        "roles/secretmanager.secretAccessor",
        PANEL,
    ),
    # IAP's service agent calls the panel for the reviewers it let through.
    Grant(
        "google_cloud_run_v2_service_iam_member",
        "google_cloudfunctions2_function.panel.name",
        "roles/run.invoker",
        "serviceAccount:${google_project_service_identity.iap.email}",
    ),
    # Reviewers (var.reviewers) pass IAP to the panel's backend, nothing else.
    Grant(
        "google_iap_web_backend_service_iam_member",
        "google_compute_backend_service.panel.name",
        "roles/iap.httpsResourceAccessor",
        "user:${each.value}",
    ),
    # The trigger's account receives the events and may call on_upload alone.
    Grant("google_project_iam_member", "var.project_id", "roles/eventarc.eventReceiver", TRIGGER),
    Grant(
        "google_cloud_run_v2_service_iam_member",
        "google_cloudfunctions2_function.on_upload.name",
        "roles/run.invoker",
        TRIGGER,
    ),
    # Cloud Storage's agent publishes object events to Eventarc's topic (named by Eventarc).
    Grant(
        "google_project_iam_member",
        "var.project_id",
        "roles/pubsub.publisher",
        "serviceAccount:${data.google_storage_project_service_account.storage.email_address}",
    ),
    # Eventarc's agent gets its own role up front (terraform-provider-google issue 25294).
    Grant(
        "google_project_iam_member",
        "var.project_id",
        "roles/eventarc.serviceAgent",
        "serviceAccount:${google_project_service_identity.eventarc.email}",
    ),
    # Cloud Build pushes the functions' image to their repository, logs, and reads the source
    # with the storage role Google documents for a build account, on the two source buckets only.
    Grant(
        "google_artifact_registry_repository_iam_member",
        "google_artifact_registry_repository.functions.name",
        "roles/artifactregistry.writer",
        BUILD,
    ),
    Grant("google_project_iam_member", "var.project_id", "roles/logging.logWriter", BUILD),
    Grant("google_storage_bucket_iam_member", "google_storage_bucket.source.name", "roles/storage.objectAdmin", BUILD),
    Grant("google_project_iam_member", "var.project_id", "roles/storage.objectAdmin", BUILD, _GCF_SOURCES),
    # Each vendor creates and replaces objects in its own folder only.
    Grant(
        "google_storage_managed_folder_iam_member",
        "google_storage_managed_folder.vendors[each.key].name",
        "roles/storage.objectUser",
        "each.value",
    ),
    # Vertex AI training jobs read the training data prefix, publish new releases into the models
    # bucket (create and list; never replace or delete), write their files under vertex/ of the
    # jobs bucket, and log.
    Grant(
        "google_storage_bucket_iam_member",
        "local.training_data.bucket",
        "roles/storage.objectViewer",
        TRAINING,
        _PREFIX.format(bucket="local.training_data.bucket", prefix="${local.training_data.prefix}").replace(" ", ""),
    ),
    Grant(
        "google_storage_bucket_iam_member", "google_storage_bucket.models.name", "roles/storage.objectCreator", TRAINING
    ),
    Grant(
        "google_storage_bucket_iam_member", "google_storage_bucket.models.name", "roles/storage.objectViewer", TRAINING
    ),
    Grant(
        "google_storage_bucket_iam_member",
        "google_storage_bucket.jobs.name",
        "roles/storage.objectUser",
        TRAINING,
        _PREFIX.format(bucket="google_storage_bucket.jobs.name", prefix="vertex/").replace(" ", ""),
    ),
    Grant("google_project_iam_member", "var.project_id", "roles/logging.logWriter", TRAINING),
    # The people in var.trainers submit jobs (Vertex AI's user role exists on projects), run them
    # as the training account alone, and read the jobs' outputs under vertex/.
    Grant("google_project_iam_member", "var.project_id", "roles/aiplatform.user", "each.value"),
    Grant(
        "google_service_account_iam_member",
        "google_service_account.training.name",
        "roles/iam.serviceAccountUser",
        "each.value",
    ),
    Grant(
        "google_storage_bucket_iam_member",
        "google_storage_bucket.jobs.name",
        "roles/storage.objectUser",
        "each.value",
        _PREFIX.format(bucket="google_storage_bucket.jobs.name", prefix="vertex/").replace(" ", ""),
    ),
    # Pub/Sub's agent dead-letters what on_upload could not answer: it publishes to the dead-letter
    # topic and acknowledges on the trigger's subscription, nothing else.
    Grant(
        "google_pubsub_topic_iam_member", "google_pubsub_topic.dead_letter.id", "roles/pubsub.publisher", PUBSUB_AGENT
    ),
    Grant(
        "google_pubsub_subscription_iam_member",
        "local.uploads_subscription",
        "roles/pubsub.subscriber",
        PUBSUB_AGENT,
    ),
    # The import job's workers: Dataflow's worker role and logs (project-only roles), the vendor
    # file, the releases, the one database, their own prefix of the jobs bucket, their image.
    Grant("google_project_iam_member", "var.project_id", "roles/dataflow.worker", DATAFLOW),
    Grant("google_project_iam_member", "var.project_id", "roles/logging.logWriter", DATAFLOW),
    Grant(
        "google_storage_bucket_iam_member", "google_storage_bucket.uploads.name", "roles/storage.objectViewer", DATAFLOW
    ),
    Grant(
        "google_storage_bucket_iam_member", "google_storage_bucket.models.name", "roles/storage.objectViewer", DATAFLOW
    ),
    Grant("google_project_iam_member", "var.project_id", "roles/datastore.user", DATAFLOW, _FIRESTORE_DATABASE),
    Grant(
        "google_storage_bucket_iam_member",
        "google_storage_bucket.jobs.name",
        "roles/storage.objectUser",
        DATAFLOW,
        _JOBS_PREFIX.replace("{prefix}", "dataflow").replace(" ", ""),
    ),
    Grant(
        "google_artifact_registry_repository_iam_member",
        "google_artifact_registry_repository.batch.name",
        "roles/artifactregistry.reader",
        DATAFLOW,
    ),
    # on_upload launches the import job (Dataflow's developer role exists on projects only), as the
    # workers' account alone, from the one template spec.
    Grant("google_project_iam_member", "var.project_id", "roles/dataflow.developer", UPLOAD),
    Grant(
        "google_service_account_iam_member",
        "google_service_account.dataflow.name",
        "roles/iam.serviceAccountUser",
        UPLOAD,
    ),
    Grant(
        "google_storage_bucket_iam_member",
        "google_storage_bucket.jobs.name",
        "roles/storage.objectViewer",
        UPLOAD,
        _IMPORT_TEMPLATE.replace(" ", ""),
    ),
}

PRIMITIVE_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}
# The one admin role granted: objects only, and only on the buckets that hold the functions' source
# (Google documents it for a custom build account).
REVIEWED_ADMIN_GRANTS = {g for g in REVIEWED_GRANTS if g.role == "roles/storage.objectAdmin" and g.member == BUILD}
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")


def _code(text: str) -> str:
    return re.sub(r"\s", "", str(text))


def grant_of(resource: Resource) -> Grant:
    target = next(expr(attr(resource.body, key)) for key in _TARGETS if key in resource.body)
    conditions = blocks(resource.body, "condition")
    condition = _code(expr(attr(conditions[0], "expression"))) if conditions else None
    return Grant(
        resource.type,
        _code(target),
        expr(attr(resource.body, "role")),
        _code(expr(attr(resource.body, "member"))),
        condition,
    )


def declared_grants() -> list[Grant]:
    return [grant_of(resource) for resource in load().iam_members()]


def test_the_grants_are_exactly_the_reviewed_ones() -> None:
    declared = declared_grants()

    unreviewed = set(declared) - REVIEWED_GRANTS
    gone = REVIEWED_GRANTS - set(declared)

    assert not unreviewed, f"grants not in the reviewed allow-list: {sorted(unreviewed)}"
    assert not gone, f"reviewed grants no longer declared: {sorted(gone)}"
    assert len(declared) == len(set(declared))


def test_a_widened_grant_is_not_reviewed() -> None:
    # The comparison is not blind to the condition: the same role without it is another grant.
    upload_firestore = next(g for g in REVIEWED_GRANTS if g.role == "roles/datastore.user" and g.member == UPLOAD)

    assert upload_firestore._replace(condition=None) not in REVIEWED_GRANTS


def test_the_firestore_condition_names_the_one_database() -> None:
    condition = _code(attr(load().locals, "firestore_condition"))

    assert condition == _code(
        'resource.name == \\"projects/${var.project_id}/databases/${google_firestore_database.this.name}\\"'
    )


def test_no_grant_is_public_anywhere() -> None:
    for file, text in load().all_strings():
        for member in PUBLIC_MEMBERS:
            assert member not in text, f"{file} mentions {member}"


def test_no_primitive_or_admin_role_is_granted() -> None:
    for grant in declared_grants():
        assert grant.role not in PRIMITIVE_ROLES, grant
        assert "admin" not in grant.role.lower() or grant in REVIEWED_ADMIN_GRANTS, grant
    assert len(REVIEWED_ADMIN_GRANTS) == 2


def test_only_additive_iam_resources_are_used() -> None:
    # *_iam_binding and *_iam_policy replace what others granted; *_iam_member adds one member.
    for resource in load().iam_members():
        assert resource.type.endswith("_iam_member"), resource.address


def test_every_grant_says_why_in_a_comment_above_it() -> None:
    tf = load()
    for resource in tf.iam_members():
        lines = tf.sources[resource.file].splitlines()
        header = f'resource "{resource.type}" "{resource.name}"'
        at = next(i for i, line in enumerate(lines) if line.startswith(header))
        assert lines[at - 1].startswith("# "), f"{resource.address} needs a one-line reason above it"


def test_each_workload_runs_as_its_own_account() -> None:
    tf = load()
    accounts = {
        function.name: expr(attr(function.body["service_config"][0], "service_account_email"))
        for function in tf.of_type("google_cloudfunctions2_function")
    }
    builds = {
        expr(attr(f.body["build_config"][0], "service_account")) for f in tf.of_type("google_cloudfunctions2_function")
    }
    trigger = expr(attr(tf.get("google_eventarc_trigger.uploads_finalized").body, "service_account"))
    everyone = [*accounts.values(), trigger, *builds]

    assert accounts == {
        "on_upload": "google_service_account.upload.email",
        "panel": "google_service_account.panel.email",
    }
    assert trigger == "google_service_account.trigger.email"
    assert builds == {"google_service_account.build.id"}
    assert len({account.split(".")[1] for account in everyone}) == 4


def test_the_panel_may_read_and_rewrite_uploads_and_nothing_else() -> None:
    role = load().get("google_project_iam_custom_role.uploads_rewriter").body

    # copy_to_new_generation (adapters/storage.py) reads the source generation and writes the
    # live name again: get, create, and delete for replacing the live object. No list, no update.
    assert sorted(attr(role, "permissions")) == [
        "storage.objects.create",
        "storage.objects.delete",
        "storage.objects.get",
    ]


def test_vendors_write_only_in_their_own_folder() -> None:
    tf = load()
    folders = tf.get("google_storage_managed_folder.vendors").body
    grant = tf.get("google_storage_managed_folder_iam_member.vendor_uploads").body

    assert expr(attr(folders, "for_each")) == "var.vendors"
    assert expr(attr(folders, "name")) == "${each.key}/"
    assert expr(attr(folders, "bucket")) == "google_storage_bucket.uploads.name"
    assert expr(attr(grant, "for_each")) == "var.vendors"
    assert expr(attr(grant, "managed_folder")) == "google_storage_managed_folder.vendors[each.key].name"
    # No vendor principal is granted anything on a bucket or the project.
    for resource in tf.iam_members():
        if "var.vendors" in str(attr(resource.body, "for_each")):
            assert resource.type == "google_storage_managed_folder_iam_member", resource.address
