# Pinned so that a plan today and a plan next month mean the same thing. Bump deliberately, with
# `terraform init -upgrade`, and commit the .terraform.lock.hcl it writes.
terraform {
  # 1.11: write-only arguments (secret_data_wo: the panel's CSRF secret never lands in the state
  # or a plan file) fed by an ephemeral random_password (1.10). 1.9 was already needed for
  # validations that refer to other variables (the release paths name the models bucket; the
  # function's timeout must fit in the subscription's ack deadline).
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "7.10.0"
    }
    # google_project_service_identity (the Eventarc, IAP and Pub/Sub service agents) is a beta
    # resource.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "7.10.0"
    }
    # The zip of functions/ that Cloud Build turns into the functions' image.
    archive = {
      source  = "hashicorp/archive"
      version = "2.7.1"
    }
    # The panel's CSRF secret: ephemeral random_password needs 3.7.1 or later.
    random = {
      source  = "hashicorp/random"
      version = "3.7.2"
    }
    # The pauses after API enablement and IAM grants (terraform-provider-google issue 25294).
    time = {
      source  = "hashicorp/time"
      version = "0.13.1"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

# The Billing Budgets API refuses user credentials unless the call names a quota project
# (provider docs of google_billing_budget); only the budget uses this alias, so every other call
# keeps the caller's own quota project.
provider "google" {
  alias                 = "billing"
  project               = var.project_id
  region                = var.region
  billing_project       = var.project_id
  user_project_override = true
}

provider "google-beta" {
  project = var.project_id
  region  = var.region
}
