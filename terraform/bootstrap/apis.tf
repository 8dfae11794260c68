# What this module needs before anything else: Service Usage to enable APIs at all, Resource
# Manager for the project's IAM, IAM and its credentials for the CI identities, STS for the token
# exchange GitHub's OIDC tokens go through, Storage for the state bucket. (On a project whose
# Service Usage API is off, enable it once by hand: docs/deploy.md, step 1.)
locals {
  apis = [
    "cloudresourcemanager.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "serviceusage.googleapis.com",
    "storage.googleapis.com",
    "sts.googleapis.com",
  ]
}

resource "google_project_service" "apis" {
  for_each           = toset(local.apis)
  service            = each.value
  disable_on_destroy = false
}

resource "time_sleep" "apis" {
  create_duration = "60s"
  depends_on      = [google_project_service.apis]
}
