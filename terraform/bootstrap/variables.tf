variable "project_id" {
  description = "The project the main configuration (terraform/) deploys into."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID (6 to 30 lowercase letters, digits and hyphens, starting with a letter)."
  }
}

variable "region" {
  description = "Region of the state bucket (the same as the main configuration's)."
  type        = string
  default     = "europe-west1"
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a single region such as europe-west1."
  }
}

variable "state_bucket" {
  description = "Bucket for the Terraform state of terraform/ (and of this module, once migrated). Globally unique."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$", var.state_bucket)) && !strcontains(var.state_bucket, "goog")
    error_message = "state_bucket must be 3 to 63 lowercase letters, digits, hyphens or underscores (no dots, no 'goog')."
  }
}

variable "github_repository" {
  description = "The GitHub repository whose workflow deploys: OWNER/NAME. Only its tokens are accepted."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$", var.github_repository))
    error_message = "github_repository must be OWNER/NAME, as in github.com/OWNER/NAME."
  }
}

variable "github_environment" {
  description = "The GitHub environment (with required reviewers) whose jobs may deploy. Jobs outside it may only plan."
  type        = string
  default     = "production"
  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.github_environment))
    error_message = "github_environment must be an environment name such as production."
  }
}

variable "billing_account" {
  description = "The billing account the project is billed to (XXXXXX-XXXXXX-XXXXXX): the deployer manages the budget on it."
  type        = string
  validation {
    condition     = can(regex("^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$", var.billing_account))
    error_message = "billing_account must be a billing account ID such as 012345-6789AB-CDEF01."
  }
}
