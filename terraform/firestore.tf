resource "google_firestore_database" "orders" {
  count = var.create_firestore_database ? 1 : 0

  project     = var.project_id
  name        = var.firestore_database
  location_id = coalesce(var.firestore_location, var.region)
  type        = "FIRESTORE_NATIVE"

  app_engine_integration_mode       = "DISABLED"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  # The orders outlive any deployment: neither a console click nor
  # `terraform destroy` deletes the database.
  delete_protection_state = "DELETE_PROTECTION_ENABLED"
  deletion_policy         = "ABANDON"

  depends_on = [google_project_service.enabled]
}

# Only the search's field is indexed (shared/domain/stored_order.py; a test keeps both
# lists equal). Firestore would index every field both ways by default: the body's
# bytes, and receivedAt, createdAt, pickedUpAt and processedAt, whose values only grow and
# would cap the collection at about 500 writes/s (docs/platform.md, "Scale").
locals {
  order_collection_group = "customer-orders"
  unindexed_order_fields = [
    "body", "status", "bodySha256", "sourceVersion", "receivedAt", "createdAt", "pickedUpAt",
    "correlationId", "messageId", "processedAt",
  ]
}

resource "google_firestore_field" "unindexed" {
  for_each = toset(local.unindexed_order_fields)

  project    = var.project_id
  database   = local.firestore_database
  collection = local.order_collection_group
  field      = each.key

  # An empty block disables every single-field index of the field.
  index_config {}

  depends_on = [google_project_service.enabled]
}

resource "google_firestore_field" "customer_id" {
  project    = var.project_id
  database   = local.firestore_database
  collection = local.order_collection_group
  field      = "customerId"

  # Equality on customerId in document id order: the search's only query.
  index_config {
    indexes {
      order       = "ASCENDING"
      query_scope = "COLLECTION"
    }
  }

  depends_on = [google_project_service.enabled]
}
