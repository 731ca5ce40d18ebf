# Subscriptions that each break exactly one custom policy of terraform/checkov,
# so tests/terraform/test_checkov.py sees every policy fail where it should.

resource "google_pubsub_topic" "orders" {
  name = "orders"
}

resource "google_pubsub_topic" "dead_letter" {
  name = "orders-dead-letter"
}

resource "google_pubsub_subscription" "unordered" {
  name  = "unordered"
  topic = google_pubsub_topic.orders.id

  push_config {
    push_endpoint = "https://processor.example.invalid/"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = 10
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }
}

resource "google_pubsub_subscription" "no_dead_letter" {
  name                    = "no-dead-letter"
  topic                   = google_pubsub_topic.orders.id
  enable_message_ordering = true

  push_config {
    push_endpoint = "https://processor.example.invalid/"
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }
}

variable "too_many_attempts" {
  type    = number
  default = 200
}

resource "google_pubsub_subscription" "too_many_attempts" {
  name                    = "too-many-attempts"
  topic                   = google_pubsub_topic.orders.id
  enable_message_ordering = true

  push_config {
    push_endpoint = "https://processor.example.invalid/"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.too_many_attempts
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }
}

resource "google_pubsub_subscription" "no_backoff" {
  name                    = "no-backoff"
  topic                   = google_pubsub_topic.orders.id
  enable_message_ordering = true

  push_config {
    push_endpoint = "https://processor.example.invalid/"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = 10
  }
}

# Pull subscriptions are out of the policies' scope.
resource "google_pubsub_subscription" "pull" {
  name  = "pull"
  topic = google_pubsub_topic.dead_letter.id
}
