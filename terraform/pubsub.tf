resource "google_pubsub_topic" "orders" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption is the project's standard for order events; a customer-managed key would add key administration without a requirement for it.
  project = var.project_id
  name    = var.orders_topic_name
  labels  = local.labels

  # Every message stays this long, acknowledged or not, so that the processor's
  # subscription (or a new one) can be sought back to a time before a bad release and
  # replayed through the conflict rule (docs/operations.md#replaying-after-a-bug). Stored
  # once for all subscriptions, so retain_acked_messages on the subscription adds nothing.
  message_retention_duration = "${var.orders_topic_retention_seconds}s"

  depends_on = [google_project_service.enabled]
}

# The store updates the pos function publishes before it writes them, so that the processor
# completes what a crash left (docs/design.md#store-updates-and-their-messages). A topic of
# their own: the pos identity may publish here and nowhere else, so nothing it publishes can
# be taken for an OMS version, and the processor refuses any other kind here.
resource "google_pubsub_topic" "store_updates" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption is the project's standard for order events; a customer-managed key would add key administration without a requirement for it.
  project = var.project_id
  name    = var.store_updates_topic_name
  labels  = local.labels

  # As the orders topic's, so that the store-updates subscription can be sought back and
  # replayed with the processor's (docs/operations.md#replaying-after-a-bug).
  message_retention_duration = "${var.orders_topic_retention_seconds}s"

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption is the project's standard for order events; a customer-managed key would add key administration without a requirement for it.
  project = var.project_id
  name    = var.dead_letter_topic_name
  labels  = local.labels

  # Lets a subscription seek back and replay dead letters even after they were acknowledged.
  message_retention_duration = "${var.dead_letter_topic_retention_seconds}s"

  depends_on = [google_project_service.enabled]
}

# Without a subscription the dead-letter topic would drop what it receives.
resource "google_pubsub_subscription" "dead_letter" {
  project = var.project_id
  name    = var.dead_letter_subscription_name
  topic   = google_pubsub_topic.dead_letter.id
  labels  = local.labels

  ack_deadline_seconds       = 60
  message_retention_duration = "${var.message_retention_seconds}s"
  retain_acked_messages      = true

  # An idle subscription is deleted after 31 days by default; this one is
  # idle by design until something goes wrong.
  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription" "processor" {
  project = var.project_id
  name    = var.processor_subscription_name
  topic   = google_pubsub_topic.orders.id
  labels  = local.labels

  # Orders of one customer order (ordering key BU/ID) reach the processor one
  # at a time, in publish order. Changing this replaces the subscription.
  enable_message_ordering = true

  # For push this is the HTTP timeout: never shorter than the processor's own.
  ack_deadline_seconds       = var.processor_timeout_seconds
  message_retention_duration = "${var.message_retention_seconds}s"

  expiration_policy {
    ttl = ""
  }

  push_config {
    push_endpoint = google_cloudfunctions2_function.processor.service_config[0].uri

    oidc_token {
      service_account_email = google_service_account.push_invoker.email
      audience              = google_cloudfunctions2_function.processor.service_config[0].uri
    }
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  retry_policy {
    minimum_backoff = "${var.retry_minimum_backoff_seconds}s"
    maximum_backoff = "${var.retry_maximum_backoff_seconds}s"
  }

  # The first pushes would be refused (and count as delivery attempts) if the
  # invoker could not call the processor yet.
  depends_on = [google_cloud_run_v2_service_iam_member.processor_push_invoker]
}

# The store updates, pushed to the processor's own path for them: the processor tells the
# topic by the path (shared/domain/messages.py STORE_UPDATES_PUSH_PATH), never by what a
# message says of itself. Everything else as the orders topic's subscription: ordered on
# the same key BU/ID, the same push identity and audience, the same dead-letter topic
# (orders-dlq replays each letter to the topic it came from), the same backoff.
resource "google_pubsub_subscription" "store_updates" {
  project = var.project_id
  name    = var.store_updates_subscription_name
  topic   = google_pubsub_topic.store_updates.id
  labels  = local.labels

  # Changing this replaces the subscription.
  enable_message_ordering = true

  # For push this is the HTTP timeout: never shorter than the processor's own.
  ack_deadline_seconds       = var.processor_timeout_seconds
  message_retention_duration = "${var.message_retention_seconds}s"

  expiration_policy {
    ttl = ""
  }

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.processor.service_config[0].uri}/store-updates"

    # The audience is the processor's URL, as for the orders topic's pushes: Cloud Run
    # accepts a token for the service's URL whatever the path.
    oidc_token {
      service_account_email = google_service_account.push_invoker.email
      audience              = google_cloudfunctions2_function.processor.service_config[0].uri
    }
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  retry_policy {
    minimum_backoff = "${var.retry_minimum_backoff_seconds}s"
    maximum_backoff = "${var.retry_maximum_backoff_seconds}s"
  }

  depends_on = [google_cloud_run_v2_service_iam_member.processor_push_invoker]
}

# Dead-lettering is done by the Pub/Sub service agent: it must be able to
# publish to the dead-letter topic and to acknowledge on the source subscription.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "processor_dead_letter_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.processor.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "store_updates_dead_letter_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.store_updates.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}

resource "google_pubsub_topic_iam_member" "ingest_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.orders.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.ingest.member
}

# The pos function publishes each store update before it stores it, to the store-updates
# topic alone: it holds no grant on the orders topic, so it cannot publish an OMS version
# (docs/deploying.md#identities-and-iam).
resource "google_pubsub_topic_iam_member" "pos_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.store_updates.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.pos.member

  # The release before granted this on the orders topic, where its pos function still
  # publishes until the new one serves: the new grant first, the old one removed only
  # after the pos function that depends on it was replaced (docs/deploying.md#upgrading).
  lifecycle {
    create_before_destroy = true
  }
}
