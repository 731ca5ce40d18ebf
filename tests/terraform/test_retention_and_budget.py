"""The orders topic's retention (a replay after a bug) and the billing budget, read offline.

docs/operations.md#replaying-after-a-bug and docs/deploying.md#the-billing-budget say why;
tests/integration/test_replay.py replays from a topic retained the same way.
"""

from __future__ import annotations

import pytest

from tests.terraform.tfconfig import TerraformConfig, check_variables, only, ref

ACCOUNT = "012345-6789AB-CDEF01"


def validated(**variables: str) -> bool:
    """Whether variables.tf accepts these values, as plan would."""
    return not check_variables(**variables).failed


# --- Retention -------------------------------------------------------------------------------


def test_the_orders_topic_keeps_every_message_for_the_retention(tf: TerraformConfig) -> None:
    topic = tf.resource("google_pubsub_topic.orders")
    assert topic["message_retention_duration"] == "${var.orders_topic_retention_seconds}s"
    assert tf.default("orders_topic_retention_seconds") == 7 * 24 * 3600
    # Retained once, on the topic, for every subscription: the processor's subscription
    # keeps no acknowledged message of its own (docs/platform.md#retaining-and-replaying-the-orders-topic-issue-29).
    processor = tf.resource("google_pubsub_subscription.processor")
    assert "retain_acked_messages" not in processor
    assert processor["topic"] == ref("google_pubsub_topic.orders.id")


@pytest.mark.parametrize(
    ("seconds", "accepted"),
    [
        ("600", True),
        ("604800", True),
        ("2678400", True),
        ("599", False),
        ("2678401", False),
        ("3600.5", False),
    ],
)
def test_the_retention_is_what_pubsub_allows_a_topic(seconds: str, accepted: bool) -> None:
    assert validated(orders_topic_retention_seconds=seconds) is accepted


# --- Budget ----------------------------------------------------------------------------------


def test_the_budget_exists_only_with_an_account_and_an_amount(tf: TerraformConfig) -> None:
    assert tf.locals["budgeted"] == ref("var.billing_account != null && var.monthly_budget != null")
    budget = tf.resource("google_billing_budget.project")
    assert budget["count"] == ref("local.budgeted ? 1 : 0")
    assert (tf.default("billing_account"), tf.default("monthly_budget")) == (None, None)
    # Its API is enabled with it, and only then.
    assert 'local.budgeted ? ["billingbudgets.googleapis.com"] : []' in tf.locals["services"]


def test_the_budget_watches_this_project_monthly_and_alerts_at_each_threshold(
    tf: TerraformConfig,
) -> None:
    budget = tf.resource("google_billing_budget.project")
    assert budget["billing_account"] == ref("var.billing_account")
    scope = only(budget["budget_filter"])
    assert scope == {
        "projects": ["projects/${data.google_project.this.number}"],
        "calendar_period": "MONTH",
        "credit_types_treatment": "INCLUDE_ALL_CREDITS",
    }
    assert only(only(budget["amount"])["specified_amount"]) == {
        "units": ref("tostring(var.monthly_budget)")
    }
    rules = only(budget["dynamic"])["threshold_rules"]
    assert rules["for_each"] == ref("local.budget_thresholds")
    assert only(rules["content"]) == {
        "threshold_percent": ref("threshold_rules.value.percent"),
        "spend_basis": ref("threshold_rules.value.basis"),
    }
    thresholds = [(rule["percent"], rule["basis"]) for rule in tf.locals["budget_thresholds"]]
    assert thresholds == [
        (0.5, "CURRENT_SPEND"),
        (0.9, "CURRENT_SPEND"),
        (1.0, "CURRENT_SPEND"),
        (1.0, "FORECASTED_SPEND"),
    ]
    notify = only(budget["all_updates_rule"])
    assert notify == {
        "monitoring_notification_channels": ref("var.notification_channels"),
        "disable_default_iam_recipients": False,
    }


def test_the_budget_alone_goes_through_a_provider_with_a_quota_project(
    tf: TerraformConfig,
) -> None:
    budget = tf.resource("google_billing_budget.project")
    assert budget["provider"] == ref("google.billing")
    [billing] = [
        block["google"]
        for block in tf.providers
        if "google" in block and block["google"].get("alias") == "billing"
    ]
    assert billing["user_project_override"] is True
    assert billing["billing_project"] == ref("var.project_id")
    others = [
        address
        for address, body in tf.all_resources()
        if body.get("provider") == ref("google.billing")
    ]
    assert others == ["google_billing_budget.project"]


@pytest.mark.parametrize(
    ("variables", "accepted"),
    [
        ({}, True),
        ({"billing_account": ACCOUNT, "monthly_budget": "500"}, True),
        ({"billing_account": ACCOUNT}, False),
        ({"monthly_budget": "500"}, False),
        ({"billing_account": ACCOUNT, "monthly_budget": "0"}, False),
        ({"billing_account": ACCOUNT, "monthly_budget": "99.5"}, False),
        ({"billing_account": "012345-6789ab-cdef01", "monthly_budget": "500"}, False),
        (
            {"billing_account": "billingAccounts/012345-6789AB-CDEF01", "monthly_budget": "500"},
            False,
        ),
    ],
)
def test_the_budget_variables_are_both_set_or_both_null(
    variables: dict[str, str], accepted: bool
) -> None:
    assert validated(**variables) is accepted
