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

# Only what the search reads is indexed, each field in the one way it needs
# (shared/domain/search_index.py; a test keeps both equal, another runs every
# combination of criteria on the emulator and checks these indexes serve it).
# Firestore would index every field both ways by default: the body's bytes, the store's
# record, and createdAt, pickedUpAt and processedAt, whose values only grow. A field exempt
# here can still be in a composite index (the search's are).
locals {
  order_collection_group = "customer-orders"
  unindexed_order_fields = [
    "body", "customerId", "status", "customerAccountId", "itemIds", "additionalInformationValues",
    "fulfillmentStates", "bodySha256", "sourceVersion", "createdAt", "storeState", "pickedUpAt",
    "lastStoreUpdate", "correlationId", "messageId", "processedAt",
  ]
  # Each store update's own document, under its order's (shared/domain/stored_order.py
  # UPDATE_FIELDS): read by its id alone, never searched, so no field is indexed.
  store_update_collection_group = "store-updates"
  unindexed_store_update_fields = ["digest", "kind", "recordedAt", "correlationId", "caller"]
  # Each searched field with receivedAt descending: Firestore merges these for any
  # combination of criteria, where one index per combination would take 23.
  search_indexes = {
    customerId                  = "ASCENDING"
    status                      = "ASCENDING"
    customerAccountId           = "ASCENDING"
    itemIds                     = "CONTAINS"
    additionalInformationValues = "CONTAINS"
  }
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

resource "google_firestore_field" "store_update_unindexed" {
  for_each = toset(local.unindexed_store_update_fields)

  project    = var.project_id
  database   = local.firestore_database
  collection = local.store_update_collection_group
  field      = each.key

  index_config {}

  depends_on = [google_project_service.enabled]
}

# The release before searched customerId on its own single-field index.
moved {
  from = google_firestore_field.customer_id
  to   = google_firestore_field.unindexed["customerId"]
}

# A search by the receivedAt range alone. Its values only grow, which caps the writes
# to one collection, that is one business unit, at about 500/s (docs/platform.md, "Scale").
resource "google_firestore_field" "received_at" {
  project    = var.project_id
  database   = local.firestore_database
  collection = local.order_collection_group
  field      = "receivedAt"

  index_config {
    indexes {
      order       = "DESCENDING"
      query_scope = "COLLECTION"
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_firestore_index" "search" {
  for_each = local.search_indexes

  project     = var.project_id
  database    = local.firestore_database
  collection  = local.order_collection_group
  query_scope = "COLLECTION"

  fields {
    field_path   = each.key
    order        = each.value == "CONTAINS" ? null : each.value
    array_config = each.value == "CONTAINS" ? "CONTAINS" : null
  }
  fields {
    field_path = "receivedAt"
    order      = "DESCENDING"
  }
  # Firestore appends it in the last field's direction; written out, plan shows no change.
  fields {
    field_path = "__name__"
    order      = "DESCENDING"
  }

  depends_on = [google_project_service.enabled]
}

# The search by fulfillment status: the orders to be picked up at one store, under every
# business unit's path (a store-to-store order is stored under the one it was sold in).
# A collection-group query, which only an index of that scope serves; no index above
# merges with it, so that search combines with the receivedAt range alone
# (docs/design.md#searching-by-fulfillment-status).
resource "google_firestore_index" "fulfillment_states" {
  project     = var.project_id
  database    = local.firestore_database
  collection  = local.order_collection_group
  query_scope = "COLLECTION_GROUP"

  fields {
    field_path   = "fulfillmentStates"
    array_config = "CONTAINS"
  }
  fields {
    field_path = "receivedAt"
    order      = "DESCENDING"
  }
  fields {
    field_path = "__name__"
    order      = "DESCENDING"
  }

  depends_on = [google_project_service.enabled]
}
