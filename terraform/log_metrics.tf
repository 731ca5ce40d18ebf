# Log-based metrics: every decision the functions log, counted from the fields of their
# structured lines (never their free text); filters and extractors are in observability.tf.
# Monitoring names each logging.googleapis.com/user/NAME.

resource "google_logging_metric" "counter" {
  for_each = local.counter_metrics

  project     = var.project_id
  name        = each.value.name
  description = each.value.description
  filter      = each.value.filter

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"

    dynamic "labels" {
      for_each = each.value.labels
      content {
        key         = labels.key
        value_type  = "STRING"
        description = labels.value.description
      }
    }
  }

  # null rather than {} when there is no label: the API returns none, and {} would diff.
  label_extractors = length(each.value.labels) == 0 ? null : { for key, label in each.value.labels : key => label.extractor }

  depends_on = [google_project_service.enabled]
}

resource "google_logging_metric" "end_to_end_lag" {
  project     = var.project_id
  name        = local.lag_metric.name
  description = local.lag_metric.description
  filter      = local.lag_metric.filter

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "s"

    dynamic "labels" {
      for_each = local.lag_metric.labels
      content {
        key         = labels.key
        value_type  = "STRING"
        description = labels.value.description
      }
    }
  }

  value_extractor  = local.lag_metric.value
  label_extractors = length(local.lag_metric.labels) == 0 ? null : { for key, label in local.lag_metric.labels : key => label.extractor }

  bucket_options {
    explicit_buckets {
      bounds = local.lag_metric.bounds
    }
  }

  depends_on = [google_project_service.enabled]
}
