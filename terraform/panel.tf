# The review panel: the `panel` entry point (a Flask app) as a 2nd-gen function, which runs on
# Cloud Run, reachable only through an HTTPS load balancer with Identity-Aware Proxy.
#
# IAP signs every request it lets through (x-goog-iap-jwt-assertion); the panel checks the
# signature, the audience (/projects/NUMBER/global/backendServices/ID, panel/auth.py), and the
# email against CATALOGIST_REVIEWERS. IAP decides who reaches the panel at all (roles granted in
# iam.tf); the panel's own list is a second gate. The run.app URL refuses outside traffic
# (ingress: internal and load balancer only), so nothing bypasses IAP.

locals {
  panel_function = "catalogist-panel"
  # Photo thumbnails are decoded within this budget; the rest of memory is the panel's own
  # (Python, Flask, the Storage and Firestore clients, request threads): 512 MB in the default 1Gi.
  panel_memory_mib       = tonumber(regex("^([0-9]+)(Mi|Gi)$", var.panel.memory)[0]) * (endswith(var.panel.memory, "Gi") ? 1024 : 1)
  panel_decode_memory_mb = local.panel_memory_mib - 512
}

# Signs the panel's CSRF tokens. Kept in Secret Manager and handed to the function as a secret
# environment variable, never as a plain one. Generated as an ephemeral value and written to the
# secret version through a write-only argument, so it is in neither the state nor a plan file
# (Terraform 1.11). Each plan makes a new random value, but it is only sent when
# panel_secret_version changes: bump it to rotate the secret.
ephemeral "random_password" "panel_secret" {
  length  = 48
  special = false
}

resource "google_secret_manager_secret" "panel" {
  secret_id = "catalogist-panel-secret"
  labels    = var.labels

  replication {
    auto {}
  }

  depends_on = [time_sleep.apis]
}

resource "google_secret_manager_secret_version" "panel" {
  secret                 = google_secret_manager_secret.panel.id
  secret_data_wo         = ephemeral.random_password.panel_secret.result
  secret_data_wo_version = var.panel_secret_version
}

resource "google_cloudfunctions2_function" "panel" {
  name     = local.panel_function
  location = var.region
  labels   = var.labels

  build_config {
    runtime           = "python312"
    entry_point       = "panel"
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
    service_account_email          = google_service_account.panel.email
    ingress_settings               = "ALLOW_INTERNAL_AND_GCLB"
    all_traffic_on_latest_revision = true

    available_cpu                    = var.panel.cpu
    available_memory                 = var.panel.memory
    max_instance_request_concurrency = var.panel.concurrency
    max_instance_count               = var.panel.max_instances
    min_instance_count               = 0
    timeout_seconds                  = 60

    # main.py builds Settings at import, so the panel needs the function's required names too;
    # the release locations name the taxonomies the panel offers for corrections.
    environment_variables = {
      GOOGLE_CLOUD_PROJECT          = var.project_id
      CATALOGIST_MODELS_BUCKET      = google_storage_bucket.models.name
      CATALOGIST_CLASSIFIER_RELEASE = var.releases.classifier
      CATALOGIST_TEXTCAT_RELEASE    = var.releases.textcat
      CATALOGIST_PRICE_RELEASE      = var.releases.price
      CATALOGIST_CURRENCY           = var.currency
      CATALOGIST_LOG_LEVEL          = var.log_level
      CATALOGIST_DECODE_MEMORY_MB   = local.panel_decode_memory_mb
      CATALOGIST_PANEL_AUTH         = "iap"
      CATALOGIST_REVIEWERS          = join(",", var.reviewers)
      CATALOGIST_IAP_AUDIENCE       = "/projects/${data.google_project.this.number}/global/backendServices/${google_compute_backend_service.panel.generated_id}"
      THREADS                       = var.panel.concurrency
    }

    secret_environment_variables {
      key        = "CATALOGIST_PANEL_SECRET"
      project_id = var.project_id
      secret     = google_secret_manager_secret.panel.secret_id
      version    = "latest"
    }
  }

  depends_on = [
    google_secret_manager_secret_version.panel,
    google_secret_manager_secret_iam_member.panel_reads_secret,
    time_sleep.build_grants,
  ]
}

# The load balancer: address -> forwarding rule (443) -> HTTPS proxy (managed certificate, TLS 1.2+)
# -> URL map -> backend service (IAP) -> serverless NEG -> the panel's Cloud Run service.

resource "google_compute_global_address" "panel" {
  name       = "catalogist-panel"
  depends_on = [time_sleep.apis]
}

# A new domain needs a new certificate, and the proxy must never be left without one: the new
# certificate is created (under a name of its own: certificate names are unique) and put on the
# proxy before the old one is deleted. It serves once DNS points the new name at panel_ip.
resource "google_compute_managed_ssl_certificate" "panel" {
  name = "catalogist-panel-${substr(sha256(var.panel.domain), 0, 8)}"
  managed {
    domains = [var.panel.domain]
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [time_sleep.apis]
}

resource "google_compute_ssl_policy" "panel" {
  name            = "catalogist-panel"
  profile         = "RESTRICTED"
  min_tls_version = "TLS_1_2"
  depends_on      = [time_sleep.apis]
}

# Names the service, not the function resource, so the audience above (which needs this
# backend's id) does not make a cycle; a serverless NEG may point at a service not yet deployed.
resource "google_compute_region_network_endpoint_group" "panel" {
  name                  = "catalogist-panel"
  region                = var.region
  network_endpoint_type = "SERVERLESS"
  cloud_run {
    service = local.panel_function
  }
  depends_on = [time_sleep.apis]
}

resource "google_compute_backend_service" "panel" {
  name                  = "catalogist-panel"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  protocol              = "HTTPS"

  backend {
    group = google_compute_region_network_endpoint_group.panel.id
  }

  iap {
    enabled              = true
    oauth2_client_id     = var.iap_oauth_client == null ? null : var.iap_oauth_client.client_id
    oauth2_client_secret = var.iap_oauth_client == null ? null : var.iap_oauth_client.client_secret
  }

  log_config {
    enable      = true
    sample_rate = 1.0
  }
}

resource "google_compute_url_map" "panel" {
  name            = "catalogist-panel"
  default_service = google_compute_backend_service.panel.id
}

resource "google_compute_target_https_proxy" "panel" {
  name             = "catalogist-panel"
  url_map          = google_compute_url_map.panel.id
  ssl_certificates = [google_compute_managed_ssl_certificate.panel.id]
  ssl_policy       = google_compute_ssl_policy.panel.id
}

resource "google_compute_global_forwarding_rule" "panel" {
  name                  = "catalogist-panel"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_protocol           = "TCP"
  port_range            = "443"
  ip_address            = google_compute_global_address.panel.id
  target                = google_compute_target_https_proxy.panel.id
}
