"""Settling records in doubt after a killed run: found stored, or sent again."""

from __future__ import annotations

import threading
from typing import Any

from shared.tools.sync.client import Found, GetOutcome, NotFound
from shared.tools.sync.in_doubt import InDoubtResolver, Watermark
from shared.tools.sync.records import OrderRecord


def record(
    customer_order_id: str, status: str = "NEW", source_version: int | None = None
) -> OrderRecord:
    return OrderRecord(
        seq=0,
        source="x",
        line=1,
        business_unit_id="BU1",
        customer_order_id=customer_order_id,
        customer_order={"customerOrderId": customer_order_id, "status": status},
        digest="d",
        raw=b"{}",
        source_version=source_version,
    )


class LaggingStore:
    """Orders appear in the store only after a number of reads: a processor backlog."""

    def __init__(self) -> None:
        self.reads = 0
        # order id -> (content, receivedAt, visible from this read on)
        self.orders: dict[str, tuple[dict[str, Any], str, int]] = {}
        self.versions: dict[str, int] = {}

    def get_order(
        self, business_unit_id: str, customer_order_id: str, *, stop: threading.Event | None
    ) -> GetOutcome:
        self.reads += 1
        entry = self.orders.get(customer_order_id)
        if entry is None or self.reads < entry[2]:
            return NotFound(1)
        return Found(entry[0], entry[1], 1, source_version=self.versions.get(customer_order_id))


class Clock:
    """Advances by one poll each time the resolver waits."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def resolver(store: LaggingStore, clock: Clock, stop: threading.Event) -> InDoubtResolver:
    class TickingStop(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            clock.now += timeout or 0
            return stop.is_set()

    return InDoubtResolver(
        store, stop=TickingStop(), grace_seconds=5, max_wait_seconds=300, poll_seconds=1,
        clock=clock,
    )  # fmt: skip


def test_records_stored_behind_a_backlog_are_found_not_resent() -> None:
    store, clock = LaggingStore(), Clock()
    arrived = record("CO-1")
    store.orders["CO-1"] = (arrived.customer_order, "2026-11-29T10:00:01.000000Z", 103)
    # The watermark (accepted just before the crash) is stored after a long backlog too.
    store.orders["CO-W"] = ({}, "2026-11-29T10:00:00.000000Z", 100)

    settled = resolver(store, clock, threading.Event()).settle(
        [arrived], Watermark("BU1", "CO-W", "2026-11-29T10:00:00.000000Z")
    )

    assert settled.stored == [arrived]
    assert settled.to_send == []
    assert clock.now > 30


def test_a_record_that_never_arrived_is_sent_a_grace_period_after_the_watermark() -> None:
    store, clock = LaggingStore(), Clock()
    store.orders["CO-W"] = ({}, "2026-11-29T10:00:00.000000Z", 20)
    lost = record("CO-2")

    settled = resolver(store, clock, threading.Event()).settle(
        [lost], Watermark("BU1", "CO-W", "2026-11-29T10:00:00.000000Z")
    )

    assert settled.stored == []
    assert settled.to_send == [lost]
    assert 10 <= clock.now <= 20


def test_an_older_version_of_the_watermark_order_does_not_count_as_caught_up() -> None:
    store, clock = LaggingStore(), Clock()
    store.orders["CO-W"] = ({}, "2026-11-29T09:00:00.000000Z", 0)
    lost = record("CO-2")

    settled = resolver(store, clock, threading.Event()).settle(
        [lost], Watermark("BU1", "CO-W", "2026-11-29T10:00:00.000000Z")
    )

    assert settled.to_send == [lost]
    assert clock.now >= 300


def test_different_stored_content_is_not_taken_for_the_record() -> None:
    store, clock = LaggingStore(), Clock()
    store.orders["CO-3"] = ({"customerOrderId": "CO-3", "status": "OLD"}, "t", 0)
    sent = record("CO-3", status="NEW")

    settled = resolver(store, clock, threading.Event()).settle([sent], None)

    assert settled.to_send == [sent]
    assert clock.now <= 6


def test_a_record_whose_order_is_stored_at_a_higher_version_is_outdated_at_once() -> None:
    store, clock = LaggingStore(), Clock()
    late = record("CO-4", source_version=3)
    store.orders["CO-4"] = ({"customerOrderId": "CO-4", "status": "LIVE"}, "t", 0)
    store.versions["CO-4"] = 5
    # The watermark never shows up: without versions this would wait the full 300 s.
    watermark = Watermark("BU1", "CO-W", "2026-11-29T10:00:00.000000Z")

    settled = resolver(store, clock, threading.Event()).settle([late], watermark)

    assert (settled.outdated, settled.stored, settled.to_send) == ([late], [], [])
    assert clock.now == 0


def test_the_same_version_with_other_content_is_still_waited_for() -> None:
    store, clock = LaggingStore(), Clock()
    sent = record("CO-5", status="NEW", source_version=5)
    store.orders["CO-5"] = ({"customerOrderId": "CO-5", "status": "LIVE"}, "t", 0)
    store.versions["CO-5"] = 5

    settled = resolver(store, clock, threading.Event()).settle([sent], None)

    # Of equal versions the later arrival wins: the record's PUT may still replace it.
    assert (settled.outdated, settled.to_send) == ([], [sent])
    assert clock.now >= 5
