# Big vendor files' imports (issue #26): an Apache Beam pipeline run as a Dataflow Flex Template.
# on_upload launches it for a vendor file above import_jobs.big_file_bytes and answers the
# delivery; the job reads the file, the releases, and writes Firestore as the function would.
#
#   image       REGION-docker.pkg.dev/PROJECT/catalogist-batch/import (built by CI from
#               batch/Dockerfile, .github/workflows/terraform.yml)
#   spec        gs://JOBS/templates/import.json (written by the same CI step)
#   temp files  gs://JOBS/dataflow/tmp, staging gs://JOBS/dataflow/staging
#   identity    catalogist-dataflow, for the launcher VM and the workers

locals {
  dataflow_region           = coalesce(var.import_jobs.region, var.region)
  import_template           = "gs://${google_storage_bucket.jobs.name}/${var.import_jobs.template_object}"
  dataflow_temp_location    = "gs://${google_storage_bucket.jobs.name}/dataflow/tmp"
  dataflow_staging_location = "gs://${google_storage_bucket.jobs.name}/dataflow/staging"
  import_image              = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.batch.repository_id}/import"
}

resource "google_service_account" "dataflow" {
  account_id   = "catalogist-dataflow"
  display_name = "Catalogist import jobs (Dataflow launcher and workers)"
  depends_on   = [time_sleep.apis]
}

# The jobs' images: the import job's (batch/Dockerfile; the launcher VM pulls it) and the
# trainer (training/Dockerfile; Vertex AI's service agent pulls it within the project). CI pushes both.
resource "google_artifact_registry_repository" "batch" {
  # checkov:skip=CKV_GCP_84: the image holds the open source of the batch pipeline and public
  # packages, nothing secret; a customer-managed key would add a KMS key ring for no protection
  # gained. Google-managed encryption applies.
  repository_id = "catalogist-batch"
  location      = var.region
  format        = "DOCKER"
  description   = "The import job's Flex Template image (batch/Dockerfile) and the trainer image (training/Dockerfile), built by CI."
  labels        = var.labels

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 10
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "2592000s" # 30 days, unless among the 10 most recent
    }
  }

  depends_on = [time_sleep.apis]
}

# The workers

# Leases and reports work items (a project-level role: Dataflow grants it nowhere narrower).
resource "google_project_iam_member" "dataflow_works" {
  project = var.project_id
  role    = "roles/dataflow.worker"
  member  = google_service_account.dataflow.member
}

# Writes the launcher's and the workers' logs (log writing is granted on projects only).
resource "google_project_iam_member" "dataflow_writes_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.dataflow.member
}

# Reads the vendor file the job was launched for.
resource "google_storage_bucket_iam_member" "dataflow_reads_uploads" {
  bucket = google_storage_bucket.uploads.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.dataflow.member
}

# Loads the text and price releases, as the function does.
resource "google_storage_bucket_iam_member" "dataflow_reads_models" {
  bucket = google_storage_bucket.models.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.dataflow.member
}

# Writes products and the import's report in the one database.
resource "google_project_iam_member" "dataflow_uses_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.dataflow.member
  condition {
    title      = "catalogist-database"
    expression = local.firestore_condition
  }
}

# Writes and cleans its temp and staging files under dataflow/ (listing is a bucket-level check,
# hence the bucket itself in the condition); never the template spec or the trainer's files.
resource "google_storage_bucket_iam_member" "dataflow_uses_its_prefix" {
  bucket = google_storage_bucket.jobs.name
  role   = "roles/storage.objectUser"
  member = google_service_account.dataflow.member
  condition {
    title      = "dataflow-prefix-only"
    expression = "resource.type == \"storage.googleapis.com/Bucket\" || resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.jobs.name}/objects/dataflow/\")"
  }
}

# Pulls the template's image (the launcher VM starts it, then the workers).
resource "google_artifact_registry_repository_iam_member" "dataflow_pulls_image" {
  location   = google_artifact_registry_repository.batch.location
  repository = google_artifact_registry_repository.batch.name
  role       = "roles/artifactregistry.reader"
  member     = google_service_account.dataflow.member
}

# on_upload, launching the job

# Creates the job (dataflow.jobs.create); Dataflow grants its roles on projects only.
resource "google_project_iam_member" "upload_launches_imports" {
  # checkov:skip=CKV_GCP_49: a job launched with dataflow.developer runs as an account its
  # launcher may act as, and on_upload may act as the workers' account alone
  # (upload_acts_as_dataflow); Dataflow documents Project as this role's lowest resource.
  project = var.project_id
  role    = "roles/dataflow.developer"
  member  = google_service_account.upload.member
}

# Runs the job as the workers' account, and as no other.
resource "google_service_account_iam_member" "upload_acts_as_dataflow" {
  service_account_id = google_service_account.dataflow.name
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.upload.member
}

# Reads the one template spec it launches.
resource "google_storage_bucket_iam_member" "upload_reads_import_template" {
  bucket = google_storage_bucket.jobs.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.upload.member
  condition {
    title      = "import-template-only"
    expression = "resource.name == \"projects/_/buckets/${google_storage_bucket.jobs.name}/objects/${var.import_jobs.template_object}\""
  }
}
