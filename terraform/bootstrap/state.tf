# The state of terraform/: who owns what, as Terraform sees it. Versioned, so a state a bad apply
# wrote can be put back; never public; never destroyed by Terraform.
resource "google_storage_bucket" "state" {
  # checkov:skip=CKV_GCP_62: usage logs would need another bucket; reads and writes of the state
  # are in the Data Access audit logs for storage.googleapis.com (terraform/audit.tf).
  name                        = var.state_bucket
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  # Keep the last 20 states written, and none older than 90 days beyond those.
  lifecycle_rule {
    condition {
      num_newer_versions = 20
      with_state         = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 90
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  lifecycle {
    prevent_destroy = true
  }

  depends_on = [time_sleep.apis]
}
