output "state_bucket" {
  description = "terraform init -backend-config=\"bucket=THIS\" -backend-config=\"prefix=catalogist\" in terraform/; the repository variable TF_STATE_BUCKET."
  value       = google_storage_bucket.state.name
}

output "workload_identity_provider" {
  description = "The repository variable GCP_WORKLOAD_IDENTITY_PROVIDER (google-github-actions/auth)."
  value       = google_iam_workload_identity_pool_provider.github.name
}

output "deploy_service_account" {
  description = "The repository variable GCP_DEPLOY_SERVICE_ACCOUNT: applies, in the protected environment only."
  value       = google_service_account.deploy.email
}

output "plan_service_account" {
  description = "The repository variable GCP_PLAN_SERVICE_ACCOUNT: plans pull requests."
  value       = google_service_account.plan.email
}
