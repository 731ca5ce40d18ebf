"""What orders-dlq prints for people and for machines."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from shared.tools.dlq.render import detail_json, detail_lines, format_age, list_lines, summary_json
from tests.dlq.samples import NOW, SOURCE, dead_letter, order_message


@pytest.mark.parametrize(
    ("age", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=45), "45s"),
        (timedelta(minutes=12, seconds=5), "12m5s"),
        (timedelta(hours=3, minutes=12, seconds=9), "3h12m"),
        (timedelta(days=2, hours=4, minutes=1), "2d4h"),
        (timedelta(days=1, seconds=1), "1d"),
        (timedelta(hours=1, seconds=59), "1h"),
        (timedelta(seconds=-3), "0s"),
    ],
)
def test_age(age: timedelta, text: str) -> None:
    assert format_age(age) == text


def test_list_has_a_header_and_one_aligned_line_per_letter() -> None:
    letters = [
        dead_letter(order_message("BU1", "CO-1"), message_id="7"),
        dead_letter(order_message("BU-LONG", "C"), message_id="8", data=b"x"),
    ]

    lines = list_lines(letters, NOW)

    assert len(lines) == 3
    assert lines[0].split() == [
        "BUSINESS", "UNIT", "ORDER", "RECEIVED", "AT", "DELIVERIES", "SOURCE", "SUBSCRIPTION",
        "AGE", "MESSAGE", "ID",
    ]  # fmt: skip
    assert lines[1].split() == [
        "BU1", "CO-1", "2026-11-29T10:00:00.000000Z", "5", SOURCE, "1h", "7",
    ]  # fmt: skip
    assert lines[1].index("CO-1") == lines[2].index("C ") == lines[0].index("ORDER")
    assert "  (undecodable: " in lines[2]
    assert "(" not in lines[1]


def test_summary_json_has_the_fields_for_machines() -> None:
    letter = dead_letter(order_message("BU1", "CO-1"), message_id="7")

    assert summary_json(letter, NOW) == {
        "messageId": "7",
        "businessUnitId": "BU1",
        "customerOrderId": "CO-1",
        "receivedAt": "2026-11-29T10:00:00.000000Z",
        "kind": "order",
        "updateId": None,
        "source": "orders",
        "deliveryCount": 5,
        "sourceSubscription": SOURCE,
        "deadLetteredAt": "2026-11-29T11:00:00.000000Z",
        "ageSeconds": 3600,
        "orderingKey": "BU1/CO-1",
        "problem": None,
    }


def test_detail_carries_every_attribute_and_the_decoded_body() -> None:
    message = order_message("BU1", "CO-1")
    letter = dead_letter(message)

    detail = detail_json(letter, NOW)
    lines = detail_lines(letter, NOW)

    assert detail["attributes"] == dict(letter.attributes)
    assert detail["body"] == json.loads(message.body)
    assert "  CloudPubSubDeadLetterSourceDeliveryCount: 5" in lines
    assert '    "customerOrderId": "CO-1",' in lines[-1].splitlines()


def test_a_body_that_is_not_json_is_shown_as_base64() -> None:
    letter = dead_letter(data=b"\x00\x01")

    assert detail_json(letter, NOW)["dataBase64"] == base64.b64encode(b"\x00\x01").decode()
    assert detail_lines(letter, NOW)[-1].startswith("replay would be skipped: undecodable")
