# Threshold alerts the SLOs cannot replace (docs/operations.md#alerts-and-their-runbooks): a dead letter is an
# order or a store update that will not be stored until someone replays it, and a processor
# that stores nothing at all produces no lag for the freshness SLO to judge.

resource "google_monitoring_alert_policy" "dead_letters" {
  project      = var.project_id
  display_name = "customer-order-events: orders in the dead-letter subscription"
  combiner     = "OR"
  severity     = "ERROR"

  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "${var.dead_letter_subscription_name} holds at least one message"

    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.dead_letter.name}\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "customer-order-events: orders dead-lettered"
    content   = templatefile("${path.module}/runbooks/dead_letters.md", local.runbook_vars)

    dynamic "links" {
      for_each = var.runbook_url == null ? [] : [var.runbook_url]
      content {
        display_name = "Runbook: docs/operations.md"
        url          = links.value
      }
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_monitoring_alert_policy" "processor_backlog_age" {
  project      = var.project_id
  display_name = "customer-order-events: processor falling behind"
  combiner     = "OR"
  severity     = "WARNING"

  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "oldest unacked message on ${var.processor_subscription_name} older than ${var.oldest_unacked_message_age_threshold_seconds} s"

    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.processor.name}\" AND metric.type = \"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.oldest_unacked_message_age_threshold_seconds
      duration        = "300s"

      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "customer-order-events: processor falling behind"
    content   = templatefile("${path.module}/runbooks/processor_backlog_age.md", local.runbook_vars)

    dynamic "links" {
      for_each = var.runbook_url == null ? [] : [var.runbook_url]
      content {
        display_name = "Runbook: docs/operations.md"
        url          = links.value
      }
    }
  }

  depends_on = [google_project_service.enabled]
}

# The same for the store updates' subscription: while it falls behind, the pos function
# has answered the stores, but their events reach the OMS and the webhooks late, and an
# update whose pos function died before its write is not recorded yet.
resource "google_monitoring_alert_policy" "store_updates_backlog_age" {
  project      = var.project_id
  display_name = "customer-order-events: store updates falling behind"
  combiner     = "OR"
  severity     = "WARNING"

  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "oldest unacked message on ${var.store_updates_subscription_name} older than ${var.oldest_unacked_message_age_threshold_seconds} s"

    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.store_updates.name}\" AND metric.type = \"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.oldest_unacked_message_age_threshold_seconds
      duration        = "300s"

      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "customer-order-events: store updates falling behind"
    content   = templatefile("${path.module}/runbooks/store_updates_backlog_age.md", local.runbook_vars)

    dynamic "links" {
      for_each = var.runbook_url == null ? [] : [var.runbook_url]
      content {
        display_name = "Runbook: docs/operations.md"
        url          = links.value
      }
    }
  }

  depends_on = [google_project_service.enabled]
}

# Per webhook (var.event_webhooks): an event given up on, and a webhook falling behind.
resource "google_monitoring_alert_policy" "webhook_dead_letters" {
  for_each = local.webhooks

  project      = var.project_id
  display_name = "customer-order-events: events dead-lettered for webhook ${each.key}"
  combiner     = "OR"
  severity     = "ERROR"

  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "${each.value.dead_letter} holds at least one event"

    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.webhook_dead_letter[each.key].name}\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "customer-order-events: events dead-lettered for webhook ${each.key}"
    content   = templatefile("${path.module}/runbooks/webhook_dead_letters.md", local.webhook_runbook_vars[each.key])

    dynamic "links" {
      for_each = var.runbook_url == null ? [] : [var.runbook_url]
      content {
        display_name = "Runbook: docs/operations.md"
        url          = links.value
      }
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_monitoring_alert_policy" "webhook_backlog_age" {
  for_each = local.webhooks

  project      = var.project_id
  display_name = "customer-order-events: webhook ${each.key} falling behind"
  combiner     = "OR"
  severity     = "WARNING"

  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "oldest undelivered event on ${each.value.subscription} older than ${var.webhook_oldest_unacked_age_threshold_seconds} s"

    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.webhook[each.key].name}\" AND metric.type = \"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.webhook_oldest_unacked_age_threshold_seconds
      duration        = "300s"

      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "customer-order-events: webhook ${each.key} falling behind"
    content   = templatefile("${path.module}/runbooks/webhook_backlog_age.md", local.webhook_runbook_vars[each.key])

    dynamic "links" {
      for_each = var.runbook_url == null ? [] : [var.runbook_url]
      content {
        display_name = "Runbook: docs/operations.md"
        url          = links.value
      }
    }
  }

  depends_on = [google_project_service.enabled]
}
