# One dashboard for the platform team (docs/operations.md#the-dashboard says what each chart shows).
# The JSON is a file so that it can be read and diffed; a test renders it and checks that
# every chart names a metric that exists.
resource "google_monitoring_dashboard" "operations" {
  project = var.project_id
  dashboard_json = templatefile("${path.module}/dashboards/operations.json", merge(local.dashboard_vars, {
    availability_slo = google_monitoring_slo.request["availability"].name
    freshness_slo    = google_monitoring_slo.freshness.name
  }))

  depends_on = [google_logging_metric.counter, google_logging_metric.end_to_end_lag]
}
