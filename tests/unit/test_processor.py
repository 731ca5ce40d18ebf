from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.memory import InMemoryOrderStore
from shared.domain.conflict import Decision
from shared.domain.messages import OrderMessage
from shared.errors import StoreRefused, StoreUnavailable, UndecodableMessage
from shared.processor import process_push
from tests.support import LogRecorder, order_message, recorded_logs

T0 = datetime(2026, 11, 29, 22, 0, 0, tzinfo=UTC)


def push_data(message: OrderMessage) -> dict[str, Any]:
    return {
        "message": {
            "data": base64.b64encode(message.data).decode(),
            "attributes": message.attributes,
            "messageId": "ignored",
        }
    }


def version(status: str, received_at: datetime) -> OrderMessage:
    return order_message("BU1", "CO-1", received_at, status=status)


def test_the_first_version_is_stored_with_its_message_id() -> None:
    store = InMemoryOrderStore()
    assert process_push(push_data(version("CREATED", T0)), "m-1", store) is Decision.WRITE
    stored = store.get("BU1", "CO-1")
    assert stored is not None
    assert stored.status == "CREATED"
    assert stored.body == version("CREATED", T0).body
    assert stored.message_id == "m-1"


def test_newer_overwrites_and_older_or_equal_are_skipped() -> None:
    store = InMemoryOrderStore()
    process_push(push_data(version("CREATED", T0)), "m-1", store)
    later = T0 + timedelta(seconds=1)
    assert process_push(push_data(version("PAID", later)), "m-2", store) is Decision.WRITE
    assert process_push(push_data(version("CREATED", T0)), "m-3", store) is Decision.SKIP_STALE
    assert process_push(push_data(version("PAID", later)), "m-4", store) is Decision.SKIP_DUPLICATE
    stored = store.get("BU1", "CO-1")
    assert stored is not None
    assert (stored.status, stored.message_id) == ("PAID", "m-2")


def test_an_undecodable_message_raises_so_it_is_redelivered_then_dead_lettered(
    errors_logged: LogRecorder,
) -> None:
    event_data = {"message": {"data": "e30=", "attributes": {"customerOrderId": "CO-9"}}}
    with pytest.raises(UndecodableMessage):
        process_push(event_data, "m-1", InMemoryOrderStore())
    [record] = errors_logged.records
    assert "m-1" in record.getMessage()
    # Logged with the ids it claims, so on-call can find it by order id.
    assert getattr(record, "json_fields", None) == {"customerOrderId": "CO-9"}


def test_a_store_failure_raises_so_pubsub_redelivers() -> None:
    class DownStore(InMemoryOrderStore):
        def upsert_if_newer(self, message: OrderMessage) -> Decision:
            raise StoreUnavailable("firestore down")

    with pytest.raises(StoreUnavailable):
        process_push(push_data(version("CREATED", T0)), "m-1", DownStore())


def test_a_refused_write_is_one_error_line_and_raises_so_it_is_dead_lettered(
    errors_logged: LogRecorder,
) -> None:
    class RefusingStore(InMemoryOrderStore):
        def upsert_if_newer(self, message: OrderMessage) -> Decision:
            raise StoreRefused("InvalidArgument: 400 maximum entity size is 1048576 bytes")

    with pytest.raises(StoreRefused):
        process_push(push_data(version("CREATED", T0)), "m-1", RefusingStore())
    [record] = errors_logged.records
    line = record.getMessage()
    assert "refused for good" in line
    assert "m-1" in line
    assert "maximum entity size" in line
    assert record.exc_info is None
    assert getattr(record, "json_fields", None) == {
        "businessUnitId": "BU1",
        "customerOrderId": "CO-1",
    }


@pytest.fixture
def errors_logged() -> Iterator[LogRecorder]:
    with recorded_logs(logging.ERROR) as recorder:
        yield recorder
