"""The webhooks of var.event_webhooks: one delivery each, as Pub/Sub does it, and its care.

The names and filters are evaluated by ``terraform console`` and compared with what the
local stack uses (shared/config.py, shared/domain/events.py); the resources are read
with python-hcl2.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.config import (
    DEFAULT_EVENTS_TOPIC,
    webhook_dead_letter_name,
    webhook_replay_name,
    webhook_subscription_name,
)
from shared.domain.events import MAX_STORES_PER_FILTER, store_filter
from tests.terraform.observability import (
    documented_form,
    evaluate,
    operations_document,
    runbook_commands,
)
from tests.terraform.tfconfig import TERRAFORM_DIR, TerraformConfig, only, ref, terraform_console

REQUIRED_VARIABLES = {"project_id": "demo-project", "region": "europe-west1"}
WEBHOOKS: list[dict[str, Any]] = [
    {"name": "oms", "url": "https://oms.example.com/order-events"},
    {
        "name": "store-bu1",
        "url": "https://pos.example.com/hooks/orders",
        "audience": "store-notifier",
        "business_units": ["BU1", "BU-2"],
    },
]


def _webhooks_var(webhooks: list[dict[str, Any]]) -> str:
    # HCL's object syntax is close enough to JSON for console's -var: quoted keys and values.
    return json.dumps(webhooks).replace('":', '" =')


@pytest.fixture(scope="module")
def webhooks() -> dict[str, Any]:
    value: dict[str, Any] = evaluate(
        "{webhooks = local.webhooks, deliveries = local.webhook_deliveries}",
        {"event_webhooks": _webhooks_var(WEBHOOKS)},
    )
    return value


def test_each_webhook_is_named_as_the_local_stack_names_it(webhooks: dict[str, Any]) -> None:
    assert set(webhooks["webhooks"]) == {"oms", "store-bu1"}
    for name, webhook in webhooks["webhooks"].items():
        assert webhook["subscription"] == webhook_subscription_name(DEFAULT_EVENTS_TOPIC, name)
        assert webhook["dead_letter"] == webhook_dead_letter_name(DEFAULT_EVENTS_TOPIC, name)
        assert webhook["replay"] == webhook_replay_name(DEFAULT_EVENTS_TOPIC, name)
    # Each webhook is pushed to from the events topic and from its replay topic.
    assert {key: value["subscription"] for key, value in webhooks["deliveries"].items()} == {
        "oms": "customer-order-events-oms",
        "oms-replay": "customer-order-events-oms-replay",
        "store-bu1": "customer-order-events-store-bu1",
        "store-bu1-replay": "customer-order-events-store-bu1-replay",
    }


def test_the_store_filter_is_the_one_the_code_writes(webhooks: dict[str, Any]) -> None:
    """Terraform's twin of store_filter, for units of every shape the variable accepts."""
    assert webhooks["webhooks"]["store-bu1"]["store_filter"] == store_filter(["BU1", "BU-2"])
    assert webhooks["webhooks"]["oms"]["store_filter"] is None
    units = ["BU1", "bu1", "BU-2", "BU1", "Z_9", "Söder 町", 'a "quoted" OR id']
    evaluated = evaluate(
        "local.webhooks",
        {
            "event_webhooks": _webhooks_var(
                [{"name": "s", "url": "https://x", "business_units": units}]
            )
        },
    )
    assert evaluated["s"]["store_filter"] == store_filter(units)
    # Terraform's sha256 digests a string's UTF-8 bytes, as the code does, for any id.
    digest = terraform_console(
        [TERRAFORM_DIR / "variables.tf"], 'substr(sha256("Söder 町"), 0, 16)', REQUIRED_VARIABLES
    )
    assert not digest.failed, digest.output
    assert f"attributes:bu-{json.loads(digest.output)}" == store_filter(["Söder 町"])


def test_the_audience_names_the_webhook(webhooks: dict[str, Any]) -> None:
    assert webhooks["webhooks"]["oms"]["audience"] == "https://oms.example.com/order-events"
    assert webhooks["webhooks"]["store-bu1"]["audience"] == "store-notifier"


@pytest.mark.parametrize(
    ("webhooks", "message"),
    [
        (
            [{"name": "a", "url": "https://x"}, {"name": "a", "url": "https://y"}],
            "a name of its own",
        ),
        ([{"name": "Bad_Name", "url": "https://x"}], "lowercase letters, digits or hyphens"),
        ([{"name": "plain", "url": "http://x.example.com"}], "must be an https:// URL"),
        (
            [{"name": "b", "url": "https://x", "business_units": ["BU1", ""]}],
            "may not be empty",
        ),
    ],
)
def test_webhooks_are_validated(webhooks: list[dict[str, Any]], message: str) -> None:
    result = terraform_console(
        [TERRAFORM_DIR / "variables.tf"],
        "true",
        {**REQUIRED_VARIABLES, "event_webhooks": _webhooks_var(webhooks)},
    )
    assert result.failed
    assert message in result.text


def _check_units(units: list[str]) -> Any:
    webhook = {"name": "d", "url": "https://x", "business_units": units}
    return terraform_console(
        [TERRAFORM_DIR / "variables.tf"],
        "true",
        {**REQUIRED_VARIABLES, "event_webhooks": _webhooks_var([webhook])},
    )


def test_terraform_and_the_code_agree_on_the_most_business_units_a_filter_holds() -> None:
    """Seven units of any id, the longest included; an eighth is refused by both."""
    units = [chr(0x4E00 + index) * 170 for index in range(MAX_STORES_PER_FILTER)]
    assert MAX_STORES_PER_FILTER == 7
    assert store_filter(units) is not None
    with pytest.raises(ValueError, match="over Pub/Sub's 256"):
        store_filter([*units, "BU8"])
    assert not _check_units(units).failed
    # A unit named twice costs once, in both.
    assert not _check_units([*units, units[0]]).failed
    refused = _check_units([*units, "BU8"])
    assert refused.failed
    assert "at most 7 business units" in refused.text


def test_each_delivery_is_an_unwrapped_ordered_signed_push_with_its_dead_letters(
    tf: TerraformConfig,
) -> None:
    subscription = tf.resource("google_pubsub_subscription.webhook")
    assert subscription["for_each"] == ref("local.webhook_deliveries")
    assert subscription["enable_message_ordering"] is True
    assert subscription["filter"] == ref("local.webhooks[each.value.webhook].store_filter")
    push = only(subscription["push_config"])
    assert push["push_endpoint"] == ref("local.webhooks[each.value.webhook].url")
    token = only(push["oidc_token"])
    assert token["service_account_email"] == ref("google_service_account.events_push.email")
    assert token["audience"] == ref("local.webhooks[each.value.webhook].audience")
    assert only(push["no_wrapper"]) == {"write_metadata": True}
    policy = only(subscription["dead_letter_policy"])
    assert policy["dead_letter_topic"] == ref(
        "google_pubsub_topic.webhook_dead_letter[each.value.webhook].id"
    )
    assert policy["max_delivery_attempts"] == ref("var.webhook_max_delivery_attempts")
    assert only(subscription["retry_policy"]) == {
        "minimum_backoff": "${var.webhook_retry_minimum_backoff_seconds}s",
        "maximum_backoff": "${var.webhook_retry_maximum_backoff_seconds}s",
    }
    assert only(subscription["expiration_policy"]) == {"ttl": ""}
    assert subscription["ack_deadline_seconds"] == ref("var.webhook_timeout_seconds")


def test_the_pubsub_service_agent_may_dead_letter_every_delivery(tf: TerraformConfig) -> None:
    publisher = tf.resource("google_pubsub_topic_iam_member.webhook_dead_letter_publisher")
    assert publisher["for_each"] == ref("local.webhooks")
    assert publisher["topic"] == ref("google_pubsub_topic.webhook_dead_letter[each.key].name")
    assert (publisher["role"], publisher["member"]) == (
        "roles/pubsub.publisher",
        ref("local.pubsub_service_agent"),
    )
    subscriber = tf.resource("google_pubsub_subscription_iam_member.webhook_dead_letter_subscriber")
    assert subscriber["for_each"] == ref("local.webhook_deliveries")
    assert subscriber["subscription"] == ref("google_pubsub_subscription.webhook[each.key].name")
    assert (subscriber["role"], subscriber["member"]) == (
        "roles/pubsub.subscriber",
        ref("local.pubsub_service_agent"),
    )
    # A dead-letter topic without a subscription drops what it gets.
    queue = tf.resource("google_pubsub_subscription.webhook_dead_letter")
    assert queue["for_each"] == ref("local.webhooks")
    assert queue["topic"] == ref("google_pubsub_topic.webhook_dead_letter[each.key].id")
    assert queue["retain_acked_messages"] is True


def test_each_webhook_has_its_two_alerts(tf: TerraformConfig) -> None:
    for name, metric, subscription in (
        (
            "webhook_dead_letters",
            "num_undelivered_messages",
            "google_pubsub_subscription.webhook_dead_letter[each.key].name",
        ),
        (
            "webhook_backlog_age",
            "oldest_unacked_message_age",
            "google_pubsub_subscription.webhook[each.key].name",
        ),
    ):
        alert = tf.resource(f"google_monitoring_alert_policy.{name}")
        assert alert["for_each"] == ref("local.webhooks")
        condition = only(only(alert["conditions"])["condition_threshold"])
        assert f"pubsub.googleapis.com/subscription/{metric}" in condition["filter"]
        assert f"${{{subscription}}}" in condition["filter"]
        documentation = only(alert["documentation"])
        assert documentation["content"] == ref(
            f'templatefile("${{path.module}}/runbooks/{name}.md", '
            "local.webhook_runbook_vars[each.key])"
        )


def test_the_processor_may_publish_events_and_is_told_the_topic(tf: TerraformConfig) -> None:
    grant = tf.resource("google_pubsub_topic_iam_member.processor_events_publisher")
    assert grant["topic"] == ref("google_pubsub_topic.events.name")
    assert grant["member"] == ref("google_service_account.processor.member")
    service = only(tf.resource("google_cloudfunctions2_function.processor")["service_config"])
    assert service["environment_variables"]["EVENTS_TOPIC"] == ref(
        "google_pubsub_topic.events.name"
    )
    assert tf.default("events_topic_name") == DEFAULT_EVENTS_TOPIC


def test_the_webhook_runbooks_render_with_every_value(webhooks: dict[str, Any]) -> None:
    rendered = evaluate(
        '{for name in keys(local.webhooks) : name => [for runbook in ["webhook_dead_letters", "webhook_backlog_age"] : templatefile("runbooks/${runbook}.md", local.webhook_runbook_vars[name])]}',
        {"event_webhooks": _webhooks_var(WEBHOOKS)},
    )
    document = operations_document()
    assert sorted(rendered) == sorted(webhook["name"] for webhook in WEBHOOKS)
    for name, runbooks in rendered.items():
        for runbook in runbooks:
            assert runbook.startswith("**What it means.**")
            assert "${" not in runbook
            assert f"--webhook={name}" in runbook
            listed = runbook_commands(runbook)
            assert len(listed) == 3
            # docs/operations.md writes them out for a webhook called WEBHOOK.
            for command in listed:
                written = documented_form(command).replace(name, "WEBHOOK")
                assert written in document, f"docs/operations.md lacks {written}"
