# Deploying from CI (.github/workflows/terraform.yml) with no key anywhere: GitHub's OIDC token is
# exchanged through a workload identity pool for a short-lived token of one of two accounts.
#
#   catalogist-plan    a pull request's workflow run: reads, never writes
#   catalogist-deploy  only jobs in the GitHub environment var.github_environment, which has
#                      required reviewers: applies terraform/ and publishes the import job's image

locals {
  pool = google_iam_workload_identity_pool.github.name
  # The project-level roles terraform/ grants to its own accounts (and only those): the deployer
  # may add or remove bindings of these roles and no other (iam.tf, dataflow.tf, vertex.tf).
  grantable_roles = [
    "roles/aiplatform.user",
    "roles/datastore.user",
    "roles/dataflow.developer",
    "roles/dataflow.worker",
    "roles/eventarc.eventReceiver",
    "roles/eventarc.serviceAgent",
    "roles/logging.logWriter",
    "roles/pubsub.publisher",
    "roles/storage.objectAdmin",
  ]
  # What applying terraform/ creates, and the role that creates it; each on the project, the
  # narrowest resource that exists before the apply does.
  deploy_roles = {
    "roles/artifactregistry.admin"          = "the two image repositories and their IAM; pushes the import job's image"
    "roles/cloudfunctions.developer"        = "the two functions"
    "roles/compute.loadBalancerAdmin"       = "the panel's address, certificate, TLS policy, NEG, backend, URL map, proxy, forwarding rule"
    "roles/datastore.owner"                 = "the database, its indexes, field settings, TTL and backup schedule"
    "roles/eventarc.developer"              = "the uploads trigger"
    "roles/iam.roleAdmin"                   = "the panel's custom uploads role"
    "roles/iap.admin"                       = "IAP on the panel's backend and its reviewers"
    "roles/logging.configWriter"            = "the log-based metric of failed and rejected uploads"
    "roles/monitoring.editor"               = "notification channels, alert policies, the uptime check, the dashboard"
    "roles/pubsub.admin"                    = "the dead-letter topic and subscription, their IAM, and Eventarc's subscription's settings"
    "roles/run.admin"                       = "the invoker grants on the functions' Cloud Run services"
    "roles/secretmanager.admin"             = "the panel's secret, its versions and who reads it"
    "roles/serviceusage.serviceUsageAdmin"  = "the APIs, and the service agents' identities"
    "roles/storage.admin"                   = "the buckets, their IAM and managed folders, the source zip, the template spec, the state"
  }
}

resource "google_iam_workload_identity_pool" "github" {
  workload_identity_pool_id = "github"
  display_name              = "GitHub Actions"
  description               = "Tokens of ${var.github_repository}'s workflows."

  depends_on = [time_sleep.apis]
}

resource "google_iam_workload_identity_pool_provider" "github" {
  # checkov:skip=CKV_GCP_125: the condition below pins the repository and the token's subject to
  # its pull requests or its protected environment (tests/terraform/test_ci.py evaluates it);
  # checkov cannot read var.github_repository, which has no default by design.
  workload_identity_pool_id          = google_iam_workload_identity_pool.github.workload_identity_pool_id
  workload_identity_pool_provider_id = "github"
  display_name                       = "GitHub Actions OIDC"

  attribute_mapping = {
    "google.subject"       = "assertion.sub"
    "attribute.repository" = "assertion.repository"
    "attribute.ref"        = "assertion.ref"
  }
  # Only two kinds of token are exchanged at all: a pull request's run, and a job of the protected
  # environment; of this repository only.
  attribute_condition = "assertion.repository == \"${var.github_repository}\" && (assertion.sub == \"repo:${var.github_repository}:pull_request\" || assertion.sub == \"repo:${var.github_repository}:environment:${var.github_environment}\")"

  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}

resource "google_service_account" "deploy" {
  account_id   = "catalogist-deploy"
  display_name = "Catalogist CI: applies terraform/ (GitHub environment ${var.github_environment})"
  depends_on   = [time_sleep.apis]
}

resource "google_service_account" "plan" {
  account_id   = "catalogist-plan"
  display_name = "Catalogist CI: plans terraform/ (pull requests)"
  depends_on   = [time_sleep.apis]
}

# Only a job of the protected environment (its reviewers approved the run) becomes the deployer:
# GitHub sets the token's subject to repo:OWNER/NAME:environment:NAME for such jobs alone.
resource "google_service_account_iam_member" "environment_deploys" {
  service_account_id = google_service_account.deploy.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principal://iam.googleapis.com/${local.pool}/subject/repo:${var.github_repository}:environment:${var.github_environment}"
}

# A pull request's run may plan (pull requests from forks get no token at all).
resource "google_service_account_iam_member" "pull_requests_plan" {
  service_account_id = google_service_account.plan.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principal://iam.googleapis.com/${local.pool}/subject/repo:${var.github_repository}:pull_request"
}

# The deployer's roles, each with its reason above (local.deploy_roles).
resource "google_project_iam_member" "deploy" {
  for_each = local.deploy_roles
  project  = var.project_id
  role     = each.key
  member   = google_service_account.deploy.member
}

# Creates the workloads' service accounts and sets who may act as them (the function as the
# Dataflow workers, the trainers as the training account).
resource "google_project_iam_member" "deploy_creates_accounts" {
  # checkov:skip=CKV_GCP_49: the accounts it administers are created by the same apply
  # (terraform/), so no narrower resource exists when this is granted; it runs only in the
  # protected environment, after review.
  project = var.project_id
  role    = "roles/iam.serviceAccountAdmin"
  member  = google_service_account.deploy.member
}

# Attaches those accounts to the functions, the trigger and the builds (attaching needs actAs).
resource "google_project_iam_member" "deploy_attaches_accounts" {
  # checkov:skip=CKV_GCP_41: attaching an account needs actAs on it, and the accounts are created
  # by the same apply (terraform/), so no narrower resource exists when this is granted.
  # checkov:skip=CKV_GCP_49: as above; the deployer runs only in the protected environment, after
  # review.
  project = var.project_id
  role    = "roles/iam.serviceAccountUser"
  member  = google_service_account.deploy.member
}

# Grants the workloads' project-level roles, and no other: a deployer that could grant any role
# could make itself Owner.
resource "google_project_iam_member" "deploy_grants_workload_roles" {
  project = var.project_id
  role    = "roles/resourcemanager.projectIamAdmin"
  member  = google_service_account.deploy.member
  condition {
    title      = "workload-roles-only"
    expression = "api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([${join(", ", [for role in local.grantable_roles : "'${role}'"])}])"
  }
}

# Creates and updates the budget on the billing account (budgets live there, not in the project).
resource "google_billing_account_iam_member" "deploy_manages_budgets" {
  billing_account_id = var.billing_account
  role               = "roles/billing.costsManager"
  member             = google_service_account.deploy.member
}

# Reads every resource terraform/ declares: a plan refreshes them all.
resource "google_project_iam_member" "plan_reads_resources" {
  # checkov:skip=CKV_GCP_117: the planner only reads; Viewer is what a refresh of every declared
  # resource needs, and a list of each service's viewer role would fall behind the configuration.
  project = var.project_id
  role    = "roles/viewer"
  member  = google_service_account.plan.member
}

# Reads the IAM policies the *_iam_member resources live in (Viewer does not include them).
resource "google_project_iam_member" "plan_reads_policies" {
  project = var.project_id
  role    = "roles/iam.securityReviewer"
  member  = google_service_account.plan.member
}

# Reads the budget a plan refreshes.
resource "google_billing_account_iam_member" "plan_reads_budgets" {
  billing_account_id = var.billing_account
  role               = "roles/billing.viewer"
  member             = google_service_account.plan.member
}

# Reads the state (plans run with -lock=false, so they write nothing to the bucket).
resource "google_storage_bucket_iam_member" "plan_reads_state" {
  bucket = google_storage_bucket.state.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.plan.member
}
