"""The message replay republishes: original data and receivedAt, bookkeeping removed."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from shared.domain.messages import decode_message
from shared.tools.dlq.replay_message import REPLAYED_AT, ReplayTopics, build_replay_message
from shared.tools.errors import NotReplayable
from tests.dlq.samples import NOW, bookkeeping, dead_letter, order_message

TOPICS = ReplayTopics(orders="projects/p/topics/orders", store_updates="projects/p/topics/updates")


def test_replay_keeps_data_and_order_attributes_and_adds_replayed_at() -> None:
    message = order_message("BU3", "CO-7", received_at=NOW - timedelta(days=1))

    replay = build_replay_message(dead_letter(message), NOW, TOPICS)

    assert replay.data == message.data
    assert replay.ordering_key == "BU3/CO-7"
    assert replay.topic == TOPICS.orders
    assert replay.attributes == {
        **message.attributes,
        REPLAYED_AT: "2026-11-29T12:00:00.000000Z",
    }


def test_the_processor_decodes_a_replayed_message_with_the_original_received_at() -> None:
    message = order_message(received_at=NOW - timedelta(days=1))
    replay = build_replay_message(dead_letter(message), NOW, TOPICS)

    decoded = decode_message(replay.data, replay.attributes, "9")

    assert decoded == message


def test_unknown_attributes_survive_and_an_earlier_replayed_at_is_replaced() -> None:
    message = order_message()
    attributes = {**message.attributes, **bookkeeping(), "traceId": "t-1", REPLAYED_AT: "old"}

    replay = build_replay_message(dead_letter(message, attributes=attributes), NOW, TOPICS)

    assert replay.attributes["traceId"] == "t-1"
    assert replay.attributes[REPLAYED_AT] == "2026-11-29T12:00:00.000000Z"
    assert not [name for name in replay.attributes if name.startswith("CloudPubSub")]


def test_the_ordering_key_comes_from_the_attributes_not_the_forwarded_key() -> None:
    message = order_message("BU1", "CO-1")
    unordered = dataclasses.replace(dead_letter(message), ordering_key="")

    assert build_replay_message(unordered, NOW, TOPICS).ordering_key == "BU1/CO-1"


def test_an_undecodable_message_is_not_replayable() -> None:
    with pytest.raises(NotReplayable, match="undecodable"):
        build_replay_message(dead_letter(data=b"{}"), NOW, TOPICS)
