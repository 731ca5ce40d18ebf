"""A dead-lettered store update: decoded as this release published it, shown, and replayed
to the store-updates topic it came from, never to the orders topic (nor the reverse)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.domain.conflict import Version
from shared.domain.messages import Source, StoreUpdateMessage, decode_message
from shared.domain.store_updates import (
    Basis,
    RequestedItem,
    RequestedTender,
    StoreUpdate,
    UpdateKind,
)
from shared.tools.dlq.records import SOURCE_SUBSCRIPTION, DeadLetter, parse_dead_letter
from shared.tools.dlq.render import describe, detail_lines, summary_json
from shared.tools.dlq.replay_message import REPLAYED_AT, ReplayTopics, build_replay_message
from shared.tools.errors import NotReplayable
from tests.dlq.samples import NOW, bookkeeping, order_message
from tests.support import FORMATS

STORE_UPDATES_SUBSCRIPTION = "customer-order-store-updates-processor"
ORDERS_SUBSCRIPTION = "customer-orders-processor"
TOPICS = ReplayTopics(
    orders="projects/p/topics/customer-orders",
    store_updates="projects/p/topics/customer-order-store-updates",
)


def _fixture() -> dict[str, Any]:
    fixture: dict[str, Any] = json.loads((FORMATS / "store-update-message.json").read_text())
    return fixture


def _letter(
    data: bytes, attributes: dict[str, str], *, subscription: str | None, ordering_key: str = ""
) -> DeadLetter:
    forwarded = dict(attributes)
    if subscription is not None:
        forwarded |= {**bookkeeping(), SOURCE_SUBSCRIPTION: subscription}
    return parse_dead_letter(
        message_id="901",
        published_at=NOW,
        data=data,
        attributes=forwarded,
        ordering_key=ordering_key,
        store_updates_subscription=STORE_UPDATES_SUBSCRIPTION,
    )


def _fixture_letter(subscription: str | None = STORE_UPDATES_SUBSCRIPTION) -> DeadLetter:
    fixture = _fixture()
    return _letter(
        fixture["data"].encode(),
        fixture["attributes"],
        subscription=subscription,
        ordering_key=fixture["orderingKey"],
    )


def test_the_store_update_message_of_this_release_decodes() -> None:
    fixture = _fixture()
    decoded = decode_message(
        fixture["data"].encode(), fixture["attributes"], "9", Source.STORE_UPDATES
    )
    assert decoded == StoreUpdateMessage(
        business_unit_id="BU1",
        customer_order_id="CO-FORMAT-2",
        update=StoreUpdate(
            update_id="till-7-2026-12-07-0042",
            kind=UpdateKind.PICKUP,
            fulfillment_id="F-STORE-1",
            items=(RequestedItem("ITEM-1", Decimal("1")), RequestedItem("ITEM-2", Decimal("0.5"))),
            tenders=(RequestedTender("T-1", "149.90", "CARD"),),
        ),
        recorded_at=datetime(2026, 12, 7, 10, 31, 12, 204311, tzinfo=UTC),
        basis=Basis(Version(datetime(2026, 12, 7, 9, 58, 1, 3, tzinfo=UTC), 17), 1),
        correlation_id="pos-format-2",
        caller="till-7@stores-project.iam.gserviceaccount.com",
    )
    assert decoded.ordering_key == fixture["orderingKey"]


@pytest.mark.parametrize("subscription", [STORE_UPDATES_SUBSCRIPTION, None])
def test_a_dead_store_update_is_replayed_to_the_store_updates_topic_unchanged(
    subscription: str | None,
) -> None:
    """From the store-updates subscription, or hand-made without Pub/Sub's bookkeeping."""
    fixture = _fixture()
    letter = _fixture_letter(subscription)

    assert letter.problem is None
    assert letter.source is Source.STORE_UPDATES
    replay = build_replay_message(letter, NOW, TOPICS)

    assert replay.topic == TOPICS.store_updates
    assert replay.data == fixture["data"].encode()
    assert replay.ordering_key == "BU1/CO-FORMAT-2"
    assert replay.attributes == {
        **fixture["attributes"],
        REPLAYED_AT: "2026-11-29T12:00:00.000000Z",
    }
    # What the processor decodes from the store-updates path: the update as published.
    replayed = decode_message(replay.data, replay.attributes, "10", Source.STORE_UPDATES)
    assert replayed == decode_message(
        fixture["data"].encode(), fixture["attributes"], "10", Source.STORE_UPDATES
    )


def test_an_oms_version_and_a_store_update_each_go_back_to_their_own_topic() -> None:
    version = order_message("BU1", "CO-1")
    from_orders = _letter(version.data, version.attributes, subscription=ORDERS_SUBSCRIPTION)

    assert build_replay_message(from_orders, NOW, TOPICS).topic == TOPICS.orders
    assert build_replay_message(_fixture_letter(), NOW, TOPICS).topic == TOPICS.store_updates


def test_an_oms_version_dead_lettered_by_the_store_updates_subscription_is_never_replayed() -> None:
    """What the pos identity published there shaped as an OMS version (issue 28, item 5):
    the processor refused it, and replay must not launder it onto the orders topic."""
    forged = order_message("BU1", "CO-FORGED")
    letter = _letter(forged.data, forged.attributes, subscription=STORE_UPDATES_SUBSCRIPTION)

    assert letter.source is Source.STORE_UPDATES
    assert letter.problem is not None
    assert letter.problem.startswith("undecodable: the store-updates topic carries only")
    with pytest.raises(NotReplayable, match="store-updates topic carries only"):
        build_replay_message(letter, NOW, TOPICS)


def test_a_store_update_dead_lettered_by_another_subscription_is_not_replayed_and_says_why() -> (
    None
):
    """Pushed from the orders topic, where the processor refuses it: its source is named,
    with the option that says which subscription is the store updates' (when renamed)."""
    letter = _fixture_letter(subscription="renamed-store-updates")

    assert letter.source is Source.ORDERS
    assert letter.problem is not None
    assert "the orders topic carries orders" in letter.problem
    assert "--store-updates-subscription renamed-store-updates" in letter.problem
    with pytest.raises(NotReplayable):
        build_replay_message(letter, NOW, TOPICS)


def test_a_webhook_queue_replays_its_events_alone() -> None:
    with pytest.raises(NotReplayable, match="a store update has no place"):
        build_replay_message(_fixture_letter(), NOW, ReplayTopics(events="projects/p/topics/r"))


def test_show_and_list_render_the_store_update() -> None:
    letter = _fixture_letter()

    lines = detail_lines(letter, NOW)
    assert "from the store-updates topic" in lines
    assert "store update: pickup updateId=till-7-2026-12-07-0042" in lines
    assert "  fulfillment: F-STORE-1" in lines
    assert "  items: ITEM-1 x 1, ITEM-2 x 0.5" in lines
    assert "  tenders: T-1 149.90 CARD" in lines
    assert (
        "  recorded at 2026-12-07T10:31:12.204311Z by till-7@stores-project.iam.gserviceaccount.com"
        in lines
    )
    assert (
        "  decided on: sourceVersion=17 receivedAt=2026-12-07T09:58:01.000003+00:00, "
        "1 store update(s) recorded before" in lines
    )
    summary = summary_json(letter, NOW)
    assert (summary["kind"], summary["updateId"], summary["source"]) == (
        "store-update",
        "till-7-2026-12-07-0042",
        "store-updates",
    )
    assert summary["receivedAt"] == "2026-12-07T10:31:12.204311Z"
    assert describe(letter) == (
        "BU1/CO-FORMAT-2 store update pickup updateId=till-7-2026-12-07-0042 "
        "recordedAt=2026-12-07T10:31:12.204311Z message 901"
    )
