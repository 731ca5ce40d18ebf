# Order events out (docs/design.md#order-events-and-their-guarantees): the processor publishes a CloudEvent of every
# stored version to the events topic, and Pub/Sub delivers it to each webhook of
# var.event_webhooks by a push subscription of its own. No delivery code of ours: payload
# unwrapping makes each push the event as a plain HTTP request (CloudEvents binary mode),
# a filter keeps a store's webhook to the orders its business units concern, and Pub/Sub
# retries, signs and dead-letters.

resource "google_pubsub_topic" "events" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption is the project's standard for order events; a customer-managed key would add key administration without a requirement for it.
  project = var.project_id
  name    = var.events_topic_name
  labels  = local.labels

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic_iam_member" "processor_events_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.events.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.processor.member
}

# Signs every delivery's OIDC token: a webhook checks that the token is Google-signed, for
# this account's email, with its own audience.
resource "google_service_account" "events_push" {
  project      = var.project_id
  account_id   = "${var.function_name_prefix}-events"
  display_name = "customer-order-events webhook deliveries"
  description  = "Signs the OIDC token of every order event Pub/Sub pushes to a webhook; holds no role."

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "webhook_dead_letter" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption is the project's standard for order events; a customer-managed key would add key administration without a requirement for it.
  for_each = local.webhooks

  project = var.project_id
  name    = each.value.dead_letter
  labels  = local.labels

  message_retention_duration = "${var.dead_letter_topic_retention_seconds}s"

  depends_on = [google_project_service.enabled]
}

# Without a subscription a dead-letter topic drops what it receives.
resource "google_pubsub_subscription" "webhook_dead_letter" {
  for_each = local.webhooks

  project = var.project_id
  name    = each.value.dead_letter
  topic   = google_pubsub_topic.webhook_dead_letter[each.key].id
  labels  = local.labels

  ack_deadline_seconds       = 60
  message_retention_duration = "${var.message_retention_seconds}s"
  retain_acked_messages      = true

  expiration_policy {
    ttl = ""
  }
}

# Where `orders-dlq replay` sends the webhook's dead letters: to this webhook alone, not to
# every subscriber of the events topic.
resource "google_pubsub_topic" "webhook_replay" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption is the project's standard for order events; a customer-managed key would add key administration without a requirement for it.
  for_each = local.webhooks

  project = var.project_id
  name    = each.value.replay
  labels  = local.labels

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_subscription" "webhook" {
  for_each = local.webhook_deliveries

  project = var.project_id
  name    = each.value.subscription
  topic   = each.value.replay ? google_pubsub_topic.webhook_replay[each.value.webhook].id : google_pubsub_topic.events.id
  labels  = local.labels

  # Only the events of orders the listed business units concern (the path's unit or a
  # fulfillment's pickup store: one bu-* attribute each); Pub/Sub acknowledges the others
  # unseen. A filter cannot change in place: a new one replaces the subscription.
  filter = local.webhooks[each.value.webhook].store_filter

  # One order's events reach the webhook one at a time, in the order they were stored.
  enable_message_ordering = true

  # For push this is how long Pub/Sub waits for the webhook's answer.
  ack_deadline_seconds       = var.webhook_timeout_seconds
  message_retention_duration = "${var.message_retention_seconds}s"

  expiration_policy {
    ttl = ""
  }

  push_config {
    push_endpoint = local.webhooks[each.value.webhook].url

    oidc_token {
      service_account_email = google_service_account.events_push.email
      audience              = local.webhooks[each.value.webhook].audience
    }

    # The body is the event's data; its attributes (ce-*, Content-Type) become headers.
    no_wrapper {
      write_metadata = true
    }
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.webhook_dead_letter[each.value.webhook].id
    max_delivery_attempts = var.webhook_max_delivery_attempts
  }

  retry_policy {
    minimum_backoff = "${var.webhook_retry_minimum_backoff_seconds}s"
    maximum_backoff = "${var.webhook_retry_maximum_backoff_seconds}s"
  }
}

# Dead-lettering is done by the Pub/Sub service agent, as for the orders.
resource "google_pubsub_topic_iam_member" "webhook_dead_letter_publisher" {
  for_each = local.webhooks

  project = var.project_id
  topic   = google_pubsub_topic.webhook_dead_letter[each.key].name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "webhook_dead_letter_subscriber" {
  for_each = local.webhook_deliveries

  project      = var.project_id
  subscription = google_pubsub_subscription.webhook[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}
