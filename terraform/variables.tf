# What an operator sets (see terraform.tfvars.example and docs/deploy.md). Everything else follows
# from the code: the settings names in functions/catalogist/settings.py, the indexes in
# functions/catalogist/panel/queries.py. tests/terraform checks both.

variable "project_id" {
  description = "The GCP project that holds the whole system."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID (6 to 30 lowercase letters, digits and hyphens, starting with a letter), not a project name or number."
  }
}

variable "region" {
  description = "Region of the buckets, the functions, the trigger and the panel's serverless backend."
  type        = string
  default     = "europe-west1"
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a single region such as europe-west1 or us-central1 (Eventarc Storage triggers need the bucket and the trigger in one region)."
  }
}

variable "firestore_location" {
  description = "Location of the Firestore database: a region (the default: var.region) or a multi-region such as eur3 or nam5. Cannot be changed after creation."
  type        = string
  default     = null
  validation {
    condition     = var.firestore_location == null || can(regex("^([a-z]+-[a-z]+[0-9]+|eur3|nam5|nam7)$", var.firestore_location))
    error_message = "firestore_location must be a region (europe-west1) or a Firestore multi-region (eur3, nam5, nam7)."
  }
}

variable "uploads_bucket" {
  description = "Bucket vendors upload photos and price lists to, as <vendor>/<file>. Globally unique."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$", var.uploads_bucket)) && !strcontains(var.uploads_bucket, "goog")
    error_message = "uploads_bucket must be 3 to 63 lowercase letters, digits, hyphens or underscores (no dots, no 'goog')."
  }
}

variable "models_bucket" {
  description = "Bucket holding the model releases as <kind>/<version>/ (published with `catalogist release publish`). Globally unique."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$", var.models_bucket)) && !strcontains(var.models_bucket, "goog")
    error_message = "models_bucket must be 3 to 63 lowercase letters, digits, hyphens or underscores (no dots, no 'goog')."
  }
}

variable "source_bucket" {
  description = "Bucket for the zip of functions/ that Cloud Build builds the functions from. Globally unique."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$", var.source_bucket)) && !strcontains(var.source_bucket, "goog")
    error_message = "source_bucket must be 3 to 63 lowercase letters, digits, hyphens or underscores (no dots, no 'goog')."
  }
}

variable "uploads_retention" {
  description = <<-EOT
    How long uploads are kept. keep_days: an upload is processed within a day of landing (events
    older than CATALOGIST_MAX_EVENT_AGE_SECONDS, 24 h, are dropped), but the panel shows a
    product's photos from this bucket, so keep them as long as products may wait for review.
    noncurrent_days: an overwritten generation stays readable this long, so its event (delivered
    up to 24 h late) can still read the bytes it names. soft_delete_days: 0 turns soft delete off;
    otherwise 7 to 90 days in which a deleted object can be restored.
  EOT
  type = object({
    keep_days        = optional(number, 90)
    noncurrent_days  = optional(number, 3)
    soft_delete_days = optional(number, 7)
  })
  default = {}
  validation {
    condition     = var.uploads_retention.keep_days >= 2
    error_message = "uploads_retention.keep_days must be at least 2: events are delivered for up to 24 hours after an upload."
  }
  validation {
    condition     = var.uploads_retention.noncurrent_days >= 2
    error_message = "uploads_retention.noncurrent_days must be at least 2: a late event (up to 24 h) reads the generation it names."
  }
  validation {
    condition     = var.uploads_retention.soft_delete_days == 0 || (var.uploads_retention.soft_delete_days >= 7 && var.uploads_retention.soft_delete_days <= 90)
    error_message = "uploads_retention.soft_delete_days must be 0 (off) or between 7 and 90 (Cloud Storage's limits)."
  }
}

variable "releases" {
  description = "The model releases the function serves: gs://<models_bucket>/<kind>/<version> as `catalogist release publish` wrote them. Changing one and applying is how a new model goes live."
  type = object({
    classifier = string
    textcat    = string
    price      = string
  })
  validation {
    condition = alltrue([
      for kind, location in var.releases :
      can(regex("^gs://${var.models_bucket}/${kind}/[A-Za-z0-9._-]+$", location))
    ])
    error_message = "Each release must be gs://<models_bucket>/<kind>/<version> in the models bucket, e.g. gs://my-models/classifier/20260115-0930 for the classifier."
  }
}

variable "currency" {
  description = "The store's currency (ISO 4217): prices are suggested in it, and a price release in another currency is refused."
  type        = string
  default     = "INR"
  validation {
    condition     = can(regex("^[A-Z]{3}$", var.currency))
    error_message = "currency must be a three-letter ISO 4217 code such as INR or EUR."
  }
}

variable "log_level" {
  description = "Log level of both workloads."
  type        = string
  default     = "INFO"
  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "upload_function" {
  description = <<-EOT
    Sizing of on_upload (docs/deploy.md, "Sizing", gives the measurements behind each default).
    concurrency is also THREADS: request threads per instance, and the classifier's interpreters.
    timeout_seconds must outlast the largest import: 1,000,000 rows took 20 minutes at 837 rows/s.
    decode_memory_mb bounds the photos being decoded at once on one instance.
  EOT
  type = object({
    cpu              = optional(string, "2")
    memory           = optional(string, "2Gi")
    concurrency      = optional(number, 4)
    max_instances    = optional(number, 10)
    timeout_seconds  = optional(number, 3600)
    decode_memory_mb = optional(number, 512)
  })
  default = {}
  validation {
    condition     = contains(["1", "2", "4"], var.upload_function.cpu)
    error_message = "upload_function.cpu must be \"1\", \"2\" or \"4\"."
  }
  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.upload_function.memory))
    error_message = "upload_function.memory must be like 2Gi or 1536Mi."
  }
  validation {
    condition     = var.upload_function.concurrency >= 1 && var.upload_function.concurrency <= 16
    error_message = "upload_function.concurrency must be 1 to 16: each request may hold a photo decode and a classifier interpreter."
  }
  validation {
    condition     = var.upload_function.max_instances >= 1 && var.upload_function.max_instances <= 100
    error_message = "upload_function.max_instances must be 1 to 100."
  }
  validation {
    condition     = var.upload_function.timeout_seconds >= 60 && var.upload_function.timeout_seconds <= 3600
    error_message = "upload_function.timeout_seconds must be 60 to 3600 (Cloud Run's limit for an HTTP request)."
  }
  validation {
    condition     = var.upload_function.decode_memory_mb >= 200
    error_message = "upload_function.decode_memory_mb must be at least 200: the largest photo accepted (6300x6300 RGBA) needs 180 MB while decoding."
  }
}

variable "panel" {
  description = <<-EOT
    The review panel. domain: the hostname reviewers open (point its DNS A record at the
    panel_ip output; the Google-managed certificate is issued once it resolves). concurrency is
    also THREADS. Photo thumbnails are decoded in memory, up to 180 MB each for the largest PNG.
  EOT
  type = object({
    domain        = string
    cpu           = optional(string, "1")
    memory        = optional(string, "1Gi")
    concurrency   = optional(number, 4)
    max_instances = optional(number, 3)
  })
  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,}$", var.panel.domain))
    error_message = "panel.domain must be a lowercase DNS name such as review.example.com."
  }
  validation {
    condition     = var.panel.concurrency >= 1 && var.panel.concurrency <= 16
    error_message = "panel.concurrency must be 1 to 16."
  }
  validation {
    condition     = var.panel.max_instances >= 1 && var.panel.max_instances <= 20
    error_message = "panel.max_instances must be 1 to 20."
  }
}

variable "reviewers" {
  description = "Emails of the people who may open the panel: IAP lets them through and the panel's own allow-list (CATALOGIST_REVIEWERS) accepts them."
  type        = list(string)
  validation {
    condition     = length(var.reviewers) > 0 && alltrue([for email in var.reviewers : can(regex("^[^@\\s,]+@[^@\\s,]+\\.[^@\\s,]+$", email))])
    error_message = "reviewers must list at least one email address (no commas, no spaces)."
  }
}

variable "iap_oauth_client" {
  description = "An OAuth client for IAP. Leave null to use the Google-managed client, which admits only users of the project's own Google Workspace / Cloud Identity organization."
  type = object({
    client_id     = string
    client_secret = string
  })
  default   = null
  sensitive = true
}

variable "labels" {
  description = "Labels on every labelled resource."
  type        = map(string)
  default     = { app = "catalogist" }
}
