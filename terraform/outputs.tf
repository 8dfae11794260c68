output "panel_url" {
  description = "Where reviewers open the panel, once DNS points panel.domain at panel_ip and the certificate is ACTIVE."
  value       = "https://${var.panel.domain}/"
}

output "panel_ip" {
  description = "Create a DNS A record for panel.domain with this address."
  value       = google_compute_global_address.panel.address
}

output "iap_audience" {
  description = "The audience the panel checks in IAP's assertions (CATALOGIST_IAP_AUDIENCE)."
  value       = "/projects/${data.google_project.this.number}/global/backendServices/${google_compute_backend_service.panel.generated_id}"
}

output "uploads_bucket" {
  description = "Vendors upload <vendor>/<file> here."
  value       = google_storage_bucket.uploads.name
}

output "models_bucket" {
  description = "Publish releases here with `catalogist release publish FOLDER gs://BUCKET/KIND/VERSION`."
  value       = google_storage_bucket.models.name
}

output "upload_function" {
  description = "The on_upload function (its logs: gcloud functions logs read NAME --region REGION)."
  value       = google_cloudfunctions2_function.on_upload.name
}

output "panel_function" {
  description = "The panel function."
  value       = google_cloudfunctions2_function.panel.name
}

output "service_accounts" {
  description = "The workloads' identities."
  value = {
    upload  = google_service_account.upload.email
    panel   = google_service_account.panel.email
    trigger = google_service_account.trigger.email
    build   = google_service_account.build.email
  }
}

output "import_job" {
  description = "The big-file import job (Dataflow Flex Template): where CI writes the template spec and pushes the image, and what on_upload launches it with."
  value = {
    template          = local.import_template
    image             = local.import_image
    region            = local.dataflow_region
    service_account   = google_service_account.dataflow.email
    temp_location     = local.dataflow_temp_location
    staging_location  = local.dataflow_staging_location
    artifact_registry = google_artifact_registry_repository.batch.id
  }
}

output "dead_letters" {
  description = "Where events on_upload could not answer wait: pull them to inspect and replay (docs/deploy.md, runbook)."
  value       = google_pubsub_subscription.dead_letter.id
}

output "training" {
  description = "Vertex AI custom training (`catalogist train classifier --vertex`): the account jobs run as (--vertex-service-account), their output folder (--vertex-output), the trainer image (--vertex-image, tagged by CI), the models bucket releases are published to (--publish), and the data they read."
  value = {
    service_account  = google_service_account.training.email
    staging_location = local.vertex_staging
    image            = local.trainer_image
    models_bucket    = "gs://${google_storage_bucket.models.name}"
    training_data    = local.training_data_location
    region           = var.region
  }
}
