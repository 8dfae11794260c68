# Identities and every grant, each on the narrowest resource the API allows, each with its reason.
# The batch jobs' identities and grants are in dataflow.tf and vertex.tf, Pub/Sub's dead-letter
# grants in delivery.tf, the vendors' in storage.tf, the CI deployer's in bootstrap/.
# No primitive roles (owner, editor, viewer), no *.admin roles, no allUsers or
# allAuthenticatedUsers. Only *_iam_member resources, which add one binding and leave the rest of
# a policy alone. tests/terraform/test_iam.py holds the reviewed allow-list these must equal:
# adding a grant means changing that list too.

# One service account per workload.

resource "google_service_account" "upload" {
  account_id   = "catalogist-on-upload"
  display_name = "Catalogist on_upload (photos and price lists)"
  depends_on   = [time_sleep.apis]
}

resource "google_service_account" "panel" {
  account_id   = "catalogist-panel"
  display_name = "Catalogist review panel"
  depends_on   = [time_sleep.apis]
}

resource "google_service_account" "trigger" {
  account_id   = "catalogist-trigger"
  display_name = "Catalogist Eventarc trigger (uploads -> on_upload)"
  depends_on   = [time_sleep.apis]
}

resource "google_service_account" "build" {
  account_id   = "catalogist-build"
  display_name = "Catalogist function builds (Cloud Build)"
  depends_on   = [time_sleep.apis]
}

locals {
  # Firestore has no per-collection IAM; a condition narrows the grant to the one database.
  firestore_condition = "resource.name == \"projects/${var.project_id}/databases/${google_firestore_database.this.name}\""
}

# on_upload

# Reads each uploaded object version its event names (photos whole, price lists streamed).
resource "google_storage_bucket_iam_member" "upload_reads_uploads" {
  bucket = google_storage_bucket.uploads.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.upload.member
}

# Lists and downloads the model releases it serves, once per instance.
resource "google_storage_bucket_iam_member" "upload_reads_models" {
  bucket = google_storage_bucket.models.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.upload.member
}

# Writes the ledger, products and imports; reads products to merge photos and rows.
resource "google_project_iam_member" "upload_uses_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.upload.member
  condition {
    title      = "catalogist-database"
    expression = local.firestore_condition
  }
}

# panel

# What the panel does with uploads, and no more: reads a photo by the generation that was scored
# (get), and for the Retry button rewrites an object onto its own name as a new generation
# (copy_to_new_generation: get the source, create the target, and delete, because replacing the
# live object needs it). storage.objectUser would add list, update, restore and multipart uploads.
resource "google_project_iam_custom_role" "uploads_rewriter" {
  role_id     = "catalogistUploadsRewriter"
  title       = "Catalogist panel: read and re-upload uploads"
  description = "Read an upload, and write it again as a new generation of itself (the panel's Retry)."
  permissions = [
    "storage.objects.create",
    "storage.objects.delete",
    "storage.objects.get",
  ]

  depends_on = [time_sleep.apis]
}

# Shows scored photos and retries failed uploads (the custom role above), on the uploads bucket.
resource "google_storage_bucket_iam_member" "panel_uses_uploads" {
  bucket = google_storage_bucket.uploads.name
  role   = google_project_iam_custom_role.uploads_rewriter.name
  member = google_service_account.panel.member
}

# Reads the manifests and taxonomies of the releases in service (correction choices, overview).
resource "google_storage_bucket_iam_member" "panel_reads_models" {
  bucket = google_storage_bucket.models.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.panel.member
}

# Reads the queue, imports and ledger; writes reviews and the human decisions on products.
resource "google_project_iam_member" "panel_uses_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.panel.member
  condition {
    title      = "catalogist-database"
    expression = local.firestore_condition
  }
}

# Reads its CSRF secret (CATALOGIST_PANEL_SECRET) at start-up; this secret only.
resource "google_secret_manager_secret_iam_member" "panel_reads_secret" {
  secret_id = google_secret_manager_secret.panel.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.panel.member
}

# Lets IAP's service agent call the panel once IAP has let a reviewer through.
resource "google_cloud_run_v2_service_iam_member" "iap_invokes_panel" {
  location = var.region
  name     = google_cloudfunctions2_function.panel.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_project_service_identity.iap.email}"

  # A replaced function is a new Cloud Run service with an empty policy, while the state still
  # holds the grant: replace the grant with it (only a replacement gives the function a new id).
  lifecycle {
    replace_triggered_by = [google_cloudfunctions2_function.panel.id]
  }
}

# Lets each reviewer through IAP (the panel checks CATALOGIST_REVIEWERS again).
resource "google_iap_web_backend_service_iam_member" "reviewers" {
  for_each            = toset(var.reviewers)
  web_backend_service = google_compute_backend_service.panel.name
  role                = "roles/iap.httpsResourceAccessor"
  member              = "user:${each.value}"

  # A replaced backend service starts with an empty IAP policy.
  lifecycle {
    replace_triggered_by = [google_compute_backend_service.panel.id]
  }
}

# The Eventarc trigger

# Receives the uploads bucket's events (a project-level role: it exists on no narrower resource).
resource "google_project_iam_member" "trigger_receives_events" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = google_service_account.trigger.member
}

# Delivers each event to on_upload, and to nothing else.
resource "google_cloud_run_v2_service_iam_member" "trigger_invokes_on_upload" {
  location = var.region
  name     = google_cloudfunctions2_function.on_upload.name
  role     = "roles/run.invoker"
  member   = google_service_account.trigger.member

  # As for the panel: a replaced function comes back without its invoker.
  lifecycle {
    replace_triggered_by = [google_cloudfunctions2_function.on_upload.id]
  }
}

# Google's service agents

# Cloud Storage publishes object events to the Pub/Sub topic Eventarc creates for the trigger;
# the topic's name is Eventarc's choice, so the grant is on the project.
resource "google_project_iam_member" "storage_agent_publishes_events" {
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.storage.email_address}"
}

# The Eventarc service agent's own role, granted explicitly: on a fresh project it is not there
# yet when the first trigger is created (terraform-provider-google issue 25294).
resource "google_project_iam_member" "eventarc_agent" {
  # checkov:skip=CKV_GCP_49: this is Google's own Eventarc service agent receiving the role Google
  # normally grants it on its own (it mints the trigger account's tokens to deliver events); the
  # grant is made explicit only so the first apply does not race it (issue 25294).
  project = var.project_id
  role    = "roles/eventarc.serviceAgent"
  member  = "serviceAccount:${google_project_service_identity.eventarc.email}"
}

# Grants to new service agents take a while to be seen; the trigger waits for this.
resource "time_sleep" "service_agents" {
  create_duration = "90s"
  depends_on = [
    google_project_iam_member.eventarc_agent,
    google_project_iam_member.storage_agent_publishes_events,
    google_project_iam_member.trigger_receives_events,
    google_cloud_run_v2_service_iam_member.trigger_invokes_on_upload,
  ]
}

# Cloud Build, building the functions' image from the zip

# Pushes the built image to the functions' repository, and only there.
resource "google_artifact_registry_repository_iam_member" "build_writes_images" {
  location   = google_artifact_registry_repository.functions.location
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.build.member
}

# Writes the build's logs (log writing is granted on projects only).
resource "google_project_iam_member" "build_writes_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.build.member
}

# Reads the zip of functions/: objectAdmin is the storage role Google documents for a custom
# build account; it is granted on this one bucket, which holds nothing but the zips.
resource "google_storage_bucket_iam_member" "build_uses_source" {
  bucket = google_storage_bucket.source.name
  role   = "roles/storage.objectAdmin"
  member = google_service_account.build.member
}

# Reads the copy of the source Cloud Functions stages in its own bucket (gcf-v2-sources-NUMBER-
# REGION, created by Cloud Functions, so not grantable by bucket here): the same documented role,
# as a project grant whose condition admits that bucket and its objects alone.
resource "google_project_iam_member" "build_uses_function_sources" {
  project = var.project_id
  role    = "roles/storage.objectAdmin"
  member  = google_service_account.build.member
  condition {
    title      = "gcf-v2-sources-only"
    expression = "resource.name.startsWith(\"projects/_/buckets/gcf-v2-sources-${data.google_project.this.number}-${var.region}\")"
  }
}

# A new grant takes a minute or more to be seen by the service that checks it; the first build
# of a fresh project otherwise fails with a storage or Artifact Registry permission error. Both
# functions wait for this.
resource "time_sleep" "build_grants" {
  create_duration = "60s"
  depends_on = [
    google_artifact_registry_repository_iam_member.build_writes_images,
    google_project_iam_member.build_writes_logs,
    google_storage_bucket_iam_member.build_uses_source,
    google_project_iam_member.build_uses_function_sources,
  ]
}
