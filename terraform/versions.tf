# Pinned so that a plan today and a plan next month mean the same thing. Bump deliberately, with
# `terraform init -upgrade`, and commit the .terraform.lock.hcl it writes.
terraform {
  # 1.9: variable validations may refer to other variables (the release paths name the models bucket).
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "7.10.0"
    }
    # google_project_service_identity (the Eventarc and IAP service agents) is a beta resource.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "7.10.0"
    }
    # The zip of functions/ that Cloud Build turns into the functions' image.
    archive = {
      source  = "hashicorp/archive"
      version = "2.7.1"
    }
    # The panel's CSRF secret.
    random = {
      source  = "hashicorp/random"
      version = "3.7.2"
    }
    # The pause for IAM propagation to new service agents (terraform-provider-google issue 25294).
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

provider "google-beta" {
  project = var.project_id
  region  = var.region
}
