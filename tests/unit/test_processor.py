"""The processor's decisions and events, with the in-memory adapters."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters.memory import InMemoryEventPublisher, InMemoryOrderStore
from shared.domain import events
from shared.domain.conflict import Decision, Rule, Statuses, Verdict
from shared.domain.messages import OrderMessage
from shared.domain.store_updates import RecordedUpdate
from shared.domain.stored_order import OrderRecord, Revision, StoredVersion
from shared.errors import PublishFailed, StoreRefused, StoreUnavailable, UndecodableMessage
from shared.processor import Processor
from tests.support import LogRecorder, order_message, push_data, recorded_logs

T0 = datetime(2026, 11, 29, 22, 0, 0, tzinfo=UTC)


def version(status: str, received_at: datetime) -> OrderMessage:
    return order_message("BU1", "CO-1", received_at, status=status)


@pytest.fixture
def store() -> InMemoryOrderStore:
    return InMemoryOrderStore()


@pytest.fixture
def published() -> InMemoryEventPublisher:
    return InMemoryEventPublisher()


@pytest.fixture
def processor(store: InMemoryOrderStore, published: InMemoryEventPublisher) -> Processor:
    return Processor(store, published, statuses=Statuses())


def process(processor: Processor, message: OrderMessage, message_id: str) -> Verdict:
    return processor.process(push_data(message), message_id)


def test_the_first_version_is_stored_with_its_message_id(
    processor: Processor, store: InMemoryOrderStore
) -> None:
    assert process(processor, version("CREATED", T0), "m-1") == Verdict(Decision.WRITE, Rule.FIRST)
    stored = store.get("BU1", "CO-1")
    assert stored is not None
    assert stored.status == "CREATED"
    assert stored.body == version("CREATED", T0).body
    assert stored.message_id == "m-1"


def test_newer_overwrites_and_older_or_equal_are_skipped(
    processor: Processor, store: InMemoryOrderStore
) -> None:
    process(processor, version("CREATED", T0), "m-1")
    later = T0 + timedelta(seconds=1)
    decisions = [
        process(processor, version("PAID", later), "m-2").decision,
        process(processor, version("CREATED", T0), "m-3").decision,
        process(processor, version("PAID", later), "m-4").decision,
    ]
    assert decisions == [Decision.WRITE, Decision.SKIP_STALE, Decision.SKIP_DUPLICATE]
    stored = store.get("BU1", "CO-1")
    assert stored is not None
    assert (stored.status, stored.message_id) == ("PAID", "m-2")


def test_an_undecodable_message_raises_so_it_is_redelivered_then_dead_lettered(
    errors_logged: LogRecorder, processor: Processor, published: InMemoryEventPublisher
) -> None:
    event_data = {"message": {"data": "e30=", "attributes": {"customerOrderId": "CO-9"}}}
    with pytest.raises(UndecodableMessage):
        processor.process(event_data, "m-1")
    assert published.published == []
    [record] = errors_logged.records
    assert "m-1" in record.getMessage()
    # Logged with the ids it claims, so on-call can find it by order id.
    assert getattr(record, "json_fields", None) == {
        "customerOrderId": "CO-9",
        "event": "process",
        "decision": "undecodable",
    }


def test_a_store_failure_raises_so_pubsub_redelivers(published: InMemoryEventPublisher) -> None:
    class DownStore(InMemoryOrderStore):
        def read_version(self, business_unit_id: str, customer_order_id: str) -> StoredVersion:
            raise StoreUnavailable("firestore down")

    with pytest.raises(StoreUnavailable):
        process(
            Processor(DownStore(), published, statuses=Statuses()), version("CREATED", T0), "m-1"
        )
    assert published.published == []


def test_a_refused_write_is_one_error_line_and_raises_so_it_is_dead_lettered(
    errors_logged: LogRecorder, published: InMemoryEventPublisher
) -> None:
    class RefusingStore(InMemoryOrderStore):
        def write(
            self,
            record: OrderRecord,
            *,
            replacing: Revision | None,
            fields: Sequence[str],
            update: RecordedUpdate | None = None,
        ) -> None:
            raise StoreRefused("InvalidArgument: 400 maximum entity size is 1048576 bytes")

    with pytest.raises(StoreRefused):
        process(
            Processor(RefusingStore(), published, statuses=Statuses()),
            version("CREATED", T0),
            "m-1",
        )
    assert published.published == []
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
        "change": "update",
    }


@pytest.fixture
def errors_logged() -> Iterator[LogRecorder]:
    with recorded_logs(logging.ERROR) as recorder:
        yield recorder


def versioned(status: str, source_version: int | None, received_at: datetime) -> OrderMessage:
    accepted = order_message("BU1", "CO-1", received_at, status=status)
    return dataclasses.replace(accepted, source_version=source_version, correlation_id=status)


def test_versions_decide_before_arrival_and_each_line_says_which_rule_decided(
    processor: Processor, store: InMemoryOrderStore
) -> None:
    later = T0 + timedelta(seconds=1)
    with recorded_logs() as logged:
        for message in (
            versioned("V2", 2, T0),
            versioned("V1-RETRIED-LATE", 1, later),
            versioned("UNVERSIONED", None, later),
            versioned("V2-AGAIN", 2, later),
        ):
            process(processor, message, f"m-{message.status}")
    stored = store.get("BU1", "CO-1")
    assert stored is not None
    assert (stored.status, stored.source_version) == ("V2-AGAIN", 2)
    fields = [
        getattr(record, "json_fields", {})
        for record in logged.records
        if getattr(record, "json_fields", {}).get("event") == "process"
    ]
    assert [(f["correlationId"], f["decision"], f["rule"]) for f in fields] == [
        ("V2", "stored", "first"),
        ("V1-RETRIED-LATE", "stale", "sourceVersion"),
        ("UNVERSIONED", "stale", "sourceVersion"),
        ("V2-AGAIN", "stored", "receivedAt"),
    ]
    assert "sourceVersion=1" in logged.lines()[2]
    assert all(isinstance(f.get("lagSeconds"), float) for f in fields if f["decision"] == "stored")


def test_each_stored_version_is_announced_once_created_then_updated(
    processor: Processor, published: InMemoryEventPublisher
) -> None:
    later = T0 + timedelta(seconds=1)
    first, second = version("CREATED", T0), version("PAID", later)
    process(processor, first, "m-1")
    process(processor, second, "m-2")
    process(processor, version("CREATED", T0 - timedelta(seconds=1)), "m-3")
    [created, updated] = published.published
    assert (created.type, created.data, created.time) == (events.CREATED, first.body, T0)
    assert (updated.type, updated.data, updated.time) == (events.UPDATED, second.body, later)
    assert created.id != updated.id
    assert created.attributes[events.SUBJECT_ATTRIBUTE] == "CO-1"
    assert created.attributes[events.SOURCE_ATTRIBUTE] == "/business-units/BU1/customer-orders"


def test_a_redelivered_version_announces_the_same_event_again(
    processor: Processor, published: InMemoryEventPublisher
) -> None:
    message = version("CREATED", T0)
    process(processor, message, "m-1")
    assert process(processor, message, "m-1").decision is Decision.SKIP_DUPLICATE
    first, again = published.published
    assert again == first
    assert again.type == events.CREATED


def test_a_failed_publish_leaves_the_version_stored_and_its_redelivery_announces_it(
    processor: Processor, store: InMemoryOrderStore, published: InMemoryEventPublisher
) -> None:
    # The same state as a processor that died between its write and its publish.
    message = version("CREATED", T0)
    published.fail_with = RuntimeError("events topic unavailable")
    with recorded_logs(logging.WARNING) as logged, pytest.raises(PublishFailed):
        process(processor, message, "m-1")
    assert store.get("BU1", "CO-1") is not None
    assert getattr(logged.records[0], "json_fields", {})["decision"] == "unavailable"
    published.fail_with = None
    assert process(processor, message, "m-1").decision is Decision.SKIP_DUPLICATE
    [event] = published.published
    assert (event.type, event.data) == (events.CREATED, message.body)


def test_a_stale_redelivery_announces_nothing(
    processor: Processor, published: InMemoryEventPublisher
) -> None:
    process(processor, version("CREATED", T0), "m-1")
    process(processor, version("PAID", T0 + timedelta(seconds=1)), "m-2")
    process(processor, version("CREATED", T0), "m-1")
    assert [event.type for event in published.published] == [events.CREATED, events.UPDATED]


def test_a_duplicate_with_other_content_announces_nothing(
    processor: Processor, published: InMemoryEventPublisher
) -> None:
    # Two messages stamped the same microsecond by two instances: not the stored version.
    process(processor, version("CREATED", T0), "m-1")
    impostor = dataclasses.replace(version("OTHER", T0))
    assert process(processor, impostor, "m-2").decision is Decision.SKIP_DUPLICATE
    assert len(published.published) == 1


def test_each_publish_is_a_line_with_the_event_type_and_id(
    processor: Processor, published: InMemoryEventPublisher
) -> None:
    with recorded_logs() as logged:
        process(processor, version("CREATED", T0), "m-1")
    publish, delivery = (getattr(record, "json_fields", {}) for record in logged.records)
    [event] = published.published
    assert publish["event"] == "publish"
    assert (publish["eventType"], publish["eventId"]) == (events.CREATED, event.id)
    assert delivery["decision"] == "stored"
