# How an upload reaches on_upload, and where it goes when it cannot.
#
#   object.finalized -> Eventarc trigger -> Pub/Sub topic and push subscription (Eventarc's)
#     -> on_upload; after max_attempts + spare_deliveries failed deliveries
#     -> dead-letter topic -> dead-letter subscription (pull: inspect, replay)
#
# The trigger's subscription is created by Eventarc and named by it, so Terraform cannot declare
# it; Eventarc documents updating it with the Pub/Sub API, which terraform_data does below right
# after the trigger is created (and again whenever the trigger or a delivery setting changes),
# and a check block compares it with these settings on every plan. docs/deploy.md ("Delivery")
# weighs this against a notification -> topic -> push subscription of our own.

locals {
  uploads_subscription    = google_eventarc_trigger.uploads_finalized.transport[0].pubsub[0].subscription
  uploads_subscription_id = element(split("/", local.uploads_subscription), 3)
  # Deliveries before a dead letter: the function's own attempts (after which it records the
  # upload `failed` and acknowledges), plus spare deliveries that count no attempt: a 409 while
  # another delivery holds the upload, a failure before the attempt is recorded, a crash.
  max_delivery_attempts = var.delivery.max_attempts + var.delivery.spare_deliveries
  # An event older than this is acknowledged unprocessed by the function, so the subscription
  # keeps no message longer.
  max_event_age_seconds = var.delivery.max_event_age_hours * 3600
}

# object.finalized on the uploads bucket -> on_upload.
resource "google_eventarc_trigger" "uploads_finalized" {
  name     = "catalogist-uploads-finalized"
  location = var.region
  labels   = var.labels

  matching_criteria {
    attribute = "type"
    value     = "google.cloud.storage.object.v1.finalized"
  }
  matching_criteria {
    attribute = "bucket"
    value     = google_storage_bucket.uploads.name
  }

  destination {
    cloud_run_service {
      service = google_cloudfunctions2_function.on_upload.name
      region  = var.region
    }
  }

  service_account = google_service_account.trigger.email

  # retry_policy is deliberately absent: its only accepted value, max_attempts = 1, turns retries
  # off. Retries, their backoff and the dead letters are the subscription's (below).

  # The service agents and the trigger's grants must have propagated first (issue 25294).
  depends_on = [time_sleep.service_agents]
}

# Dead letters: the events on_upload could not answer in max_delivery_attempts deliveries.
resource "google_pubsub_topic" "dead_letter" {
  # checkov:skip=CKV_GCP_83: the messages are Cloud Storage object events (bucket, name,
  # generation, size), no content; a customer-managed key would add a KMS key ring for no
  # protection gained. Google-managed encryption applies.
  name   = "catalogist-uploads-dead-letter"
  labels = var.labels

  depends_on = [time_sleep.apis]
}

# Where an operator reads the dead letters and replays them from (docs/deploy.md, runbook). A
# topic without a subscription drops what is published to it.
resource "google_pubsub_subscription" "dead_letter" {
  name   = "catalogist-uploads-dead-letter"
  topic  = google_pubsub_topic.dead_letter.id
  labels = var.labels

  ack_deadline_seconds       = 60
  message_retention_duration = "${var.delivery.dead_letter_retention_days * 86400}s"
  # Nobody pulls from it on a good month: it must not expire for inactivity (31 days by default).
  expiration_policy {
    ttl = ""
  }
}

# Pub/Sub's service agent publishes the dead letters ...
resource "google_pubsub_topic_iam_member" "pubsub_agent_publishes_dead_letters" {
  topic  = google_pubsub_topic.dead_letter.id
  role   = "roles/pubsub.publisher"
  member = google_project_service_identity.pubsub.member
}

# ... and acknowledges them on the trigger's subscription, which is how they leave it.
resource "google_pubsub_subscription_iam_member" "pubsub_agent_acks_uploads" {
  subscription = local.uploads_subscription
  role         = "roles/pubsub.subscriber"
  member       = google_project_service_identity.pubsub.member
}

# Sets the trigger's subscription to the delivery settings, in the apply that creates it.
resource "terraform_data" "uploads_subscription" {
  triggers_replace = {
    subscription          = local.uploads_subscription
    ack_deadline_seconds  = var.delivery.ack_deadline_seconds
    min_retry_delay       = "${var.delivery.minimum_backoff_seconds}s"
    max_retry_delay       = "${var.delivery.maximum_backoff_seconds}s"
    retention             = "${local.max_event_age_seconds}s"
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = local.max_delivery_attempts
  }

  # Eventarc may rewrite its subscription when the trigger changes: set it again then.
  lifecycle {
    replace_triggered_by = [google_eventarc_trigger.uploads_finalized]
  }

  provisioner "local-exec" {
    command = join(" ", [
      "gcloud pubsub subscriptions update ${self.triggers_replace.subscription}",
      "--ack-deadline=${self.triggers_replace.ack_deadline_seconds}",
      "--min-retry-delay=${self.triggers_replace.min_retry_delay}",
      "--max-retry-delay=${self.triggers_replace.max_retry_delay}",
      "--message-retention-duration=${self.triggers_replace.retention}",
      "--expiration-period=never",
      "--dead-letter-topic=${self.triggers_replace.dead_letter_topic}",
      "--max-delivery-attempts=${self.triggers_replace.max_delivery_attempts}",
      "--quiet",
    ])
  }

  # Dead-lettering refuses to start until its agent may publish and acknowledge.
  depends_on = [
    google_pubsub_subscription.dead_letter,
    google_pubsub_topic_iam_member.pubsub_agent_publishes_dead_letters,
    google_pubsub_subscription_iam_member.pubsub_agent_acks_uploads,
  ]
}

# Every plan reads the subscription back: a change made by hand or by Eventarc shows as a warning
# naming the setting (a check warns, it does not stop the apply).
check "uploads_subscription_is_as_declared" {
  data "google_pubsub_subscription" "uploads" {
    name = local.uploads_subscription_id
  }

  assert {
    condition = (
      data.google_pubsub_subscription.uploads.ack_deadline_seconds == var.delivery.ack_deadline_seconds
      && length(data.google_pubsub_subscription.uploads.dead_letter_policy) == 1
      && data.google_pubsub_subscription.uploads.dead_letter_policy[0].max_delivery_attempts == local.max_delivery_attempts
      && data.google_pubsub_subscription.uploads.dead_letter_policy[0].dead_letter_topic == google_pubsub_topic.dead_letter.id
    )
    error_message = "Eventarc's subscription ${local.uploads_subscription} no longer has the ack deadline or dead-letter policy of var.delivery: run `terraform apply -replace=terraform_data.uploads_subscription`."
  }
}
