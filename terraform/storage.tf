# Three buckets, none public, all with uniform bucket-level access (IAM only, no object ACLs).

# Vendors drop <vendor>/<sku>[_n].jpg|png|webp and price lists here; every new object version is
# an object.finalized event for on_upload.
#
# Versioning is on, with overwritten generations kept for uploads_retention.noncurrent_days.
# The function reads each object by the generation its event names (adapters/storage.py). With
# versioning off, a vendor who overwrites a file while its first version is still being imported
# deletes the bytes under the running import: the read fails mid-file and the upload ends
# `rejected` ("no longer exists") or retries, instead of stopping cleanly as `superseded` when the
# newer generation is recorded (docs/pipelines.md, "Newest generation wins"). A late or
# redelivered event (up to 24 h) still finds its generation. Deleting noncurrent generations after
# a few days keeps the cost of re-uploaded price lists bounded.
resource "google_storage_bucket" "uploads" {
  # checkov:skip=CKV_GCP_62: usage logs would need a fourth bucket and log every read the
  # function makes; who reads or writes objects is in Cloud Audit Logs (Data Access logs for
  # storage.googleapis.com, audit.tf), which is where such questions are answered.
  name                        = var.uploads_bucket
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  # Vendor uploads are business records: `terraform destroy` must not empty the bucket.
  force_destroy = false
  labels        = var.labels

  versioning {
    enabled = true
  }

  soft_delete_policy {
    retention_duration_seconds = var.uploads_retention.soft_delete_days * 86400
  }

  # Processed uploads: done, rejected or failed within a day (older events are dropped); kept
  # for the panel's photo view, then deleted (the live version becomes noncurrent ...).
  lifecycle_rule {
    condition {
      age        = var.uploads_retention.keep_days
      with_state = "LIVE"
    }
    action {
      type = "Delete"
    }
  }

  # ... and noncurrent generations, overwritten or deleted, go after noncurrent_days.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.uploads_retention.noncurrent_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [time_sleep.apis]
}

# Model releases as <kind>/<version>/ with a manifest.json (sha256 of each file), published by
# `catalogist release publish`, which never overwrites a version. Versioning and soft delete
# protect the releases in service from a hand-made overwrite or delete.
resource "google_storage_bucket" "models" {
  # checkov:skip=CKV_GCP_62: usage logs would need a fourth bucket and log every read the
  # function makes; who reads or writes objects is in Cloud Audit Logs (Data Access logs for
  # storage.googleapis.com, audit.tf), which is where such questions are answered.
  name                        = var.models_bucket
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = var.labels

  versioning {
    enabled = true
  }

  soft_delete_policy {
    retention_duration_seconds = 7 * 86400
  }

  # An overwritten or deleted release file is kept 30 days, long enough to notice and roll back.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [time_sleep.apis]
}

# The zip of functions/ that each function is built from. Only Cloud Build reads it, at deploy.
resource "google_storage_bucket" "source" {
  # checkov:skip=CKV_GCP_62: usage logs would need a fourth bucket and log every read the
  # function makes; who reads or writes objects is in Cloud Audit Logs (Data Access logs for
  # storage.googleapis.com, audit.tf), which is where such questions are answered.
  name                        = var.source_bucket
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true # nothing here that `terraform apply` cannot upload again
  labels                      = var.labels

  # Each zip is named after its content hash, so a new deploy adds an object and never
  # overwrites one; versioning keeps a deleted zip restorable for the rollback it may be.
  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [time_sleep.apis]
}

# Batch jobs' files, one prefix per writer so that each grant can name its own:
#   templates/  the import job's Flex Template spec, written by CI (`gcloud dataflow flex-template
#               build`), read by on_upload when it launches a job
#   dataflow/   the import jobs' temp and staging files (dataflow.tf), the workers' own
#   vertex/     Vertex AI training jobs' packages and outputs (vertex.tf), the trainer's own
resource "google_storage_bucket" "jobs" {
  # checkov:skip=CKV_GCP_62: usage logs would need yet another bucket; who reads or writes
  # objects is in the Data Access audit logs for storage.googleapis.com (audit.tf).
  name                        = var.jobs_bucket
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true # temp files, and a template CI builds again
  labels                      = var.labels

  # An overwritten template spec can be put back (a rollback of the import job's image).
  versioning {
    enabled = true
  }

  # A finished job's temp and staging files are not read again.
  lifecycle_rule {
    condition {
      age            = 7
      matches_prefix = ["dataflow/"]
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      age            = 30
      matches_prefix = ["vertex/"]
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [time_sleep.apis]
}

# Each vendor writes under its own folder and nowhere else: a managed folder per vendor id, with
# that vendor's principal its only writer (the function reads the whole bucket). Managed folders
# need uniform bucket-level access, which the bucket has.
resource "google_storage_managed_folder" "vendors" {
  for_each = var.vendors
  bucket   = google_storage_bucket.uploads.name
  name     = "${each.key}/"
  # A vendor's uploads are business records: removing the vendor from var.vendors must not need
  # the folder emptied first, and leaves the objects where they are.
  force_destroy = true
}

# Uploads, and re-uploads under the same name (replacing an object needs delete as well as
# create, hence objectUser rather than objectCreator); in its own folder only.
resource "google_storage_managed_folder_iam_member" "vendor_uploads" {
  for_each       = var.vendors
  bucket         = google_storage_managed_folder.vendors[each.key].bucket
  managed_folder = google_storage_managed_folder.vendors[each.key].name
  role           = "roles/storage.objectUser"
  member         = each.value
}
