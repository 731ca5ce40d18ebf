from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime

import pytest

from shared.domain.messages import OrderMessage, decode_message, decode_push_data
from shared.errors import UndecodableMessage
from tests.support import order_body, order_message

RECEIVED_AT = datetime(2026, 11, 29, 22, 26, 59, 123456, tzinfo=UTC)
MESSAGE = order_message("BU1", "CO-1", RECEIVED_AT)


def test_encoding_follows_the_message_format() -> None:
    assert MESSAGE.ordering_key == "BU1/CO-1"
    assert MESSAGE.attributes == {
        "businessUnitId": "BU1",
        "customerOrderId": "CO-1",
        "receivedAt": "2026-11-29T22:26:59.123456Z",
        "customerId": order_body("CO-1")["customerOrder"]["customerId"],
        "status": order_body("CO-1")["customerOrder"]["status"],
        "bodySha256": hashlib.sha256(MESSAGE.data).hexdigest(),
    }
    assert json.loads(MESSAGE.data) == order_body("CO-1")


def test_the_data_is_the_body_exactly_as_sent() -> None:
    sent = b'{ "customerOrder" : {"status":"X", "total": 10.10, "n": 1e2, "customerId":"C"} }'
    exact = OrderMessage.accepted("BU1", "CO-1", RECEIVED_AT, sent, customer_id="C", status="X")
    assert exact.data == sent
    assert exact.attributes["bodySha256"] == hashlib.sha256(sent).hexdigest()


def test_decode_round_trips() -> None:
    decoded = decode_message(MESSAGE.data, MESSAGE.attributes, "m-1")
    assert decoded == MESSAGE
    assert decoded.message_id == "m-1"
    assert decoded.body == MESSAGE.body


def test_decode_push_data_reads_the_cloud_event_of_a_push_envelope() -> None:
    event_data = {
        "message": {
            "data": base64.b64encode(MESSAGE.data).decode(),
            "attributes": {**MESSAGE.attributes, "replayedAt": "2026-11-30T00:00:00Z"},
            "messageId": "m-2",
            "publishTime": "2026-11-29T22:27:00Z",
        }
    }
    assert decode_push_data(event_data, "m-2") == MESSAGE


def _without(name: str) -> dict[str, str]:
    return {key: value for key, value in MESSAGE.attributes.items() if key != name}


@pytest.mark.parametrize(
    ("data", "attributes", "reason"),
    [
        (None, _without("businessUnitId"), "businessUnitId"),
        (None, _without("receivedAt"), "receivedAt"),
        (None, _without("customerId"), "customerId"),
        (None, _without("status"), "status"),
        (None, _without("bodySha256"), "bodySha256"),
        (None, {**MESSAGE.attributes, "receivedAt": "yesterday"}, "RFC 3339"),
        (None, {**MESSAGE.attributes, "businessUnitId": "a/b"}, "'/'"),
        (None, {**MESSAGE.attributes, "bodySha256": "0" * 64}, "changed after ingest"),
        (MESSAGE.data + b" ", None, "changed after ingest"),
        (b"", None, "no body"),
    ],
)
def test_undecodable_messages_say_why(
    data: bytes | None, attributes: dict[str, str] | None, reason: str
) -> None:
    with pytest.raises(UndecodableMessage, match=reason):
        decode_message(
            MESSAGE.data if data is None else data,
            MESSAGE.attributes if attributes is None else attributes,
            "m-1",
        )


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
