"""The dead-letter queue adapter: leases held and renewed while a command runs, then released."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from shared.tools.dlq.queue import PubSubDeadLetterQueue
from shared.tools.errors import DlqError
from tests.dlq.samples import bookkeeping, order_message


class FakeSubscriber:
    """Serves each batch of ``batches`` to one pull, then empty pulls; records lease calls."""

    def __init__(self, batches: list[list[tuple[str, str]]]) -> None:
        self.batches = batches
        self.deadlines: list[tuple[str, int]] = []
        self.acked: list[str] = []
        self.fail_with: Exception | None = None

    def pull(self, request: dict[str, Any], **_: Any) -> Any:
        if self.fail_with is not None:
            raise self.fail_with
        batch = self.batches.pop(0) if self.batches else []
        return SimpleNamespace(received_messages=[_received(*pair) for pair in batch])

    def modify_ack_deadline(self, request: dict[str, Any], **_: Any) -> None:
        seconds = request["ack_deadline_seconds"]
        self.deadlines.extend((ack_id, seconds) for ack_id in request["ack_ids"])

    def acknowledge(self, request: dict[str, Any], **_: Any) -> None:
        self.acked.extend(request["ack_ids"])


def _received(ack_id: str, message_id: str) -> Any:
    message = order_message(customer_order_id=f"CO-{message_id}")
    return SimpleNamespace(
        ack_id=ack_id,
        message=SimpleNamespace(
            message_id=message_id,
            publish_time=datetime(2026, 11, 29, tzinfo=UTC),
            data=message.data,
            attributes={**message.attributes, **bookkeeping()},
            ordering_key=message.ordering_key,
        ),
    )


def _queue(subscriber: FakeSubscriber, lease_seconds: int = 60) -> PubSubDeadLetterQueue:
    return PubSubDeadLetterQueue(
        subscriber,
        "projects/p/subscriptions/dead-letters",
        where="the test",
        timeout=1.0,
        settle=0.05,
        lease_seconds=lease_seconds,
    )


def test_scan_reads_until_quiet_leases_everything_and_releases_it_on_close() -> None:
    subscriber = FakeSubscriber([[("a1", "1"), ("a2", "2")], [("a3", "3")]])

    with _queue(subscriber) as queue:
        leased = queue.scan()

    assert [item.letter.message_id for item in leased] == ["1", "2", "3"]
    assert [item.letter.customer_order_id for item in leased] == ["CO-1", "CO-2", "CO-3"]
    assert subscriber.deadlines == [("a1", 60), ("a2", 60), ("a3", 60)] + [
        (ack_id, 0) for ack_id in ("a1", "a2", "a3")
    ]
    assert subscriber.acked == []


def test_a_redelivered_message_is_listed_once_with_its_newest_ack_id() -> None:
    subscriber = FakeSubscriber([[("a1", "1")], [("b1", "1")]])

    with _queue(subscriber) as queue:
        leased = queue.scan()

    assert [(item.ack_id, item.letter.message_id) for item in leased] == [("b1", "1")]


def test_acknowledged_messages_are_neither_renewed_nor_released() -> None:
    subscriber = FakeSubscriber([[("a1", "1"), ("a2", "2")]])

    with _queue(subscriber, lease_seconds=1) as queue:
        queue.scan()
        queue.acknowledge(["a1"])
        time.sleep(1.2)  # the keeper looks every lease/4 s and renews what is due within lease/2 s

    assert subscriber.acked == ["a1"]
    renewals = subscriber.deadlines[2:-1]
    assert renewals
    assert {ack_id for ack_id, _ in renewals} == {"a2"}
    assert subscriber.deadlines[-1] == ("a2", 0)


def test_a_failing_pull_is_a_one_line_error() -> None:
    from google.api_core import exceptions

    subscriber = FakeSubscriber([])
    subscriber.fail_with = exceptions.PermissionDenied(  # type: ignore[no-untyped-call]
        "User not authorized\nto pull"
    )

    with _queue(subscriber) as queue, pytest.raises(DlqError) as raised:
        queue.scan()

    assert str(raised.value) == (
        "permission denied to pull from projects/p/subscriptions/dead-letters: "
        "403 User not authorized to pull"
    )
