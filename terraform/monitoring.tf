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
    content   = "The processor gave up on at least one order after ${var.max_delivery_attempts} attempts and Pub/Sub moved it to `${var.dead_letter_topic_name}`. Read the processor's logs for the order ids, fix the cause, then pull the messages from `${var.dead_letter_subscription_name}` and publish them to `${var.orders_topic_name}` again."
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
    content   = "Orders wait on `${var.processor_subscription_name}` longer than ${var.oldest_unacked_message_age_threshold_seconds} s: the processor fails or is too slow. An ordered key is held back while one of its messages is retried. Check the processor's errors and Firestore."
  }

  depends_on = [google_project_service.enabled]
}
