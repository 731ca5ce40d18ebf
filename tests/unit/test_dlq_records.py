"""Parsing what Pub/Sub forwards to the dead-letter topic into a typed record."""

from __future__ import annotations

import json

import pytest

from shared.domain.events import order_event
from shared.domain.messages import RECEIVED_AT, OrderMessage
from shared.domain.stored_order import OrderRecord, content_of_body
from shared.tools.dlq.records import DeadLetter, OrderRef, parse_dead_letter
from tests.dlq.samples import NOW, SOURCE, bookkeeping, dead_letter, order_message


def test_a_dead_lettered_order_message_is_parsed_into_its_fields() -> None:
    message = order_message("BU7", "CO-9")

    letter = dead_letter(message, message_id="555")

    assert letter.message_id == "555"
    assert letter.order == OrderRef("BU7", "CO-9")
    assert letter.received_at == message.received_at
    assert letter.delivery_count == 5
    assert letter.source_subscription == SOURCE
    assert letter.ordering_key == "BU7/CO-9"
    assert letter.problem is None
    assert letter.body() == json.loads(message.body)


def test_age_is_the_time_since_dead_lettering() -> None:
    letter = dead_letter(dead_lettered_at=NOW.replace(hour=9))

    assert letter.age(NOW).total_seconds() == 3 * 3600


def test_a_message_without_received_at_is_listable_but_flagged_as_not_replayable() -> None:
    message = order_message()
    attributes = {**message.attributes, **bookkeeping()}
    del attributes[RECEIVED_AT]

    letter = dead_letter(message, attributes=attributes)

    assert letter.order == OrderRef("BU1", "CO-1")
    assert letter.received_at is None
    assert letter.problem == "undecodable: attribute receivedAt is missing"


def test_a_body_that_is_not_json_is_flagged_and_has_no_body() -> None:
    letter = dead_letter(data=b"\xff not json")

    assert letter.body() is None
    assert letter.problem is not None
    assert letter.problem.startswith("undecodable:")


def test_unparsable_bookkeeping_leaves_the_delivery_count_unknown() -> None:
    message = order_message()
    letter = dead_letter(
        message, attributes={**message.attributes, "CloudPubSubDeadLetterSourceDeliveryCount": "x"}
    )

    assert letter.delivery_count is None
    assert letter.source_subscription is None
    assert letter.problem is None


def test_order_ref_parses_business_unit_and_order_id() -> None:
    assert OrderRef.parse("BU1/CO-1") == OrderRef("BU1", "CO-1")
    assert str(OrderRef("BU1", "CO-1")) == "BU1/CO-1"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("CO-1", "is not of the form BUSINESS_UNIT/ORDER_ID"),
        ("/CO-1", "business unit id must not be empty"),
        ("BU1/", "customer order id must not be empty"),
        ("BU1/CO/1", "customer order id must not contain '/'"),
    ],
)
def test_order_ref_rejects_what_cannot_be_an_order(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        OrderRef.parse(text)


def test_a_message_too_large_for_firestore_says_why_it_cannot_be_stored() -> None:
    # Only a message from somewhere other than ingest can be this large: the
    # processor refuses it, and so would a replay.
    body = json.dumps(
        {"customerOrder": {"customerOrderId": "CO-1", "pad": "x" * 1_048_576}}
    ).encode()
    message = OrderMessage.accepted("BU1", "CO-1", NOW, body, customer_id="C-1", status="CREATED")

    letter = dead_letter(message)

    assert letter.problem is not None
    assert letter.problem.startswith("cannot be stored: the body is")
    assert "1048487 bytes" in letter.problem


def _event_letter(**attributes: str) -> DeadLetter:
    message = order_message("BU7", "CO-9")
    event = order_event(
        OrderRecord.of_message(
            message, None, content_of_body(message.body, message.business_unit_id)
        )
    )
    return parse_dead_letter(
        message_id="909",
        published_at=NOW,
        data=event.data,
        attributes={**event.attributes, **bookkeeping(), **attributes},
        ordering_key=event.ordering_key,
    )


def test_a_dead_lettered_event_is_read_from_its_cloudevent_attributes() -> None:
    letter = _event_letter()

    assert letter.is_event
    assert letter.order == OrderRef("BU7", "CO-9")
    assert letter.received_at == order_message("BU7", "CO-9").received_at
    assert letter.problem is None


def test_an_event_changed_on_the_way_is_flagged_as_not_replayable() -> None:
    letter = _event_letter(**{"ce-id": "forged"})

    assert letter.problem is not None
    assert letter.problem.startswith("not an order event of this service: ce-id is not the id")
