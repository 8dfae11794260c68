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

variable "jobs_bucket" {
  description = "Bucket for batch jobs: the import job's Flex Template spec (templates/), Dataflow's temp and staging files (dataflow/), Vertex AI training jobs' files (vertex/). Globally unique."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$", var.jobs_bucket)) && !strcontains(var.jobs_bucket, "goog")
    error_message = "jobs_bucket must be 3 to 63 lowercase letters, digits, hyphens or underscores (no dots, no 'goog')."
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
    timeout_seconds must fit in the subscription's ack deadline (delivery.ack_deadline_seconds):
    a longer request is delivered again while it runs. Vendor files too big to import in that
    time go to a Dataflow job (import_jobs.big_file_bytes).
    decode_memory_mb bounds the photos being decoded at once on one instance; with the models,
    an import and the interpreters (about 1 GiB together) it must fit in memory.
  EOT
  type = object({
    cpu              = optional(string, "2")
    memory           = optional(string, "2Gi")
    concurrency      = optional(number, 4)
    max_instances    = optional(number, 10)
    timeout_seconds  = optional(number, 540)
    decode_memory_mb = optional(number, 512)
  })
  default = {}
  validation {
    condition     = can(regex("^(0[.][0-9]{1,2}|1|2|4|6|8)$", var.upload_function.cpu)) && try(tonumber(var.upload_function.cpu) >= 0.08, false)
    error_message = "upload_function.cpu must be \"0.08\" to \"0.99\", or \"1\", \"2\", \"4\", \"6\" or \"8\" (Cloud Run's vCPU values)."
  }
  validation {
    condition     = try(tonumber(var.upload_function.cpu) >= 1 || var.upload_function.concurrency == 1, true)
    error_message = "upload_function.concurrency must be 1 below 1 vCPU: Cloud Run refuses more than one request at a time on a fractional CPU."
  }
  validation {
    condition     = try((tonumber(regex("^([0-9]+)(Mi|Gi)$", var.upload_function.memory)[0]) * (endswith(var.upload_function.memory, "Gi") ? 1024 : 1)) <= (tonumber(var.upload_function.cpu) < 0.5 ? 512 : tonumber(var.upload_function.cpu) < 1 ? 1024 : tonumber(var.upload_function.cpu) * 4096) && (tonumber(regex("^([0-9]+)(Mi|Gi)$", var.upload_function.memory)[0]) * (endswith(var.upload_function.memory, "Gi") ? 1024 : 1)) >= (tonumber(var.upload_function.cpu) >= 6 ? 4096 : tonumber(var.upload_function.cpu) >= 4 ? 2048 : 128), true)
    error_message = "upload_function.memory is outside what Cloud Run allows for its cpu: at most 512Mi below 0.5 vCPU, 1Gi below 1 vCPU, 4Gi per vCPU above; at least 2Gi for 4 vCPU and 4Gi for 6 or 8."
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
    condition     = var.upload_function.timeout_seconds >= 60 && var.upload_function.timeout_seconds <= var.delivery.ack_deadline_seconds
    error_message = "upload_function.timeout_seconds must be at least 60 and at most delivery.ack_deadline_seconds (600 at most): Pub/Sub delivers an event again once its ack deadline passes, while the first request still runs."
  }
  validation {
    condition     = var.upload_function.decode_memory_mb >= 200
    error_message = "upload_function.decode_memory_mb must be at least 200: the largest photo accepted (6300x6300 RGBA) needs 180 MB while decoding."
  }
  validation {
    condition     = try(var.upload_function.decode_memory_mb + 1024 <= (tonumber(regex("^([0-9]+)(Mi|Gi)$", var.upload_function.memory)[0]) * (endswith(var.upload_function.memory, "Gi") ? 1024 : 1)), true)
    error_message = "upload_function.memory must hold decode_memory_mb plus 1024 MiB for the rest (the three models, about 330 MB idle; a running import, up to 350 MB; the interpreters and request threads): raise memory or lower decode_memory_mb."
  }
}

variable "panel" {
  description = <<-EOT
    The review panel. domain: the hostname reviewers open (point its DNS A record at the
    panel_ip output; the Google-managed certificate is issued once it resolves). concurrency is
    also THREADS. Photo thumbnails are decoded in memory, up to 180 MB each for the largest PNG,
    within a decode budget (CATALOGIST_DECODE_MEMORY_MB) of memory less 512 MiB for the panel
    itself: 512 MB in the default 1Gi.
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
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.panel.memory))
    error_message = "panel.memory must be like 1Gi or 1536Mi."
  }
  validation {
    condition     = can(regex("^(0[.][0-9]{1,2}|1|2|4|6|8)$", var.panel.cpu)) && try(tonumber(var.panel.cpu) >= 0.08, false)
    error_message = "panel.cpu must be \"0.08\" to \"0.99\", or \"1\", \"2\", \"4\", \"6\" or \"8\" (Cloud Run's vCPU values)."
  }
  validation {
    condition     = try(tonumber(var.panel.cpu) >= 1 || var.panel.concurrency == 1, true)
    error_message = "panel.concurrency must be 1 below 1 vCPU: Cloud Run refuses more than one request at a time on a fractional CPU."
  }
  validation {
    condition     = try((tonumber(regex("^([0-9]+)(Mi|Gi)$", var.panel.memory)[0]) * (endswith(var.panel.memory, "Gi") ? 1024 : 1)) <= (tonumber(var.panel.cpu) < 0.5 ? 512 : tonumber(var.panel.cpu) < 1 ? 1024 : tonumber(var.panel.cpu) * 4096) && (tonumber(regex("^([0-9]+)(Mi|Gi)$", var.panel.memory)[0]) * (endswith(var.panel.memory, "Gi") ? 1024 : 1)) >= (tonumber(var.panel.cpu) >= 6 ? 4096 : tonumber(var.panel.cpu) >= 4 ? 2048 : 128), true)
    error_message = "panel.memory is outside what Cloud Run allows for its cpu: at most 512Mi below 0.5 vCPU, 1Gi below 1 vCPU, 4Gi per vCPU above; at least 2Gi for 4 vCPU and 4Gi for 6 or 8."
  }
  validation {
    condition     = try((tonumber(regex("^([0-9]+)(Mi|Gi)$", var.panel.memory)[0]) * (endswith(var.panel.memory, "Gi") ? 1024 : 1)) - 512 >= 200, true)
    error_message = "panel.memory must be at least 712Mi: 512 MiB for the panel itself and a decode budget of at least 200 MB for the largest accepted photo."
  }
  validation {
    condition     = var.panel.max_instances >= 1 && var.panel.max_instances <= 20
    error_message = "panel.max_instances must be 1 to 20."
  }
}

variable "panel_secret_version" {
  description = "Version of the panel's CSRF secret (CATALOGIST_PANEL_SECRET). The secret is generated at apply and written without entering the state; raising this number writes a new random one (reviewers sign in again)."
  type        = number
  default     = 1
  validation {
    condition     = var.panel_secret_version >= 1 && floor(var.panel_secret_version) == var.panel_secret_version
    error_message = "panel_secret_version must be a whole number from 1; raise it by one to rotate the secret."
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
  validation {
    condition     = length(var.labels) <= 60 && alltrue([for key, value in var.labels : can(regex("^[a-z][a-z0-9_-]{0,62}$", key)) && can(regex("^[a-z0-9_-]{0,63}$", value))])
    error_message = "labels: at most 60, each key a lowercase letter then up to 62 lowercase letters, digits, _ or -, each value up to 63 of those (Google Cloud's label rules; some resources add their own)."
  }
}

variable "delivery" {
  description = <<-EOT
    How Pub/Sub delivers each upload's event to on_upload (delivery.tf).
    ack_deadline_seconds: how long a delivery may take before Pub/Sub sends the event again; at
    least upload_function.timeout_seconds, at most 600 (Pub/Sub's limit).
    minimum_backoff_seconds, maximum_backoff_seconds: the wait between failed deliveries.
    max_attempts: the function's own attempts (CATALOGIST_MAX_ATTEMPTS) before it records the
    upload `failed` and acknowledges it; the panel shows it with a Retry button.
    spare_deliveries: deliveries beyond those before Pub/Sub gives up and dead-letters the event
    (a 409 while another delivery holds the upload, or a failure before the attempt is recorded,
    counts as a delivery but not as an attempt). max_attempts + spare_deliveries is the
    subscription's max_delivery_attempts, 5 to 100.
    max_event_age_hours: older events are acknowledged unprocessed (CATALOGIST_MAX_EVENT_AGE_
    SECONDS), and the subscription keeps no message longer.
    dead_letter_retention_days: how long a dead letter waits to be inspected or replayed.
  EOT
  type = object({
    ack_deadline_seconds       = optional(number, 600)
    minimum_backoff_seconds    = optional(number, 10)
    maximum_backoff_seconds    = optional(number, 600)
    max_attempts               = optional(number, 5)
    spare_deliveries           = optional(number, 5)
    max_event_age_hours        = optional(number, 24)
    dead_letter_retention_days = optional(number, 14)
  })
  default = {}
  validation {
    condition     = var.delivery.ack_deadline_seconds >= 10 && var.delivery.ack_deadline_seconds <= 600
    error_message = "delivery.ack_deadline_seconds must be 10 to 600 (Pub/Sub's limits)."
  }
  validation {
    condition     = var.delivery.minimum_backoff_seconds >= 0 && var.delivery.minimum_backoff_seconds <= var.delivery.maximum_backoff_seconds && var.delivery.maximum_backoff_seconds <= 600
    error_message = "delivery backoffs must satisfy 0 <= minimum_backoff_seconds <= maximum_backoff_seconds <= 600 (Pub/Sub's limits)."
  }
  validation {
    condition     = var.delivery.max_attempts >= 1 && var.delivery.spare_deliveries >= 1
    error_message = "delivery.max_attempts and delivery.spare_deliveries must each be at least 1: with no spare delivery, a 409 or a crash would dead-letter an upload the function never recorded as failed."
  }
  validation {
    condition     = var.delivery.max_attempts + var.delivery.spare_deliveries >= 5 && var.delivery.max_attempts + var.delivery.spare_deliveries <= 100
    error_message = "delivery.max_attempts + delivery.spare_deliveries (the subscription's max_delivery_attempts) must be 5 to 100 (Pub/Sub's limits)."
  }
  validation {
    condition     = var.delivery.max_event_age_hours >= 1 && var.delivery.max_event_age_hours <= 744
    error_message = "delivery.max_event_age_hours must be 1 to 744 (31 days, the longest a subscription keeps a message)."
  }
  validation {
    condition     = var.delivery.dead_letter_retention_days >= 1 && var.delivery.dead_letter_retention_days <= 31
    error_message = "delivery.dead_letter_retention_days must be 1 to 31 (Pub/Sub's limits)."
  }
}

variable "import_jobs" {
  description = <<-EOT
    Big vendor files' import jobs on Dataflow (dataflow.tf).
    big_file_bytes: vendor files above this size are imported by a job (CATALOGIST_BIG_FILE_BYTES);
    smaller ones in the delivery, which must end within upload_function.timeout_seconds. At the
    measured in-function import speed (import_bytes_per_second) a file of big_file_bytes must
    fit in that timeout.
    import_bytes_per_second: 1,000,000 rows (about 100 MB of CSV) took about 20 minutes on 2
    vCPU, about 83,000 bytes/s. Measure again on Cloud Run (bench/bench_import.py) before
    raising it, and big_file_bytes with it.
    region: where the jobs run (default: var.region, next to the buckets).
    template_object: the Flex Template spec's object in jobs_bucket, written by CI.
    max_workers: the most workers one job scales to (one reads the file, the others categorize
    and write its pages; docs/batch.md has the sizing).
    subnetwork: the workers' subnetwork, "regions/REGION/subnetworks/NAME" (default: the
    project's default network).
  EOT
  type = object({
    big_file_bytes          = optional(number, 33554432)
    import_bytes_per_second = optional(number, 83000)
    region                  = optional(string)
    template_object         = optional(string, "templates/import.json")
    max_workers             = optional(number, 8)
    subnetwork              = optional(string, "")
  })
  default = {}
  validation {
    condition     = var.import_jobs.big_file_bytes >= 1048576
    error_message = "import_jobs.big_file_bytes must be at least 1 MiB: a Dataflow job per small file costs minutes of start-up each."
  }
  validation {
    condition     = var.import_jobs.big_file_bytes <= var.upload_function.timeout_seconds * var.import_jobs.import_bytes_per_second
    error_message = "import_jobs.big_file_bytes is more than on_upload imports in upload_function.timeout_seconds at import_jobs.import_bytes_per_second: such files would time out in the delivery and end `failed`. Lower big_file_bytes, or measure a faster import and raise import_bytes_per_second."
  }
  validation {
    condition     = var.import_jobs.region == null || can(regex("^[a-z]+-[a-z]+[0-9]+$", var.import_jobs.region))
    error_message = "import_jobs.region must be a region such as europe-west1."
  }
  validation {
    condition     = can(regex("^templates/[A-Za-z0-9._/-]+[.]json$", var.import_jobs.template_object))
    error_message = "import_jobs.template_object must be a .json object under templates/ (the prefix on_upload may read and CI writes)."
  }
  validation {
    condition     = var.import_jobs.max_workers >= 1 && var.import_jobs.max_workers <= 100 && floor(var.import_jobs.max_workers) == var.import_jobs.max_workers
    error_message = "import_jobs.max_workers must be a whole number from 1 to 100."
  }
  validation {
    condition     = var.import_jobs.subnetwork == "" || can(regex("^(https://www.googleapis.com/compute/v1/projects/[a-z0-9-]+/)?regions/[a-z]+-[a-z]+[0-9]+/subnetworks/[a-z]([-a-z0-9]*[a-z0-9])?$", var.import_jobs.subnetwork))
    error_message = "import_jobs.subnetwork must be regions/REGION/subnetworks/NAME (or its full URL), or empty for the default network."
  }
}

variable "vendors" {
  description = <<-EOT
    The vendors allowed to upload: vendor id (their folder in the uploads bucket, as in
    <vendor>/<file>) -> the IAM principal that uploads for them ("user:ann@acme.example",
    "group:uploads@acme.example", "serviceAccount:feed@acme-prod.iam.gserviceaccount.com").
    Each may create and replace objects under its own folder only, and the function refuses
    objects in any other folder (CATALOGIST_VENDORS).
  EOT
  type        = map(string)
  validation {
    condition     = length(var.vendors) > 0
    error_message = "vendors must name at least one vendor: with none, CATALOGIST_VENDORS is empty and the function accepts any folder."
  }
  validation {
    # catalogist.intake.events.VENDOR_ID, the function's own rule for a vendor id.
    condition     = alltrue([for id in keys(var.vendors) : can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", id))])
    error_message = "Each vendor id must be 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit (the function's rule for a vendor folder)."
  }
  validation {
    condition     = alltrue([for principal in values(var.vendors) : can(regex("^(user|group|serviceAccount|domain|principal|principalSet):[^\\s]+$", principal))])
    error_message = "Each vendor's principal must be an IAM member such as user:ann@acme.example, group:uploads@acme.example or serviceAccount:feed@acme-prod.iam.gserviceaccount.com, never a public member."
  }
}

variable "firestore_backup_days" {
  description = "How long each daily Firestore backup is kept, in days (point-in-time recovery already covers the last 7)."
  type        = number
  default     = 14
  validation {
    condition     = var.firestore_backup_days >= 1 && var.firestore_backup_days <= 98
    error_message = "firestore_backup_days must be 1 to 98 (14 weeks, Firestore's longest retention)."
  }
}

variable "training_data" {
  description = "Where Vertex AI training jobs read the labelled data: gs://BUCKET/PREFIX/ (default: gs://<jobs_bucket>/training-data/). Only this prefix is readable by the training account."
  type        = string
  default     = null
  validation {
    condition     = var.training_data == null || can(regex("^gs://[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]/([^/]+/)*$", var.training_data))
    error_message = "training_data must be gs://BUCKET/PREFIX/ ending with a slash (a folder), e.g. gs://my-shop-training/photos/."
  }
}

variable "trainers" {
  description = "Principals allowed to submit Vertex AI training jobs (`catalogist train --vertex`) that run as the training account, e.g. group:ml@my-shop.example. Empty: nobody but project owners."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for principal in var.trainers : can(regex("^(user|group|serviceAccount):[^\\s]+$", principal))])
    error_message = "Each trainer must be user:EMAIL, group:EMAIL or serviceAccount:EMAIL."
  }
}

variable "notification_channels" {
  description = "Where alerts and budget notices go: e-mail addresses (a channel is created for each) and channels that already exist (projects/PROJECT/notificationChannels/ID: chat, paging). One to five in all (a budget notifies at most five)."
  type = object({
    emails   = optional(list(string), [])
    existing = optional(list(string), [])
  })
  validation {
    condition     = length(var.notification_channels.emails) + length(var.notification_channels.existing) >= 1 && length(var.notification_channels.emails) + length(var.notification_channels.existing) <= 5
    error_message = "notification_channels must name one to five channels in all: an alert nobody receives is no alert, and a budget notifies at most five."
  }
  validation {
    condition     = alltrue([for email in var.notification_channels.emails : can(regex("^[^@\\s,]+@[^@\\s,]+\\.[^@\\s,]+$", email))])
    error_message = "notification_channels.emails must be e-mail addresses."
  }
  validation {
    condition     = alltrue([for channel in var.notification_channels.existing : can(regex("^projects/[^/]+/notificationChannels/[0-9]+$", channel))])
    error_message = "notification_channels.existing must be channel names such as projects/my-shop/notificationChannels/1234567890."
  }
}

variable "alert_thresholds" {
  description = <<-EOT
    When alerts fire (monitoring.tf; what to do: docs/deploy.md, Runbook).
    backlog_age_seconds: the oldest waiting upload event (a delivery takes at most the ack deadline).
    rejected_per_hour: rejected uploads in an hour (bad vendor input; a few are normal).
    error_ratio: share of requests answered 5xx (each function, and the panel's load balancer).
    throttled_ratio: share of requests answered 429 (no instance free).
    memory_utilization: an instance's memory in use (0.85: 85%).
    certificate_days: days left on the panel's certificate (Google renews about 30 days ahead).
  EOT
  type = object({
    backlog_age_seconds = optional(number, 1800)
    rejected_per_hour   = optional(number, 20)
    error_ratio         = optional(number, 0.05)
    throttled_ratio     = optional(number, 0.01)
    memory_utilization  = optional(number, 0.85)
    certificate_days    = optional(number, 14)
  })
  default = {}
  validation {
    condition     = var.alert_thresholds.backlog_age_seconds >= var.delivery.ack_deadline_seconds
    error_message = "alert_thresholds.backlog_age_seconds must be at least delivery.ack_deadline_seconds: a delivery may legitimately hold an event that long."
  }
  validation {
    condition     = alltrue([for ratio in [var.alert_thresholds.error_ratio, var.alert_thresholds.throttled_ratio, var.alert_thresholds.memory_utilization] : ratio > 0 && ratio < 1])
    error_message = "alert_thresholds.error_ratio, throttled_ratio and memory_utilization are shares between 0 and 1 (0.05 is 5%)."
  }
  validation {
    condition     = var.alert_thresholds.rejected_per_hour >= 0 && var.alert_thresholds.certificate_days >= 1 && var.alert_thresholds.certificate_days < 30
    error_message = "alert_thresholds.rejected_per_hour must be 0 or more, and certificate_days 1 to 29 (a managed certificate renews about 30 days before it expires)."
  }
}

variable "budget" {
  description = "The monthly budget: the billing account the project is billed to (XXXXXX-XXXXXX-XXXXXX), the amount in whole units of its currency, and the shares of it that notify (current spend; the forecast is notified at 100%)."
  type = object({
    billing_account = string
    amount          = number
    currency_code   = optional(string)
    thresholds      = optional(list(number), [0.5, 0.9, 1.0])
  })
  validation {
    condition     = can(regex("^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$", var.budget.billing_account))
    error_message = "budget.billing_account must be a billing account ID such as 012345-6789AB-CDEF01."
  }
  validation {
    condition     = var.budget.amount > 0 && floor(var.budget.amount) == var.budget.amount
    error_message = "budget.amount must be a whole, positive number of currency units."
  }
  validation {
    condition     = length(var.budget.thresholds) >= 1 && alltrue([for share in var.budget.thresholds : share > 0 && share <= 2])
    error_message = "budget.thresholds must list one or more shares of the amount between 0 and 2 (0.5 is half the budget)."
  }
  validation {
    condition     = var.budget.currency_code == null || can(regex("^[A-Z]{3}$", var.budget.currency_code))
    error_message = "budget.currency_code must be the billing account's ISO 4217 currency (INR, EUR), or left out."
  }
}
