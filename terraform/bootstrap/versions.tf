# Applied once per project, by a person with Owner on the project and Billing Account
# Administrator on its billing account (docs/deploy.md, "A fresh project"). Its state is small and
# holds no secret: it stays local until the state bucket exists, then moves into it under the
# prefix "bootstrap" (`terraform init -migrate-state`, as docs/deploy.md shows).
terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "7.10.0"
    }
    # The pause after API enablement.
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
