"""Settling the records a killed run left in doubt, without sending them twice.

A record is in doubt when its PUT was on its way as the run died: the service
may have published it. Its order is read back; found with the record's content,
it counts as accepted; found at a higher version than the record's, it is not
needed any more, whether it arrived or not (the service would never store it
over that version). Not found, it may still be on its way through Pub/Sub,
so the wait is tied to a *watermark*: the last order the checkpoint knows was
accepted, with its ``receivedAt``. Once that order is stored at least that new,
the backlog published around the in-doubt records has been processed; an
in-doubt record still not found a short grace period later never arrived, and
is sent again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from shared.domain.timestamps import parse_timestamp
from shared.tools.sync.client import Found, GetOutcome
from shared.tools.sync.compare import first_difference
from shared.tools.sync.records import OrderRecord
from shared.tools.sync.versions import stored_is_newer

# Pub/Sub does not deliver strictly in publish order across orders: records
# published next to the watermark may be stored a little after it.
GRACE_SECONDS = 5.0
# Past this the watermark itself is taken as lost (e.g. dead-lettered).
MAX_WAIT_SECONDS = 300.0
POLL_SECONDS = 1.0


class OrderReader(Protocol):
    def get_order(
        self, business_unit_id: str, customer_order_id: str, *, stop: threading.Event | None
    ) -> GetOutcome: ...


@dataclass(frozen=True, slots=True)
class Watermark:
    business_unit_id: str
    customer_order_id: str
    received_at: str


@dataclass(frozen=True, slots=True)
class Settled:
    stored: list[OrderRecord]
    to_send: list[OrderRecord]
    # The store holds a higher version of their orders: neither sent nor stored.
    outdated: list[OrderRecord]


class InDoubtResolver:
    def __init__(
        self,
        client: OrderReader,
        *,
        stop: threading.Event,
        grace_seconds: float = GRACE_SECONDS,
        max_wait_seconds: float = MAX_WAIT_SECONDS,
        poll_seconds: float = POLL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._stop = stop
        self._grace = grace_seconds
        self._max_wait = max_wait_seconds
        self._poll = poll_seconds
        self._clock = clock

    def settle(self, records: Sequence[OrderRecord], watermark: Watermark | None) -> Settled:
        """Split ``records`` into those found stored, outdated by the store, and to send again."""
        started = self._clock()
        pending = list(records)
        stored: list[OrderRecord] = []
        outdated: list[OrderRecord] = []
        caught_up_at: float | None = None
        while pending:
            pending, found, newer = self._partition(pending)
            stored.extend(found)
            outdated.extend(newer)
            now = self._clock()
            if caught_up_at is None and (watermark is None or self._is_stored(watermark)):
                caught_up_at = now
            waited_enough = caught_up_at is not None and now - caught_up_at >= self._grace
            if not pending or waited_enough or now - started >= self._max_wait:
                break
            if self._stop.wait(self._poll):
                break
        return Settled(stored=stored, to_send=pending, outdated=outdated)

    def _partition(
        self, records: list[OrderRecord]
    ) -> tuple[list[OrderRecord], list[OrderRecord], list[OrderRecord]]:
        """The records still pending, those found stored and those the store has outdated."""
        pending: list[OrderRecord] = []
        found: list[OrderRecord] = []
        outdated: list[OrderRecord] = []
        for record in records:
            answer = self._client.get_order(
                record.business_unit_id, record.customer_order_id, stop=self._stop
            )
            if not isinstance(answer, Found):
                pending.append(record)
            elif stored_is_newer(answer.source_version, record.source_version):
                outdated.append(record)
            elif first_difference(record.customer_order, answer.customer_order) is None:
                found.append(record)
            else:
                pending.append(record)
        return pending, found, outdated

    def _is_stored(self, watermark: Watermark) -> bool:
        answer = self._client.get_order(
            watermark.business_unit_id, watermark.customer_order_id, stop=self._stop
        )
        if not isinstance(answer, Found) or not answer.received_at:
            return False
        return parse_timestamp(answer.received_at) >= parse_timestamp(watermark.received_at)
