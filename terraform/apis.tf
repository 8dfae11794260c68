# The APIs the system uses, and the Google-managed service agents that must exist before anything
# grants them roles.

locals {
  apis = [
    "artifactregistry.googleapis.com", # the functions' images
    "cloudbuild.googleapis.com",       # builds the functions from the zip of functions/
    "cloudfunctions.googleapis.com",   # on_upload and panel (2nd gen: Cloud Run services)
    "compute.googleapis.com",          # the panel's HTTPS load balancer
    "eventarc.googleapis.com",         # object.finalized -> on_upload
    "firestore.googleapis.com",        # products, imports, uploads, reviews
    "iam.googleapis.com",              # service accounts
    "iap.googleapis.com",              # Identity-Aware Proxy in front of the panel
    "logging.googleapis.com",          # structured logs of both workloads
    "pubsub.googleapis.com",           # Eventarc's transport for Storage events
    "run.googleapis.com",              # what 2nd-gen functions run on
    "secretmanager.googleapis.com",    # the panel's CSRF secret
    "storage.googleapis.com",          # uploads, models, function source
  ]
}

resource "google_project_service" "apis" {
  for_each = toset(local.apis)
  service  = each.value
  # Turning an API off on destroy would break anything else in the project that uses it.
  disable_on_destroy = false
}

# terraform-provider-google issue 25294 (and 14584): on a fresh project the Eventarc service agent
# is created lazily, so the first trigger fails with "Permission denied while using the Eventarc
# Service Agent". Create it explicitly here, grant it its role (iam.tf), wait for IAM to
# propagate (time_sleep.service_agents), and make the trigger depend on that wait.
resource "google_project_service_identity" "eventarc" {
  provider = google-beta
  service  = "eventarc.googleapis.com"

  depends_on = [google_project_service.apis]
}

# IAP's service agent calls the panel's Cloud Run service once a reviewer is let through.
resource "google_project_service_identity" "iap" {
  provider = google-beta
  service  = "iap.googleapis.com"

  depends_on = [google_project_service.apis]
}

# The Cloud Storage service agent publishes object events to Eventarc's Pub/Sub topic. Reading
# this data source also creates the agent on a project that has none yet.
data "google_storage_project_service_account" "storage" {
  depends_on = [google_project_service.apis]
}

data "google_project" "this" {
  project_id = var.project_id
}
