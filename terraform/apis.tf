# The APIs the system uses, and the Google-managed service agents that must exist before anything
# grants them roles.
#
# On a fresh project the order matters (tests/terraform/test_apis.py):
#   1. Cloud Resource Manager and Service Usage: every other API is enabled through Service
#      Usage, and the project's own lookups go through Resource Manager. terraform/bootstrap/
#      enables them too (a project whose Service Usage API is off cannot turn anything on, not
#      even itself, through the API); here they are declared first so that a project bootstrapped
#      by hand fails on them, with their names, rather than on the first of a dozen others.
#   2. The other APIs, once those two are on.
#   3. A pause: an API reported enabled is not yet usable everywhere, and the first create call
#      fails with "SERVICE_DISABLED ... has not been used in project" for a minute or so. Every
#      resource that calls an API waits for time_sleep.apis, never for the enablement itself.

locals {
  bootstrap_apis = [
    "cloudresourcemanager.googleapis.com", # project lookups, IAM policy of the project
    "serviceusage.googleapis.com",         # enables every API below
  ]
  apis = [
    "aiplatform.googleapis.com",      # Vertex AI custom training jobs (vertex.tf)
    "artifactregistry.googleapis.com", # the functions' images and the import template's image
    "billingbudgets.googleapis.com",  # the budget (monitoring.tf)
    "cloudbuild.googleapis.com",      # builds the functions from the zip of functions/
    "cloudfunctions.googleapis.com",  # on_upload and panel (2nd gen: Cloud Run services)
    "compute.googleapis.com",         # the panel's HTTPS load balancer; Dataflow's workers
    "dataflow.googleapis.com",        # big vendor files' import jobs (dataflow.tf)
    "eventarc.googleapis.com",        # object.finalized -> on_upload
    "firestore.googleapis.com",       # products, imports, uploads, reviews
    "iam.googleapis.com",             # service accounts
    "iap.googleapis.com",             # Identity-Aware Proxy in front of the panel
    "logging.googleapis.com",         # structured logs of both workloads, log-based metrics
    "monitoring.googleapis.com",      # alert policies, uptime check, dashboard
    "pubsub.googleapis.com",          # Eventarc's transport for Storage events; dead letters
    "run.googleapis.com",             # what 2nd-gen functions run on
    "secretmanager.googleapis.com",   # the panel's CSRF secret
    "storage.googleapis.com",         # uploads, models, function source, batch jobs
  ]
}

resource "google_project_service" "bootstrap" {
  for_each = toset(local.bootstrap_apis)
  service  = each.value
  # Turning an API off on destroy would break anything else in the project that uses it.
  disable_on_destroy = false
}

resource "google_project_service" "apis" {
  for_each           = toset(local.apis)
  service            = each.value
  disable_on_destroy = false

  depends_on = [google_project_service.bootstrap]
}

# Enabled is not usable yet: the first calls right after enablement fail for about a minute.
resource "time_sleep" "apis" {
  create_duration = "60s"
  # A new API in the list waits again; the others are already usable.
  triggers = {
    apis = join(",", sort(local.apis))
  }

  depends_on = [google_project_service.apis]
}

# terraform-provider-google issue 25294 (and 14584): on a fresh project the Eventarc service agent
# is created lazily, so the first trigger fails with "Permission denied while using the Eventarc
# Service Agent". Create it explicitly here, grant it its role (iam.tf), wait for IAM to
# propagate (time_sleep.service_agents), and make the trigger depend on that wait.
resource "google_project_service_identity" "eventarc" {
  provider = google-beta
  service  = "eventarc.googleapis.com"

  depends_on = [time_sleep.apis]
}

# IAP's service agent calls the panel's Cloud Run service once a reviewer is let through.
resource "google_project_service_identity" "iap" {
  provider = google-beta
  service  = "iap.googleapis.com"

  depends_on = [time_sleep.apis]
}

# Pub/Sub's service agent moves a message that failed too often to the dead-letter topic: it must
# exist before it is granted that (delivery.tf).
resource "google_project_service_identity" "pubsub" {
  provider = google-beta
  service  = "pubsub.googleapis.com"

  depends_on = [time_sleep.apis]
}

# The Cloud Storage service agent publishes object events to Eventarc's Pub/Sub topic. Reading
# this data source also creates the agent on a project that has none yet.
data "google_storage_project_service_account" "storage" {
  depends_on = [time_sleep.apis]
}

data "google_project" "this" {
  project_id = var.project_id

  depends_on = [google_project_service.bootstrap]
}
