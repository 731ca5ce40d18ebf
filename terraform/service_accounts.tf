# One identity per job, each with only what that job needs.

resource "google_service_account" "ingest" {
  project      = var.project_id
  account_id   = "${var.function_name_prefix}-ingest"
  display_name = "customer-order-events ingest function"
  description  = "Runs the ingest function: publishes to the orders topic, reads Firestore."

  depends_on = [google_project_service.enabled]
}

resource "google_service_account" "processor" {
  project      = var.project_id
  account_id   = "${var.function_name_prefix}-processor"
  display_name = "customer-order-events processor function"
  description  = "Runs the processor function: reads and writes Firestore, publishes to the events topic."

  depends_on = [google_project_service.enabled]
}

resource "google_service_account" "pos" {
  project      = var.project_id
  account_id   = "${var.function_name_prefix}-pos"
  display_name = "customer-order-events pos function"
  description  = "Runs the pos function: reads and writes Firestore, publishes store updates to the store-updates topic."

  depends_on = [google_project_service.enabled]
}

resource "google_service_account" "push_invoker" {
  project      = var.project_id
  account_id   = "${var.function_name_prefix}-push"
  display_name = "customer-order-events Pub/Sub push identity"
  description  = "Signs the OIDC token of the processor's two subscriptions' pushes; may only invoke the processor."

  depends_on = [google_project_service.enabled]
}

# Builds the functions' images. Since mid-2024 new projects no longer give the
# default Cloud Build identity these rights, so an empty project needs its own.
resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "${var.function_name_prefix}-build"
  display_name = "customer-order-events function builds"
  description  = "Cloud Build identity for building the functions."

  depends_on = [google_project_service.enabled]
}

# The roles Google documents for a function's custom build service account.
resource "google_project_iam_member" "build" {
  for_each = toset([
    "roles/artifactregistry.writer",
    "roles/logging.logWriter",
    "roles/storage.objectAdmin",
  ])

  project = var.project_id
  role    = each.value
  member  = google_service_account.build.member
}

# Firestore access is limited to the one database by an IAM condition.
resource "google_project_iam_member" "ingest_firestore_reader" {
  project = var.project_id
  role    = "roles/datastore.viewer"
  member  = google_service_account.ingest.member

  condition {
    title       = "only-${local.firestore_database_id}"
    description = "Only the customer orders database."
    expression  = "resource.name == \"projects/${var.project_id}/databases/${local.firestore_database}\""
  }
}

resource "google_project_iam_member" "processor_firestore_user" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.processor.member

  condition {
    title       = "only-${local.firestore_database_id}"
    description = "Only the customer orders database."
    expression  = "resource.name == \"projects/${var.project_id}/databases/${local.firestore_database}\""
  }
}

resource "google_project_iam_member" "pos_firestore_user" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.pos.member

  condition {
    title       = "only-${local.firestore_database_id}"
    description = "Only the customer orders database."
    expression  = "resource.name == \"projects/${var.project_id}/databases/${local.firestore_database}\""
  }
}

locals {
  # IAM condition titles allow no parentheses.
  firestore_database_id = replace(replace(local.firestore_database, "(", ""), ")", "")
}

# IAM grants take a minute or so to reach every Google service. Without the
# wait, the first build or the first start of a function in a new project can
# fail on a permission it was just given.
resource "time_sleep" "iam_propagation" {
  create_duration = "60s"

  triggers = {
    build     = join(",", [for grant in google_project_iam_member.build : grant.role])
    ingest    = google_project_iam_member.ingest_firestore_reader.id
    processor = google_project_iam_member.processor_firestore_user.id
    pos       = google_project_iam_member.pos_firestore_user.id
    publisher = google_pubsub_topic_iam_member.ingest_publisher.id
    updates   = google_pubsub_topic_iam_member.pos_publisher.id
    events    = google_pubsub_topic_iam_member.processor_events_publisher.id
  }
}
