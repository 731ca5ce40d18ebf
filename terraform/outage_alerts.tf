# Outages that store nothing (local.outage_alerts, docs/operations.md#alerts-and-their-runbooks):
# failures that keep coming while no order is stored. The SLOs' burn rates page for a
# share of failures, these for the case where nothing at all gets through, whatever the
# traffic: the OMS answered 503 for every PUT, or Firestore refusing every delivery.

resource "google_monitoring_alert_policy" "outage" {
  for_each = local.outage_alerts

  project      = var.project_id
  display_name = "customer-order-events: ${each.value.title}"
  # Both: failures keep coming, and nothing is stored.
  combiner = "AND"
  severity = "CRITICAL"

  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "${each.value.failing}, in every ${local.outage_alignment_seconds / 60} minutes for ${local.outage_window_seconds / 60} minutes"

    condition_threshold {
      filter          = each.value.failures
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "${local.outage_window_seconds}s"

      aggregations {
        alignment_period     = "${local.outage_alignment_seconds}s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  # A threshold judges only points that exist, and no stored order writes none: "none
  # stored" is the absence of the stored decisions' series.
  conditions {
    display_name = "and no order stored for ${local.outage_window_seconds / 60} minutes"

    condition_absent {
      filter   = local.stored_orders
      duration = "${local.outage_window_seconds}s"

      aggregations {
        alignment_period     = "${local.outage_alignment_seconds}s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "customer-order-events: ${each.value.title}"
    content   = templatefile("${path.module}/runbooks/${each.key}.md", local.runbook_vars)

    dynamic "links" {
      for_each = var.runbook_url == null ? [] : [var.runbook_url]
      content {
        display_name = "Runbook: docs/operations.md"
        url          = links.value
      }
    }
  }

  depends_on = [google_logging_metric.counter]
}
