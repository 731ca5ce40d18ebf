"""Recording a pickup: the POS function's part and the processor's, under the conflict rule.

The POS function reads the stored order and decides (:mod:`shared.domain.conflict`):
absent, cancelled, or already picked up, it answers at once. Otherwise it publishes
the pickup's message to the orders topic, then writes the pickup version on the
condition that the order did not change since the read, and only then answers that
the pickup is recorded. A cancellation stored in between makes the write lose the
race; the next attempt reads it and refuses the pickup; a cancellation stored after
it is refused by the processor, since pickup beats cancellation.

The message is what makes a crash harmless. Delivered to the processor, it finds the
pickup stored (the POS function's write) and announces it, or, when the function
died between its publish and its write, stores the pickup itself and announces it.
Either way the pickup version gets its event before the message is acknowledged. A
pickup whose function died before its answer may so be stored although the POS saw
no answer; the POS asks again and is told it is recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from shared.domain.addresses import ordering_key
from shared.domain.conflict import (
    Change,
    Decision,
    Statuses,
    Verdict,
    Version,
    decide,
    pickup_version,
)
from shared.domain.events import OrderEvent, order_event
from shared.domain.messages import PickupMessage
from shared.domain.pickup import picked_up_body
from shared.domain.stored_order import OrderRecord, unstorable_reason
from shared.errors import Unpickable
from shared.optimistic import OptimisticWriter
from shared.ports import OrderStore
from shared.versions import Announce, Applied


@dataclass(frozen=True, slots=True)
class Recorded:
    verdict: Verdict
    # The order as now stored; None when there is none.
    order: OrderRecord | None


class Pickups:
    def __init__(
        self, store: OrderStore, *, statuses: Statuses, writes: OptimisticWriter | None = None
    ) -> None:
        self._store = store
        self._statuses = statuses
        self._writes = writes or OptimisticWriter()

    def record(
        self,
        business_unit_id: str,
        customer_order_id: str,
        *,
        now: Callable[[], datetime],
        publish: Callable[[PickupMessage], str],
        correlation_id: str,
    ) -> Recorded:
        """The POS function's pickup: decided, published, written; or why not."""

        def attempt() -> Recorded:
            stored = self._store.get(business_unit_id, customer_order_id)
            verdict = self._decide(stored)
            if stored is None or not verdict.writes:
                return Recorded(verdict, stored)
            version = pickup_version(stored.version, now())
            # Made, and checked, before anything is published.
            record = self._record(stored, version, correlation_id, message_id="")
            message = PickupMessage(
                business_unit_id, customer_order_id, version.received_at, correlation_id
            )
            record = replace(record, message_id=publish(message))
            self._store.write(record, replacing=stored.revision)
            return Recorded(verdict, record)

        return self._writes.run(ordering_key(business_unit_id, customer_order_id), attempt)

    def apply(self, message: PickupMessage, announce: Announce) -> Applied:
        """The processor's part: store the pickup if the POS function could not, and announce it."""
        business_unit_id, customer_order_id = message.business_unit_id, message.customer_order_id

        def attempt() -> Applied:
            stored = self._store.get(business_unit_id, customer_order_id)
            verdict = self._decide(stored)
            announced: list[OrderEvent] = []
            if stored is not None and verdict.writes:
                version = pickup_version(stored.version, message.picked_up_at)
                record = self._record(
                    stored, version, message.correlation_id, message_id=message.message_id
                )
                self._store.write(record, replacing=stored.revision)
                announced.append(order_event(record))
            elif (
                stored is not None
                and verdict.decision is Decision.SKIP_DUPLICATE
                and stored.is_pickup_version
            ):
                # Most often the POS function's own write; whichever pickup it is, its
                # event again is harmless, and one that is not the stored version was
                # announced by the version that replaced it.
                announced.append(order_event(stored))
            for event in announced:
                announce(event)
            return Applied(verdict, announced)

        return self._writes.run(ordering_key(business_unit_id, customer_order_id), attempt)

    def _decide(self, stored: OrderRecord | None) -> Verdict:
        return decide(
            Change.PICKUP, None, None if stored is None else stored.standing(self._statuses)
        )

    def _record(
        self, stored: OrderRecord, version: Version, correlation_id: str, *, message_id: str
    ) -> OrderRecord:
        picked_up = self._statuses.picked_up
        record = OrderRecord.of_pickup(
            stored,
            version,
            picked_up_body(stored.body, picked_up, version.received_at),
            status=picked_up,
            correlation_id=correlation_id,
            message_id=message_id,
        )
        reason = unstorable_reason(record)
        if reason is not None:
            raise Unpickable(f"the picked-up order could not be stored: {reason}")
        return record
