# Which stores each POS identity may touch (docs/pos.md#how-an-identity-gets-its-stores).
# Cloud Run's IAM (var.pos_invoker_members) says who may call the pos function at all; the
# function verifies each caller's ID token again and looks up the business units granted
# to that identity in Firestore (pos-grants/{email}), which `orders-stores` changes at run
# time. The pos service account reads them with the roles/datastore.user it already holds:
# Firestore's IAM is per database, not per collection (docs/deploying.md#the-pos-functions-callers).

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  # The audiences the pos function accepts in an ID token: the URLs a POS may call it by.
  # The function cannot be given its own uri (a resource cannot read itself: a cycle), but
  # both of Cloud Run's URLs for it are known before it exists: the deterministic run.app
  # URL (https://SERVICE-PROJECT_NUMBER.REGION.run.app) and, for a Cloud Run function, the
  # cloudfunctions.net one (docs/platform.md#who-calls-the-pos). var.pos_audiences replaces
  # both, e.g. for a custom domain.
  pos_audiences = length(var.pos_audiences) > 0 ? var.pos_audiences : [
    "https://${local.pos_function_name}-${data.google_project.this.number}.${var.region}.run.app",
    "https://${var.region}-${var.project_id}.cloudfunctions.net/${local.pos_function_name}",
  ]

  # Read by document id alone, never queried by these fields: none is indexed. The
  # changes keep identity, operator and changedAt indexed, to find who changed what.
  grant_unindexed_fields = {
    for pair in concat(
      [for field in ["businessUnits", "allBusinessUnits", "updatedAt", "updatedBy"] : ["pos-grants", field]],
      [for field in ["before", "after", "command"] : ["pos-grant-changes", field]],
    ) : "${pair[0]}/${pair[1]}" => { collection = pair[0], field = pair[1] }
  }
}

resource "google_firestore_field" "grants_unindexed" {
  for_each = local.grant_unindexed_fields

  project    = var.project_id
  database   = local.firestore_database
  collection = each.value.collection
  field      = each.value.field

  # An empty block disables every single-field index of the field.
  index_config {}

  depends_on = [google_project_service.enabled]
}

# The operators who run `orders-stores` (docs/deploying.md#the-pos-functions-callers). The
# grants are documents of the orders database, and Firestore's roles cannot be narrower
# than a database: the same role as the pos function, on that database alone.
resource "google_project_iam_member" "stores_operators" {
  for_each = toset(var.stores_operators)

  project = var.project_id
  role    = "roles/datastore.user"
  member  = each.value

  condition {
    title       = "only-${local.firestore_database_id}"
    description = "Only the customer orders database, where the POS grants are."
    expression  = "resource.name == \"projects/${var.project_id}/databases/${local.firestore_database}\""
  }
}

# One identity refused again and again: a leaked credential (or a till set up with another
# store's id) trying business units it does not hold. local.counter_metrics.pos_refusals
# counts every 401 and 403 by identity (terraform/observability.tf).
locals {
  pos_refusals_runbook_vars = merge(local.runbook_vars, {
    pos_service        = local.pos_function_name
    refusals_threshold = var.pos_refusals_alert_threshold
    refusals_metric    = local.metric_types.pos_refusals
  })
}

resource "google_monitoring_alert_policy" "pos_refusals" {
  project      = var.project_id
  display_name = "customer-order-events: one POS identity refused again and again"
  combiner     = "OR"
  severity     = "ERROR"

  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "more than ${var.pos_refusals_alert_threshold} refused pos calls (401, 403) by one identity in 5 min"

    condition_threshold {
      filter          = "metric.type = \"${local.metric_types.pos_refusals}\" AND resource.type = \"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.pos_refusals_alert_threshold
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.identity"]
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "customer-order-events: one POS identity refused again and again"
    content   = templatefile("${path.module}/runbooks/pos_refusals.md", local.pos_refusals_runbook_vars)

    dynamic "links" {
      for_each = var.runbook_url == null ? [] : [var.runbook_url]
      content {
        display_name = "Runbook: docs/operations.md"
        url          = links.value
      }
    }
  }

  depends_on = [google_project_service.enabled]
}
