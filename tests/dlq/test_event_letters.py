"""orders-dlq --webhook: a webhook's dead-lettered events, listed, shown, replayed to it alone.

The webhook's queues are named as Terraform names them (shared/config.py); its
subscription pushes to an endpoint that always fails, unordered, because the emulator
never dead-letters from an ordered subscription (docs/platform.md); its replay topic
pushes to the local receiver, which stands for the webhook once it works again, through
the filter bridge with a store's filter, as Pub/Sub filters a store's webhook.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.config import webhook_dead_letter_name, webhook_replay_name, webhook_subscription_name
from shared.domain.events import OrderEvent, order_event, store_attribute, store_filter
from shared.domain.stored_order import OrderRecord, content_of_body
from shared.tools.devstack import LocalStack, free_ports, http_request
from shared.tools.dlq.cli import main
from shared.tools.filter_bridge import Route, filter_bridge, parse_filter
from tests.dlq.rig import MAX_DELIVERY_ATTEMPTS, DeadLetterRig, RawMessage, peek
from tests.support import (
    FORMATS,
    create_pull_subscription,
    create_topic,
    create_webhook_subscription,
    order_message,
    pubsub_base,
    received_events,
    wait_for,
)

pytestmark = pytest.mark.integration

BU = "BU-EVENT-LETTERS"
WEBHOOK = "store"
# Events of the release before the store filters: no bu- attribute (their business unit,
# their order: BU-FORMAT-1/CO-EVENT-FORMAT-1).
BEFORE_STORE_ATTRIBUTES: list[dict[str, Any]] = json.loads(
    (FORMATS / "events-before-store-attributes.json").read_text()
)["events"]
FORMAT_BU = BEFORE_STORE_ATTRIBUTES[0]["attributes"]["ce-businessunitid"]
FORMAT_ORDER = BEFORE_STORE_ATTRIBUTES[0]["attributes"]["ce-subject"]


@dataclass(frozen=True)
class Webhook:
    events_topic: str
    # The receiver's webhook that the replay topic pushes to.
    receiver: str
    rig: DeadLetterRig

    @property
    def receiver_url(self) -> str:
        return self.rig.stack.config.receiver_url

    def args(self, *argv: str) -> list[str]:
        return [*argv, "--webhook", WEBHOOK, "--events-topic", self.events_topic, "--settle", "0.5"]


@pytest.fixture(scope="module")
def webhook(stack: LocalStack, failing_push_endpoint: str) -> Iterator[Webhook]:
    project = stack.config.project_id
    events_topic = f"dlq-events-{uuid.uuid4().hex[:10]}"
    subscription = webhook_subscription_name(events_topic, WEBHOOK)
    dead_letter = webhook_dead_letter_name(events_topic, WEBHOOK)
    replay = webhook_replay_name(events_topic, WEBHOOK)
    for topic in (events_topic, dead_letter, replay):
        create_topic(stack, topic)
    create_pull_subscription(stack, dead_letter, dead_letter)
    status, body = http_request(
        "PUT",
        f"{pubsub_base(stack)}/subscriptions/{subscription}",
        {
            "topic": f"projects/{project}/topics/{events_topic}",
            "pushConfig": {
                "pushEndpoint": failing_push_endpoint,
                "noWrapper": {"writeMetadata": True},
            },
            "ackDeadlineSeconds": 10,
            "deadLetterPolicy": {
                "deadLetterTopic": f"projects/{project}/topics/{dead_letter}",
                "maxDeliveryAttempts": MAX_DELIVERY_ATTEMPTS,
            },
        },
    )
    assert status == 200, body
    receiver = f"replayed-{uuid.uuid4().hex[:8]}"
    # A store's webhook: its replay subscription filtered by its stores, like its live one.
    stores = store_filter([BU, FORMAT_BU])
    assert stores is not None
    route = Route(f"{stack.config.receiver_url}/webhooks/{receiver}", parse_filter(stores))
    with filter_bridge(free_ports(1)[0], {WEBHOOK: route}) as bridge:
        create_webhook_subscription(stack, replay, replay, f"{bridge}/{WEBHOOK}", ordered=False)
        yield Webhook(
            events_topic, receiver, DeadLetterRig(stack, events_topic, subscription, dead_letter)
        )


def _event(order_id: str, minutes_ago: int) -> OrderEvent:
    received_at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    message = order_message(BU, order_id, received_at)
    return order_event(OrderRecord.of_message(message, None, content_of_body(message.body, BU)))


@pytest.fixture(scope="module")
def letters(webhook: Webhook) -> list[OrderEvent]:
    events = [_event("CO-REPLAYED", 3), _event("CO-SHOWN", 2), _event("CO-PURGED", 1)]
    before = [
        RawMessage(event["data"].encode(), event["attributes"], event["orderingKey"])
        for event in BEFORE_STORE_ATTRIBUTES
    ]
    webhook.rig.dead_letter([*events, *before])
    return events


def test_list_names_each_event_s_order_and_version(
    webhook: Webhook, letters: list[OrderEvent], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(webhook.args("list", "--json")) == 0
    listed = json.loads(capsys.readouterr().out)
    mine = {item["customerOrderId"]: item for item in listed if item["businessUnitId"] == BU}
    assert set(mine) == {"CO-REPLAYED", "CO-SHOWN", "CO-PURGED"}
    for event in letters:
        item = mine[event.customer_order_id]
        assert item["kind"] == "event"
        assert item["problem"] is None
        assert item["deliveryCount"] == MAX_DELIVERY_ATTEMPTS
        assert item["receivedAt"] == event.attributes["ce-time"]


def test_show_prints_the_cloudevent_attributes_and_data(
    webhook: Webhook, letters: list[OrderEvent], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(webhook.args("show", f"{BU}/CO-SHOWN", "--json")) == 0
    [shown] = json.loads(capsys.readouterr().out)
    event = letters[1]
    assert shown["attributes"]["ce-id"] == event.id
    assert shown["attributes"]["ce-type"] == event.type
    assert shown["body"] == json.loads(event.data)


def test_replay_sends_the_event_unchanged_to_the_webhook_alone(
    webhook: Webhook, letters: list[OrderEvent], capsys: pytest.CaptureFixture[str]
) -> None:
    event = letters[0]
    assert main(webhook.args("replay", "--order", f"{BU}/CO-REPLAYED")) == 0
    assert "replayed 1, skipped 0, failed 0" in capsys.readouterr().out
    [delivered] = wait_for(lambda: received_events(webhook.receiver_url, webhook.receiver) or None)
    assert delivered.id == event.id
    assert delivered.data == event.data
    assert delivered.type == event.type
    left = {
        m["attributes"]["ce-subject"]
        for m in peek(webhook.rig.stack, webhook.rig.dead_letter_subscription)
    }
    assert "CO-REPLAYED" not in left
    assert "CO-SHOWN" in left


def test_replay_gives_an_event_of_the_release_before_its_store_so_a_store_s_webhook_gets_it(
    webhook: Webhook, letters: list[OrderEvent], capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a bu- attribute the store's filter would acknowledge it unseen."""
    assert main(webhook.args("replay", "--order", f"{FORMAT_BU}/{FORMAT_ORDER}")) == 0
    assert "replayed 2, skipped 0, failed 0" in capsys.readouterr().out

    def both() -> list[Any] | None:
        mine = [
            event
            for event in received_events(webhook.receiver_url, webhook.receiver)
            if event.order == (FORMAT_BU, FORMAT_ORDER)
        ]
        return mine if len(mine) == len(BEFORE_STORE_ATTRIBUTES) else None

    delivered = {event.id: event for event in wait_for(both)}
    key = store_attribute(FORMAT_BU)
    for sent in BEFORE_STORE_ATTRIBUTES:
        event = delivered[sent["attributes"]["ce-id"]]
        assert event.data == sent["data"].encode()
        headers = {name.lower(): value for name, value in event.headers.items()}
        # Every attribute as it was, and the store's: its business unit.
        for name, value in sent["attributes"].items():
            assert headers[name.lower()] == value
        assert headers[key] == FORMAT_BU
        assert [name for name in headers if name.startswith("bu-")] == [key]


def test_purge_drops_an_event_for_good(
    webhook: Webhook, letters: list[OrderEvent], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(webhook.args("purge", "--order", f"{BU}/CO-PURGED", "--yes")) == 0
    assert "dropped 1, failed 0" in capsys.readouterr().out
    left = {
        m["attributes"]["ce-subject"]
        for m in peek(webhook.rig.stack, webhook.rig.dead_letter_subscription)
    }
    assert "CO-PURGED" not in left
