# Monitoring as code: where alerts go, what they watch, one dashboard, and the budget. Each alert's
# documentation names its runbook section in docs/deploy.md ("Runbook"); tests/terraform/
# test_monitoring.py holds the list, so an alert without a runbook section fails the tests.

locals {
  notification_channels = concat(
    [for channel in google_monitoring_notification_channel.email : channel.id],
    var.notification_channels.existing,
  )
  runbook = "docs/deploy.md, section Runbook"
  # The two Cloud Run services, with the sizes their alerts compare against.
  services = {
    on_upload = { name = local.upload_function, max_instances = var.upload_function.max_instances }
    panel     = { name = local.panel_function, max_instances = var.panel.max_instances }
  }
  # A run of `_end` (functions/catalogist/intake/uploads.py) logs "<kind> <status>" with the
  # status and the upload id as JSON fields: the uploads that ended failed or rejected.
  upload_endings_filter = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=\"${local.upload_function}\"",
    "jsonPayload.upload_id:*",
    "jsonPayload.status=(\"failed\" OR \"rejected\")",
    "jsonPayload.message=~\"^[a-z_]+ (failed|rejected)$\"",
  ])
}

resource "google_monitoring_notification_channel" "email" {
  for_each     = toset(var.notification_channels.emails)
  display_name = "Catalogist: ${each.value}"
  type         = "email"
  labels = {
    email_address = each.value
  }

  depends_on = [time_sleep.apis]
}

# Uploads that ended `failed` (transient errors on every attempt) or `rejected` (bad input), by
# kind and status.
resource "google_logging_metric" "upload_endings" {
  name        = "catalogist/upload_endings"
  description = "Uploads on_upload ended failed or rejected (its \"<kind> <status>\" log line)."
  filter      = local.upload_endings_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "Catalogist uploads ended failed or rejected"
    labels {
      key         = "status"
      description = "failed or rejected"
    }
    labels {
      key         = "kind"
      description = "photo, vendor_file or unsupported"
    }
  }

  label_extractors = {
    status = "EXTRACT(jsonPayload.status)"
    kind   = "REGEXP_EXTRACT(jsonPayload.message, \"^([a-z_]+) \")"
  }

  depends_on = [time_sleep.apis]
}

# The panel as a reviewer's browser sees it: DNS, the load balancer and the certificate. IAP
# answers a request without a session with a redirect to sign in (3xx) or a refusal (4xx): both
# mean TLS and the load balancer work; a 5xx or a failed handshake does not.
resource "google_monitoring_uptime_check_config" "panel" {
  display_name = "Catalogist panel (TLS and load balancer)"
  timeout      = "10s"
  period       = "300s"

  http_check {
    path         = "/"
    port         = 443
    use_ssl      = true
    validate_ssl = true
    accepted_response_status_codes {
      status_class = "STATUS_CLASS_2XX"
    }
    accepted_response_status_codes {
      status_class = "STATUS_CLASS_3XX"
    }
    accepted_response_status_codes {
      status_class = "STATUS_CLASS_4XX"
    }
  }

  monitored_resource {
    type = "uptime_url"
    labels = {
      project_id = var.project_id
      host       = var.panel.domain
    }
  }

  depends_on = [time_sleep.apis]
}

# 1. Events wait: the oldest undelivered upload event is older than a delivery should ever take.
resource "google_monitoring_alert_policy" "backlog" {
  display_name          = "Catalogist: upload events waiting"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "oldest unacknowledged upload event"
    condition_threshold {
      filter          = "resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"${local.uploads_subscription_id}\" AND metric.type=\"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_thresholds.backlog_age_seconds
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    subject   = "Catalogist: upload events are waiting"
    content   = "Upload events wait longer than ${var.alert_thresholds.backlog_age_seconds} s for on_upload. See ${local.runbook}: \"Upload events waiting\"."
    mime_type = "text/markdown"
  }
}

# 2. Dead letters: events on_upload could not answer in max_delivery_attempts deliveries.
resource "google_monitoring_alert_policy" "dead_letters" {
  display_name          = "Catalogist: dead-lettered upload events"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "dead letters waiting to be replayed"
    condition_threshold {
      filter          = "resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"${google_pubsub_subscription.dead_letter.name}\" AND metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    subject   = "Catalogist: upload events were dead-lettered"
    content   = "Events on_upload could not answer wait in ${google_pubsub_subscription.dead_letter.id}. See ${local.runbook}: \"Dead-lettered upload events\"."
    mime_type = "text/markdown"
  }
}

# 3. Failed uploads: transient errors on every attempt; each is in the panel with a Retry button.
resource "google_monitoring_alert_policy" "failed_uploads" {
  display_name          = "Catalogist: uploads failed"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "uploads ended failed"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.upload_endings.name}\" AND metric.labels.status=\"failed\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    subject   = "Catalogist: uploads failed"
    content   = "Uploads ended `failed` after every attempt. See ${local.runbook}: \"Uploads failed\"."
    mime_type = "text/markdown"
  }
}

# 4. Rejected uploads: bad input from vendors, above the usual trickle.
resource "google_monitoring_alert_policy" "rejected_uploads" {
  display_name          = "Catalogist: many uploads rejected"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "uploads ended rejected in an hour"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.upload_endings.name}\" AND metric.labels.status=\"rejected\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_thresholds.rejected_per_hour
      duration        = "0s"
      aggregations {
        alignment_period     = "3600s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    subject   = "Catalogist: many uploads were rejected"
    content   = "More than ${var.alert_thresholds.rejected_per_hour} uploads were rejected in an hour. See ${local.runbook}: \"Many uploads rejected\"."
    mime_type = "text/markdown"
  }
}

# 5. Server errors: the share of a service's requests answered 5xx.
resource "google_monitoring_alert_policy" "server_errors" {
  for_each              = local.services
  display_name          = "Catalogist: ${each.key} 5xx ratio"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "share of ${each.value.name} requests answered 5xx"
    condition_threshold {
      filter             = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${each.value.name}\" AND metric.type=\"run.googleapis.com/request_count\" AND metric.labels.response_code_class=\"5xx\""
      denominator_filter = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${each.value.name}\" AND metric.type=\"run.googleapis.com/request_count\""
      comparison         = "COMPARISON_GT"
      threshold_value    = var.alert_thresholds.error_ratio
      duration           = "300s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }
      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }
    }
  }

  documentation {
    subject   = "Catalogist: ${each.key} answers 5xx"
    content   = "More than ${var.alert_thresholds.error_ratio * 100}% of ${each.value.name}'s requests end 5xx. See ${local.runbook}: \"5xx ratio\"."
    mime_type = "text/markdown"
  }
}

# 6. Throttling: 429, Cloud Run had no instance to take the request (max instances reached).
resource "google_monitoring_alert_policy" "throttled" {
  for_each              = local.services
  display_name          = "Catalogist: ${each.key} 429 ratio"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "share of ${each.value.name} requests answered 429"
    condition_threshold {
      filter             = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${each.value.name}\" AND metric.type=\"run.googleapis.com/request_count\" AND metric.labels.response_code=\"429\""
      denominator_filter = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${each.value.name}\" AND metric.type=\"run.googleapis.com/request_count\""
      comparison         = "COMPARISON_GT"
      threshold_value    = var.alert_thresholds.throttled_ratio
      duration           = "300s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }
      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }
    }
  }

  documentation {
    subject   = "Catalogist: ${each.key} is throttled"
    content   = "More than ${var.alert_thresholds.throttled_ratio * 100}% of ${each.value.name}'s requests end 429. See ${local.runbook}: \"429 ratio\"."
    mime_type = "text/markdown"
  }
}

# 7. At the ceiling: every instance the service may have is running.
resource "google_monitoring_alert_policy" "instances_at_max" {
  for_each              = local.services
  display_name          = "Catalogist: ${each.key} at max instances"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "${each.value.name} instances at ${each.value.max_instances}"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${each.value.name}\" AND metric.type=\"run.googleapis.com/container/instance_count\""
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.max_instances - 0.5
      duration        = "600s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_MAX"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }
    }
  }

  documentation {
    subject   = "Catalogist: ${each.key} runs at its instance limit"
    content   = "${each.value.name} has run ${each.value.max_instances} instances (its maximum) for 10 minutes. See ${local.runbook}: \"At max instances\"."
    mime_type = "text/markdown"
  }
}

# 8. Memory: an instance near its limit is one photo away from being killed.
resource "google_monitoring_alert_policy" "memory" {
  for_each              = local.services
  display_name          = "Catalogist: ${each.key} memory above 85%"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "${each.value.name} memory utilization (p99)"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${each.value.name}\" AND metric.type=\"run.googleapis.com/container/memory/utilizations\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_thresholds.memory_utilization
      duration        = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_PERCENTILE_99"
        cross_series_reducer = "REDUCE_MAX"
        group_by_fields      = ["resource.labels.service_name"]
      }
    }
  }

  documentation {
    subject   = "Catalogist: ${each.key} memory is high"
    content   = "${each.value.name} instances use more than ${var.alert_thresholds.memory_utilization * 100}% of their memory. See ${local.runbook}: \"Memory above 85%\"."
    mime_type = "text/markdown"
  }
}

# 9. The load balancer's own 5xx: what reviewers see, IAP and the serverless NEG included.
resource "google_monitoring_alert_policy" "load_balancer_errors" {
  display_name          = "Catalogist: panel load balancer 5xx ratio"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "share of panel requests the load balancer answered 5xx"
    condition_threshold {
      filter             = "resource.type=\"https_lb_rule\" AND resource.labels.forwarding_rule_name=\"${google_compute_global_forwarding_rule.panel.name}\" AND metric.type=\"loadbalancing.googleapis.com/https/request_count\" AND metric.labels.response_code_class=500"
      denominator_filter = "resource.type=\"https_lb_rule\" AND resource.labels.forwarding_rule_name=\"${google_compute_global_forwarding_rule.panel.name}\" AND metric.type=\"loadbalancing.googleapis.com/https/request_count\""
      comparison         = "COMPARISON_GT"
      threshold_value    = var.alert_thresholds.error_ratio
      duration           = "300s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.forwarding_rule_name"]
      }
      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.forwarding_rule_name"]
      }
    }
  }

  documentation {
    subject   = "Catalogist: the panel's load balancer answers 5xx"
    content   = "More than ${var.alert_thresholds.error_ratio * 100}% of requests to ${var.panel.domain} end 5xx at the load balancer. See ${local.runbook}: \"Load balancer 5xx ratio\"."
    mime_type = "text/markdown"
  }
}

# 10. The certificate: not serving (not ACTIVE yet, or DNS moved), or close to expiring (a
# Google-managed certificate renews itself about 30 days ahead; one this close did not).
resource "google_monitoring_alert_policy" "certificate" {
  display_name          = "Catalogist: panel certificate"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "https://${var.panel.domain}/ fails TLS or does not answer"
    condition_threshold {
      filter          = "resource.type=\"uptime_url\" AND metric.type=\"monitoring.googleapis.com/uptime_check/check_passed\" AND metric.labels.check_id=\"${google_monitoring_uptime_check_config.panel.uptime_check_id}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1
      duration        = "600s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_NEXT_OLDER"
        cross_series_reducer = "REDUCE_COUNT_FALSE"
        group_by_fields      = ["resource.labels.host"]
      }
    }
  }

  conditions {
    display_name = "certificate of ${var.panel.domain} expires soon"
    condition_threshold {
      filter          = "resource.type=\"uptime_url\" AND metric.type=\"monitoring.googleapis.com/uptime_check/time_until_ssl_cert_expires\" AND metric.labels.check_id=\"${google_monitoring_uptime_check_config.panel.uptime_check_id}\""
      comparison      = "COMPARISON_LT"
      threshold_value = var.alert_thresholds.certificate_days
      duration        = "600s"
      aggregations {
        alignment_period     = "3600s"
        per_series_aligner   = "ALIGN_NEXT_OLDER"
        cross_series_reducer = "REDUCE_MIN"
        group_by_fields      = ["resource.labels.host"]
      }
    }
  }

  documentation {
    subject   = "Catalogist: the panel's certificate is not serving or expires soon"
    content   = "https://${var.panel.domain}/ fails its TLS check, or its certificate expires within ${var.alert_thresholds.certificate_days} days. See ${local.runbook}: \"Panel certificate\"."
    mime_type = "text/markdown"
  }
}

# One page for all of the above: a chart per alert's metric.
locals {
  dashboard_charts = [
    {
      title   = "Oldest waiting upload event (s)"
      filter  = "resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"${local.uploads_subscription_id}\" AND metric.type=\"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
      aligner = "ALIGN_MAX"
      reducer = "REDUCE_MAX"
      group   = []
    },
    {
      title   = "Dead letters waiting"
      filter  = "resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"${google_pubsub_subscription.dead_letter.name}\" AND metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      aligner = "ALIGN_MAX"
      reducer = "REDUCE_MAX"
      group   = []
    },
    {
      title   = "Uploads failed / rejected"
      filter  = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.upload_endings.name}\""
      aligner = "ALIGN_DELTA"
      reducer = "REDUCE_SUM"
      group   = ["metric.labels.status"]
    },
    {
      title   = "Requests by response class"
      filter  = "resource.type=\"cloud_run_revision\" AND metric.type=\"run.googleapis.com/request_count\""
      aligner = "ALIGN_RATE"
      reducer = "REDUCE_SUM"
      group   = ["resource.labels.service_name", "metric.labels.response_code_class"]
    },
    {
      title   = "Instances"
      filter  = "resource.type=\"cloud_run_revision\" AND metric.type=\"run.googleapis.com/container/instance_count\""
      aligner = "ALIGN_MAX"
      reducer = "REDUCE_SUM"
      group   = ["resource.labels.service_name"]
    },
    {
      title   = "Memory utilization (p99)"
      filter  = "resource.type=\"cloud_run_revision\" AND metric.type=\"run.googleapis.com/container/memory/utilizations\""
      aligner = "ALIGN_PERCENTILE_99"
      reducer = "REDUCE_MAX"
      group   = ["resource.labels.service_name"]
    },
    {
      title   = "Panel load balancer requests by class"
      filter  = "resource.type=\"https_lb_rule\" AND resource.labels.forwarding_rule_name=\"${google_compute_global_forwarding_rule.panel.name}\" AND metric.type=\"loadbalancing.googleapis.com/https/request_count\""
      aligner = "ALIGN_RATE"
      reducer = "REDUCE_SUM"
      group   = ["metric.labels.response_code_class"]
    },
    {
      title   = "Panel certificate: days left"
      filter  = "resource.type=\"uptime_url\" AND metric.type=\"monitoring.googleapis.com/uptime_check/time_until_ssl_cert_expires\" AND metric.labels.check_id=\"${google_monitoring_uptime_check_config.panel.uptime_check_id}\""
      aligner = "ALIGN_NEXT_OLDER"
      reducer = "REDUCE_MIN"
      group   = []
    },
  ]
}

resource "google_monitoring_dashboard" "catalogist" {
  dashboard_json = jsonencode({
    displayName = "Catalogist"
    gridLayout = {
      columns = 3
      widgets = [for chart in local.dashboard_charts : {
        title = chart.title
        xyChart = {
          dataSets = [{
            plotType = "LINE"
            timeSeriesQuery = {
              timeSeriesFilter = {
                filter = chart.filter
                aggregation = {
                  alignmentPeriod    = "300s"
                  perSeriesAligner   = chart.aligner
                  crossSeriesReducer = chart.reducer
                  groupByFields      = chart.group
                }
              }
            }
          }]
        }
      }]
    }
  })

  depends_on = [time_sleep.apis]
}

# The bill: an e-mail (and the channels above) at each threshold of the monthly amount, and
# when the month's forecast passes it.
resource "google_billing_budget" "catalogist" {
  provider        = google.billing
  billing_account = var.budget.billing_account
  display_name    = "Catalogist ${var.project_id}"

  budget_filter {
    projects = ["projects/${data.google_project.this.number}"]
  }

  amount {
    specified_amount {
      currency_code = var.budget.currency_code
      units         = tostring(var.budget.amount)
    }
  }

  dynamic "threshold_rules" {
    for_each = var.budget.thresholds
    content {
      threshold_percent = threshold_rules.value
      spend_basis       = "CURRENT_SPEND"
    }
  }
  threshold_rules {
    threshold_percent = 1.0
    spend_basis       = "FORECASTED_SPEND"
  }

  all_updates_rule {
    monitoring_notification_channels = local.notification_channels
  }

  depends_on = [time_sleep.apis]
}
