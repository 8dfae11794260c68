# on_upload: every new object version in the uploads bucket, photo or price list.
#
# Built by Cloud Functions (2nd gen) from a zip of functions/ with its pinned requirements.txt,
# and run as a Cloud Run service. It is deployed as an HTTP function with its own Eventarc trigger
# (delivery.tf) rather than with the function's built-in event_trigger, so that the trigger's
# subscription (ack deadline, retries, dead letters) is ours to set. The entry point is still the
# CloudEvent function: functions-framework takes the signature from its @cloud_event decorator,
# and Eventarc delivers the same binary-mode CloudEvent either way.
#
# Every request must end within the subscription's ack deadline (at most 600 s, Pub/Sub's limit),
# or Pub/Sub delivers the event again while it still runs and counts a failed delivery. So a
# vendor file above import_jobs.big_file_bytes is not imported here: the function launches the
# import job (dataflow.tf) and answers.

locals {
  upload_function = "catalogist-on-upload"
}

# The deploy bundle: main.py, requirements.txt and the catalogist package.
data "archive_file" "functions" {
  type        = "zip"
  source_dir  = "${path.module}/../functions"
  output_path = "${path.module}/.build/functions.zip"
  excludes    = ["**/__pycache__/**", "**/*.pyc"]
  # The same files give the same zip, hence the same object name and no rebuild, whatever
  # permissions a checkout left on them (umask, CI runner).
  output_file_mode = "0644"
}

# Named after its content, so a code change is a new object and a new build; the same code is not
# rebuilt.
resource "google_storage_bucket_object" "functions" {
  bucket = google_storage_bucket.source.name
  name   = "functions-${data.archive_file.functions.output_sha256}.zip"
  source = data.archive_file.functions.output_path
}

# Where Cloud Build puts the functions' images; our own, so the build account writes only here.
resource "google_artifact_registry_repository" "functions" {
  # checkov:skip=CKV_GCP_84: the images hold the open source of functions/ and public packages,
  # nothing secret; a customer-managed key would add a KMS key ring and key that outlive the
  # project's deletion for no protection gained. Google-managed encryption applies.
  repository_id = "catalogist-functions"
  location      = var.region
  format        = "DOCKER"
  description   = "Images of the Catalogist functions, built from the zip of functions/."
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

resource "google_cloudfunctions2_function" "on_upload" {
  name     = local.upload_function
  location = var.region
  labels   = var.labels

  build_config {
    runtime           = "python312"
    entry_point       = "on_upload"
    docker_repository = google_artifact_registry_repository.functions.id
    service_account   = google_service_account.build.id
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.functions.name
      }
    }
  }

  service_config {
    service_account_email = google_service_account.upload.email
    # Only Eventarc (Pub/Sub push) calls it; nothing on the internet can.
    ingress_settings               = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true

    available_cpu                    = var.upload_function.cpu
    available_memory                 = var.upload_function.memory
    max_instance_request_concurrency = var.upload_function.concurrency
    max_instance_count               = var.upload_function.max_instances
    min_instance_count               = 0
    timeout_seconds                  = var.upload_function.timeout_seconds

    # The names catalogist.settings.Settings.from_env reads (tests/terraform/test_settings.py).
    environment_variables = {
      GOOGLE_CLOUD_PROJECT          = var.project_id
      CATALOGIST_MODELS_BUCKET      = google_storage_bucket.models.name
      CATALOGIST_CLASSIFIER_RELEASE = var.releases.classifier
      CATALOGIST_TEXTCAT_RELEASE    = var.releases.textcat
      CATALOGIST_PRICE_RELEASE      = var.releases.price
      CATALOGIST_CURRENCY           = var.currency
      CATALOGIST_DECODE_MEMORY_MB   = var.upload_function.decode_memory_mb
      CATALOGIST_LOG_LEVEL          = var.log_level
      # Its own attempts before an upload ends `failed`: fewer than the subscription's delivery
      # attempts (delivery.tf), so the upload is recorded and shown before any dead letter.
      CATALOGIST_MAX_ATTEMPTS = var.delivery.max_attempts
      # Older events are acknowledged unprocessed: as old as the subscription keeps them.
      CATALOGIST_MAX_EVENT_AGE_SECONDS = local.max_event_age_seconds
      # The vendor folders uploads are accepted from: the folders storage.tf lets them write.
      CATALOGIST_VENDORS = join(",", sort(keys(var.vendors)))
      # Vendor files above this size are imported by a Dataflow job, not in the delivery.
      CATALOGIST_BIG_FILE_BYTES            = var.import_jobs.big_file_bytes
      CATALOGIST_IMPORT_JOBS               = "dataflow"
      CATALOGIST_IMPORT_JOB_TEMPLATE       = local.import_template
      CATALOGIST_DATAFLOW_REGION           = local.dataflow_region
      CATALOGIST_DATAFLOW_SERVICE_ACCOUNT  = google_service_account.dataflow.email
      CATALOGIST_DATAFLOW_TEMP_LOCATION    = local.dataflow_temp_location
      CATALOGIST_DATAFLOW_STAGING_LOCATION = local.dataflow_staging_location
      CATALOGIST_DATAFLOW_SUBNETWORK       = var.import_jobs.subnetwork
      CATALOGIST_DATAFLOW_MAX_WORKERS      = var.import_jobs.max_workers
      # gunicorn's request threads (functions-framework) and the classifier's interpreter pool:
      # must equal the requests Cloud Run sends one instance at once.
      THREADS = var.upload_function.concurrency
    }
  }

  depends_on = [
    time_sleep.build_grants,
  ]
}
