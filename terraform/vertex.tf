# Training on Vertex AI custom jobs (issue #25): `catalogist train classifier --vertex` submits a
# job that runs the trainer image as catalogist-training, reads the training data, keeps its
# checkpoints and TensorBoard logs in its output folder, and publishes the finished release into
# the models bucket as a new version, as `catalogist release publish` does. It may create objects
# there but not replace or delete any (overwriting needs storage.objects.delete): a release in
# service stays the bytes that were checked, and serving one is still an operator's change of
# CATALOGIST_CLASSIFIER_RELEASE.
#
#   training data   var.training_data (gs://bucket/prefix/): photos packed by `catalogist prepare photos`
#   job files       gs://JOBS/vertex/<job>/ (checkpoints, TensorBoard logs)
#   image           REGION-docker.pkg.dev/PROJECT/catalogist-batch/trainer (training/Dockerfile, built by CI)
#   releases        gs://MODELS/classifier/<version>/

locals {
  training_data_location = coalesce(var.training_data, "gs://${var.jobs_bucket}/training-data/")
  training_data          = regex("^gs://(?P<bucket>[a-z0-9][a-z0-9_-]{1,61}[a-z0-9])/(?P<prefix>.*)$", local.training_data_location)
  vertex_staging         = "gs://${google_storage_bucket.jobs.name}/vertex"
  trainer_image          = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.batch.repository_id}/trainer"
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

# Publishes releases: creates new objects in the models bucket, never replaces or deletes one.
resource "google_storage_bucket_iam_member" "training_publishes_releases" {
  bucket = google_storage_bucket.models.name
  role   = "roles/storage.objectCreator"
  member = google_service_account.training.member
}

# ... and lists it, to refuse a version that exists before writing anything (release.py).
resource "google_storage_bucket_iam_member" "training_lists_releases" {
  bucket = google_storage_bucket.models.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.training.member
}

# Writes the job's checkpoints and logs under vertex/ of the jobs bucket, and resumes from them.
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

# ... and read the jobs' outputs under vertex/ (what `--vertex` prints, TensorBoard).
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
