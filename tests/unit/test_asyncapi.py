"""docs/asyncapi.json: fresh, and true of the events the processor really publishes."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import jsonschema_rs
import pytest

from shared.domain import events
from shared.domain.store_updates import StoreUpdate, UpdateKind, apply_update, assess
from shared.domain.stored_order import OrderRecord, content_of_body
from shared.tools.asyncapi import ASYNCAPI_PATH, build_document, render
from tests.support import order_message

DOCUMENT = build_document()


def test_the_committed_document_is_fresh() -> None:
    assert ASYNCAPI_PATH.read_text(encoding="utf-8") == render(), (
        f"{ASYNCAPI_PATH} is stale: run `make openapi` and commit it"
    )


def test_every_event_type_is_a_message() -> None:
    assert set(DOCUMENT["components"]["messages"]) == set(events.TYPES)


def _validator(schema: dict[str, Any]) -> Any:
    return jsonschema_rs.validator_for({**schema, "components": DOCUMENT["components"]})


def _event(first: bool, **changes: Any) -> events.OrderEvent:
    at = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    message = dataclasses.replace(order_message("BU1", "CO-1", at), **changes)
    record = OrderRecord.of_message(message, None, content_of_body(message.body, "BU1"))
    if not first:
        record = dataclasses.replace(record, created_at=None)
    return events.order_event(record)


def _store_update_event(kind: UpdateKind) -> events.OrderEvent:
    """The event of a store update, as the processor publishes it."""
    at = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    message = order_message("BU1", "CO-1", at)
    fulfillments = content_of_body(message.body, "BU1").fulfillments
    record = OrderRecord.of_message(message, None, content_of_body(message.body, "BU1"))
    update = StoreUpdate("pos-update-1", kind)
    assessment = assess(update, fulfillments, record.store_state, None)
    state = apply_update(
        update, assessment, record.store_state, recorded_at=at, correlation_id="pos-1"
    )
    return events.store_update_event(record.with_store_state(state, fulfillments, "pos-update-1"))


@pytest.mark.parametrize(
    "event",
    [
        _event(True),
        _event(False, source_version=12, correlation_id="oms-77"),
        _store_update_event(UpdateKind.READY),
        _store_update_event(UpdateKind.PICKUP),
    ],
    ids=["created", "updated", "ready-for-pickup", "picked-up"],
)
def test_a_real_event_matches_its_message(event: events.OrderEvent) -> None:
    message = DOCUMENT["components"]["messages"][event.type]
    headers = _validator(message["headers"])
    assert headers.is_valid(event.attributes), list(headers.iter_errors(event.attributes))
    payload = _validator(message["payload"])
    data = json.loads(event.data)
    assert payload.is_valid(data)
    assert not payload.is_valid({"customerOrder": {"customerOrderId": "CO-1"}})
    assert not headers.is_valid({**event.attributes, events.ID_ATTRIBUTE: "not-an-id"})
