output "ingest_url" {
  description = "Base URL of the ingest function: PUT/GET {ingest_url}/business-units/BU/customer-orders/ID with an ID token whose audience is this URL."
  value       = google_cloudfunctions2_function.ingest.service_config[0].uri
}

output "processor_url" {
  description = "URL the processor subscription pushes to (internal ingress only)."
  value       = google_cloudfunctions2_function.processor.service_config[0].uri
}

output "orders_topic" {
  description = "Name of the orders topic (in var.project_id)."
  value       = google_pubsub_topic.orders.name
}

output "processor_subscription" {
  description = "Name of the ordered push subscription feeding the processor."
  value       = google_pubsub_subscription.processor.name
}

output "store_updates_topic" {
  description = "Name of the topic the pos function publishes store updates to (in var.project_id): its only publisher grant."
  value       = google_pubsub_topic.store_updates.name
}

output "store_updates_subscription" {
  description = "Name of the ordered push subscription feeding the store updates to the processor's /store-updates path."
  value       = google_pubsub_subscription.store_updates.name
}

output "dead_letter_topic" {
  description = "Name of the dead-letter topic."
  value       = google_pubsub_topic.dead_letter.name
}

output "dead_letter_subscription" {
  description = "Name of the pull subscription holding dead-lettered orders and store updates (orders-dlq list)."
  value       = google_pubsub_subscription.dead_letter.name
}

output "firestore_database" {
  description = "Firestore database the functions use."
  value       = local.firestore_database
}

output "ingest_service_account" {
  description = "Identity the ingest function runs as."
  value       = google_service_account.ingest.email
}

output "processor_service_account" {
  description = "Identity the processor function runs as."
  value       = google_service_account.processor.email
}

output "push_invoker_service_account" {
  description = "Identity whose OIDC token authenticates Pub/Sub's pushes to the processor."
  value       = google_service_account.push_invoker.email
}

output "build_service_account" {
  description = "Identity Cloud Build uses to build both functions."
  value       = google_service_account.build.email
}

output "events_topic" {
  description = "Name of the topic every stored version's event is published to (CloudEvents in the Pub/Sub binding's binary mode)."
  value       = google_pubsub_topic.events.name
}

output "webhook_subscriptions" {
  description = "Per webhook of var.event_webhooks: its push subscription, dead-letter topic and queue (orders-dlq --webhook NAME), and replay topic."
  value = {
    for name, webhook in local.webhooks : name => {
      subscription = google_pubsub_subscription.webhook[name].name
      dead_letter  = google_pubsub_subscription.webhook_dead_letter[name].name
      replay_topic = google_pubsub_topic.webhook_replay[name].name
    }
  }
}

output "events_push_service_account" {
  description = "Identity whose Google-signed OIDC token each webhook delivery carries: webhooks accept tokens of this email with their own audience."
  value       = google_service_account.events_push.email
}

output "pos_url" {
  description = "The pos function's URL: the stores' POS reads orders and records store updates (:ready, :pickup) here."
  value       = google_cloudfunctions2_function.pos.service_config[0].uri
}

output "pos_service_account" {
  description = "The identity the pos function runs as."
  value       = google_service_account.pos.email
}
