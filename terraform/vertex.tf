# Training on Vertex AI custom jobs (issue #25): `catalogist train ... --vertex` submits a job that
# runs as catalogist-training, reads the training data, and writes what it trains under the models
# bucket's staging/ prefix. Only `catalogist release publish` (an operator, after the evaluation
# gate) turns a staged model into a release the function serves: the trainer cannot overwrite one.
#
#   training data   var.training_data (gs://bucket/prefix/)
#   job files       gs://JOBS/vertex/ (the packaged trainer, the job's base output directory)
#   trained models  gs://MODELS/staging/

locals {
  training_data_location = coalesce(var.training_data, "gs://${var.jobs_bucket}/training-data/")
  training_data          = regex("^gs://(?P<bucket>[a-z0-9][a-z0-9_-]{1,61}[a-z0-9])/(?P<prefix>.*)$", local.training_data_location)
  vertex_staging         = "gs://${google_storage_bucket.jobs.name}/vertex"
  models_staging         = "gs://${google_storage_bucket.models.name}/staging"
}

resource "google_service_account" "training" {
  account_id   = "catalogist-training"
  display_name = "Catalogist training jobs (Vertex AI custom jobs)"
  depends_on   = [time_sleep.apis]
}

# Reads the labelled photos and exports under the training data prefix (listing is a bucket-level
# check, hence the bucket itself in the condition).
resource "google_storage_bucket_iam_member" "training_reads_data" {
  bucket = local.training_data.bucket
  role   = "roles/storage.objectViewer"
  member = google_service_account.training.member
  condition {
    title      = "training-data-only"
    expression = "resource.type == \"storage.googleapis.com/Bucket\" || resource.name.startsWith(\"projects/_/buckets/${local.training_data.bucket}/objects/${local.training_data.prefix}\")"
  }
}

# Writes trained models under staging/ of the models bucket, never over a published release.
resource "google_storage_bucket_iam_member" "training_writes_staging" {
  bucket = google_storage_bucket.models.name
  role   = "roles/storage.objectUser"
  member = google_service_account.training.member
  condition {
    title      = "models-staging-only"
    expression = "resource.type == \"storage.googleapis.com/Bucket\" || resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.models.name}/objects/staging/\")"
  }
}

# Reads its packaged code and writes the job's outputs under vertex/ of the jobs bucket.
resource "google_storage_bucket_iam_member" "training_uses_its_prefix" {
  bucket = google_storage_bucket.jobs.name
  role   = "roles/storage.objectUser"
  member = google_service_account.training.member
  condition {
    title      = "vertex-prefix-only"
    expression = "resource.type == \"storage.googleapis.com/Bucket\" || resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.jobs.name}/objects/vertex/\")"
  }
}

# Writes the job's logs (log writing is granted on projects only).
resource "google_project_iam_member" "training_writes_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.training.member
}

# Who may submit training jobs (var.trainers): create Vertex AI jobs (a project-level role) ...
resource "google_project_iam_member" "trainers_submit_jobs" {
  for_each = toset(var.trainers)
  project  = var.project_id
  role     = "roles/aiplatform.user"
  member   = each.value
}

# ... run them as the training account, and as no other ...
resource "google_service_account_iam_member" "trainers_act_as_training" {
  for_each           = toset(var.trainers)
  service_account_id = google_service_account.training.name
  role               = "roles/iam.serviceAccountUser"
  member             = each.value
}

# ... and upload the packaged trainer under vertex/.
resource "google_storage_bucket_iam_member" "trainers_stage_jobs" {
  for_each = toset(var.trainers)
  bucket   = google_storage_bucket.jobs.name
  role     = "roles/storage.objectUser"
  member   = each.value
  condition {
    title      = "vertex-prefix-only"
    expression = "resource.type == \"storage.googleapis.com/Bucket\" || resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.jobs.name}/objects/vertex/\")"
  }
}
