output "ingest_url" {
  description = "Base URL of the ingest function: PUT/GET {ingest_url}/business-units/BU/customer-orders/ID with an ID token whose audience is this URL."
  value       = google_cloudfunctions2_function.ingest.service_config[0].uri
}

output "processor_url" {
  description = "URL the processor subscription pushes to (internal ingress only)."
  value       = google_cloudfunctions2_function.processor.service_config[0].uri
}

output "orders_topic" {
  description = "Full name of the orders topic."
  value       = google_pubsub_topic.orders.id
}

output "processor_subscription" {
  description = "Full name of the ordered push subscription feeding the processor."
  value       = google_pubsub_subscription.processor.id
}

output "dead_letter_topic" {
  description = "Full name of the dead-letter topic."
  value       = google_pubsub_topic.dead_letter.id
}

output "dead_letter_subscription" {
  description = "Full name of the pull subscription holding dead-lettered orders."
  value       = google_pubsub_subscription.dead_letter.id
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
