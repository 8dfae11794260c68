# Data Access audit logs: who read or wrote which object and which document. Off by default in
# Google Cloud; they answer what bucket access logs would (storage.tf skips those) and what no
# other log records for Firestore. DATA_READ logs every read the workloads make: the volume (and
# its Cloud Logging cost) grows with uploads and panel use; see docs/deploy.md before exempting
# an account.

resource "google_project_iam_audit_config" "storage" {
  project = var.project_id
  service = "storage.googleapis.com"

  audit_log_config {
    log_type = "DATA_READ"
  }
  audit_log_config {
    log_type = "DATA_WRITE"
  }

  depends_on = [time_sleep.apis]
}

# Firestore's audit logs are those of the Datastore service name.
resource "google_project_iam_audit_config" "firestore" {
  project = var.project_id
  service = "datastore.googleapis.com"

  audit_log_config {
    log_type = "DATA_READ"
  }
  audit_log_config {
    log_type = "DATA_WRITE"
  }

  depends_on = [time_sleep.apis]
}
