locals {
  repo_root = abspath("${path.module}/..")

  ingest_function_name    = "${var.function_name_prefix}-ingest"
  processor_function_name = "${var.function_name_prefix}-processor"
  pos_function_name       = "${var.function_name_prefix}-pos"

  firestore_database = var.create_firestore_database ? google_firestore_database.orders[0].name : var.firestore_database

  labels = merge(var.labels, { service = "customer-order-events" })

  # Everything the deployment calls; none is switched off on destroy, because
  # other workloads in the project may rely on it.
  services = toset(concat([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "storage.googleapis.com",
  ], local.budgeted ? ["billingbudgets.googleapis.com"] : []))
}

resource "google_project_service" "enabled" {
  for_each = local.services

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# Pub/Sub creates its service agent lazily; granting roles to it before it
# exists fails with "Service account ... does not exist". This creates it now.
resource "google_project_service_identity" "pubsub" {
  provider = google-beta

  project = var.project_id
  service = "pubsub.googleapis.com"

  depends_on = [google_project_service.enabled]
}

locals {
  pubsub_service_agent = "serviceAccount:${google_project_service_identity.pubsub.email}"
}
