# Service-level objectives and their burn-rate alerts (docs/operations.md#service-level-objectives): each SLO pages
# when it spends its 30-day error budget too fast, long before a threshold on a raw metric
# would fire. Burn-rate conditions select the SLO's own time series with
# select_slo_burn_rate(SLO, LOOKBACK), "the only field used in a condition for an SLO"
# (Google Cloud, "Creating an alerting policy" for SLOs).

resource "google_monitoring_custom_service" "orders" {
  project      = var.project_id
  service_id   = local.slo_service_id
  display_name = "customer-order-events"
  user_labels  = local.labels

  depends_on = [google_project_service.enabled]
}

# Availability of each operation (local.request_slos): answers that were not a 429 or 5xx,
# out of all that Cloud Run answered (observability.tf says which entries are bad and
# which are all). A deliberate 503 is bad: the caller could not get done what it asked.
resource "google_monitoring_slo" "request" {
  for_each = local.request_slos

  project             = var.project_id
  service             = google_monitoring_custom_service.orders.service_id
  slo_id              = each.value.slo_id
  display_name        = each.value.display_name
  goal                = local.slo_goals[each.key]
  rolling_period_days = local.slo_rolling_period_days
  user_labels         = local.labels

  request_based_sli {
    good_total_ratio {
      bad_service_filter   = local.slo_filters["${each.key}_bad"]
      total_service_filter = local.slo_filters["${each.key}_total"]
    }
  }

  depends_on = [google_logging_metric.counter]
}

# The PUTs' SLO of the releases before the reads and pickups had theirs.
moved {
  from = google_monitoring_slo.availability
  to   = google_monitoring_slo.request["availability"]
}

# Freshness: stored orders whose end-to-end lag is below the bound (a bucket boundary of
# the lag distribution, so the cut is exact). range.min is left out: -infinity.
resource "google_monitoring_slo" "freshness" {
  project             = var.project_id
  service             = google_monitoring_custom_service.orders.service_id
  slo_id              = "order-freshness"
  display_name        = "Orders stored within ${var.freshness_threshold_seconds} s of their 202"
  goal                = var.freshness_slo_goal
  rolling_period_days = local.slo_rolling_period_days
  user_labels         = local.labels

  request_based_sli {
    distribution_cut {
      distribution_filter = local.slo_filters.freshness

      range {
        max = var.freshness_threshold_seconds
      }
    }
  }

  depends_on = [google_logging_metric.end_to_end_lag]
}

locals {
  slo_names = merge(
    { for name, slo in google_monitoring_slo.request : name => slo.name },
    { freshness = google_monitoring_slo.freshness.name },
  )
}

# A fast and a slow burn per SLO; both conditions (the long window and its short
# confirmation) must hold (combiner AND).
resource "google_monitoring_alert_policy" "burn_rate" {
  for_each = local.burn_rate_alerts

  project      = var.project_id
  display_name = "customer-order-events: ${each.value.slo} SLO, ${each.value.speed} burn"
  combiner     = "AND"
  severity     = each.value.severity

  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "${each.value.slo} budget burning at more than ${each.value.burn_rate}x over ${each.value.long_window}"

    condition_threshold {
      filter          = "select_slo_burn_rate(\"${local.slo_names[each.value.slo]}\", \"${each.value.long_window}\")"
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.burn_rate
      duration        = "0s"

      trigger {
        count = 1
      }
    }
  }

  conditions {
    display_name = "and still over ${each.value.short_window}"

    condition_threshold {
      filter          = "select_slo_burn_rate(\"${local.slo_names[each.value.slo]}\", \"${each.value.short_window}\")"
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.burn_rate
      duration        = "0s"

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "customer-order-events: ${each.value.slo} SLO burning its error budget (${each.value.speed})"
    content   = templatefile("${path.module}/runbooks/${each.value.slo}.md", merge(local.runbook_vars, each.value))

    dynamic "links" {
      for_each = var.runbook_url == null ? [] : [var.runbook_url]
      content {
        display_name = "Runbook: docs/operations.md"
        url          = links.value
      }
    }
  }
}
