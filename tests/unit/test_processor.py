from __future__ import annotations

import base64
import dataclasses
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.memory import InMemoryOrderStore
from shared.domain.conflict import Decision, Rule, Verdict
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
    assert process_push(push_data(version("CREATED", T0)), "m-1", store) == Verdict(
        Decision.WRITE, Rule.FIRST
    )
    stored = store.get("BU1", "CO-1")
    assert stored is not None
    assert stored.status == "CREATED"
    assert stored.body == version("CREATED", T0).body
    assert stored.message_id == "m-1"


def test_newer_overwrites_and_older_or_equal_are_skipped() -> None:
    store = InMemoryOrderStore()
    process_push(push_data(version("CREATED", T0)), "m-1", store)
    later = T0 + timedelta(seconds=1)
    decisions = [
        process_push(push_data(version("PAID", later)), "m-2", store).decision,
        process_push(push_data(version("CREATED", T0)), "m-3", store).decision,
        process_push(push_data(version("PAID", later)), "m-4", store).decision,
    ]
    assert decisions == [Decision.WRITE, Decision.SKIP_STALE, Decision.SKIP_DUPLICATE]
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
    assert getattr(record, "json_fields", None) == {
        "customerOrderId": "CO-9",
        "event": "process",
        "decision": "undecodable",
    }


def test_a_store_failure_raises_so_pubsub_redelivers() -> None:
    class DownStore(InMemoryOrderStore):
        def upsert_if_newer(self, message: OrderMessage) -> Verdict:
            raise StoreUnavailable("firestore down")

    with pytest.raises(StoreUnavailable):
        process_push(push_data(version("CREATED", T0)), "m-1", DownStore())


def test_a_refused_write_is_one_error_line_and_raises_so_it_is_dead_lettered(
    errors_logged: LogRecorder,
) -> None:
    class RefusingStore(InMemoryOrderStore):
        def upsert_if_newer(self, message: OrderMessage) -> Verdict:
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
        "event": "process",
        "decision": "refused",
    }


@pytest.fixture
def errors_logged() -> Iterator[LogRecorder]:
    with recorded_logs(logging.ERROR) as recorder:
        yield recorder


def versioned(status: str, source_version: int | None, received_at: datetime) -> OrderMessage:
    accepted = order_message("BU1", "CO-1", received_at, status=status)
    return dataclasses.replace(accepted, source_version=source_version, correlation_id=status)


def test_versions_decide_before_arrival_and_each_line_says_which_rule_decided() -> None:
    store = InMemoryOrderStore()
    later = T0 + timedelta(seconds=1)
    with recorded_logs() as logged:
        for message in (
            versioned("V2", 2, T0),
            versioned("V1-RETRIED-LATE", 1, later),
            versioned("UNVERSIONED", None, later),
            versioned("V2-AGAIN", 2, later),
        ):
            process_push(push_data(message), f"m-{message.status}", store)
    stored = store.get("BU1", "CO-1")
    assert stored is not None
    assert (stored.status, stored.source_version) == ("V2-AGAIN", 2)
    fields = [getattr(record, "json_fields", {}) for record in logged.records]
    assert [(f["correlationId"], f["decision"], f["rule"]) for f in fields] == [
        ("V2", "stored", "first"),
        ("V1-RETRIED-LATE", "stale", "sourceVersion"),
        ("UNVERSIONED", "stale", "sourceVersion"),
        ("V2-AGAIN", "stored", "receivedAt"),
    ]
    assert "sourceVersion=1" in logged.records[1].getMessage()
    assert all(isinstance(f.get("lagSeconds"), float) for f in fields if f["decision"] == "stored")
