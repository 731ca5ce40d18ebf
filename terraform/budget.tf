# A monthly budget on the project's spend, with alert thresholds (docs/deploying.md#the-billing-budget).
# A flood of requests costs money: each function scales to its max instances, each PUT
# is a publish, a push and a write. The max instances bound how fast money can go; the
# budget tells someone how much went, before the invoice does. Created only with
# var.billing_account and var.monthly_budget.

locals {
  budgeted = var.billing_account != null && var.monthly_budget != null
  # Shares of the monthly amount: actual spend passing each, and the month's forecast
  # passing the whole amount, before it is spent.
  budget_thresholds = [
    { percent = 0.5, basis = "CURRENT_SPEND" },
    { percent = 0.9, basis = "CURRENT_SPEND" },
    { percent = 1.0, basis = "CURRENT_SPEND" },
    { percent = 1.0, basis = "FORECASTED_SPEND" },
  ]
}

resource "google_billing_budget" "project" {
  count    = local.budgeted ? 1 : 0
  provider = google.billing

  billing_account = var.billing_account
  display_name    = "customer-order-events ${var.project_id}"

  # By project number (terraform/pos_access.tf reads the project).
  budget_filter {
    projects               = ["projects/${data.google_project.this.number}"]
    calendar_period        = "MONTH"
    credit_types_treatment = "INCLUDE_ALL_CREDITS"
  }

  # In the billing account's own currency.
  amount {
    specified_amount {
      units = tostring(var.monthly_budget)
    }
  }

  dynamic "threshold_rules" {
    for_each = local.budget_thresholds
    content {
      threshold_percent = threshold_rules.value.percent
      spend_basis       = threshold_rules.value.basis
    }
  }

  # To the alerts' channels, and by email to the billing account's administrators.
  all_updates_rule {
    monitoring_notification_channels = var.notification_channels
    disable_default_iam_recipients   = false
  }

  depends_on = [google_project_service.enabled]
}
