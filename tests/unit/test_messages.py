from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from shared.domain.messages import OrderMessage, decode_message, decode_push_data
from shared.errors import UndecodableMessage
from tests.support import order_body

RECEIVED_AT = datetime(2026, 11, 29, 22, 26, 59, 123456, tzinfo=UTC)


def _message() -> OrderMessage:
    return OrderMessage("BU1", "CO-1", RECEIVED_AT, order_body("CO-1")["customerOrder"])


def test_encoding_follows_the_message_format() -> None:
    message = _message()
    assert message.ordering_key == "BU1/CO-1"
    assert message.attributes == {
        "businessUnitId": "BU1",
        "customerOrderId": "CO-1",
        "receivedAt": "2026-11-29T22:26:59.123456Z",
    }
    assert json.loads(message.data) == order_body("CO-1")


def test_decode_round_trips() -> None:
    message = _message()
    decoded = decode_message(message.data, message.attributes, "m-1")
    assert decoded == message
    assert decoded.message_id == "m-1"
    assert decoded.customer_order == message.customer_order


def test_decode_push_data_reads_the_cloud_event_of_a_push_envelope() -> None:
    message = _message()
    event_data = {
        "message": {
            "data": base64.b64encode(message.data).decode(),
            "attributes": {**message.attributes, "replayedAt": "2026-11-30T00:00:00Z"},
            "messageId": "m-2",
            "publishTime": "2026-11-29T22:27:00Z",
        }
    }
    assert decode_push_data(event_data, "m-2") == message


@pytest.mark.parametrize(
    ("data", "attributes", "reason"),
    [
        (None, {"customerOrderId": "CO-1", "receivedAt": "2026-11-29T22:26:59Z"}, "businessUnitId"),
        (None, {"businessUnitId": "BU1", "customerOrderId": "CO-1"}, "receivedAt"),
        (
            None,
            {"businessUnitId": "BU1", "customerOrderId": "CO-1", "receivedAt": "yesterday"},
            "RFC 3339",
        ),
        (
            None,
            {
                "businessUnitId": "a/b",
                "customerOrderId": "CO-1",
                "receivedAt": "2026-11-29T22:26:59Z",
            },
            "'/'",
        ),
        (
            None,
            {
                "businessUnitId": "BU1",
                "customerOrderId": "CO-2",
                "receivedAt": "2026-11-29T22:26:59Z",
            },
            "differs",
        ),
        (b"not json", None, "Expecting value"),
        (b'{"customerOrder": {}}', None, "not a valid customer order"),
    ],
)
def test_undecodable_messages_say_why(
    data: bytes | None, attributes: dict[str, str] | None, reason: str
) -> None:
    message = _message()
    with pytest.raises(UndecodableMessage, match=reason):
        decode_message(data or message.data, attributes or message.attributes, "m-1")


@pytest.mark.parametrize(
    "event_data",
    [
        {},
        {"message": "x"},
        {"message": {"data": "!!!", "attributes": {}}},
        {"message": {"attributes": []}},
    ],
)
def test_broken_envelopes_are_undecodable(event_data: dict[str, object]) -> None:
    with pytest.raises(UndecodableMessage):
        decode_push_data(event_data, "m-1")
