"""In-memory adapters of the ports, for unit tests and nothing else."""

from __future__ import annotations

import dataclasses
import itertools
import threading

from shared.domain.events import OrderEvent
from shared.domain.messages import OrderMessage, OrdersTopicMessage, PickupMessage
from shared.domain.search import SearchCriteria, SearchPosition
from shared.domain.stored_order import (
    OrderRecord,
    OrderSummary,
    Revision,
    StoredOrder,
    StoredVersion,
)
from shared.errors import LostRace, PublishFailed
from shared.ports import EventPublisher, OrderPublisher, OrderStore


class InMemoryOrderPublisher(OrderPublisher):
    """Records what would have been published."""

    def __init__(self) -> None:
        self.published: list[OrdersTopicMessage] = []
        self.fail_with: Exception | None = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def publish(self, message: OrdersTopicMessage) -> str:
        if self.fail_with is not None:
            raise PublishFailed(str(self.fail_with)) from self.fail_with
        with self._lock:
            self.published.append(message)
            return str(next(self._ids))

    @property
    def orders(self) -> list[OrderMessage]:
        return [message for message in self.published if isinstance(message, OrderMessage)]

    @property
    def pickups(self) -> list[PickupMessage]:
        return [message for message in self.published if isinstance(message, PickupMessage)]


class InMemoryEventPublisher(EventPublisher):
    """Records the events that would have been published."""

    def __init__(self) -> None:
        self.published: list[OrderEvent] = []
        self.fail_with: Exception | None = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def publish(self, event: OrderEvent) -> str:
        if self.fail_with is not None:
            raise PublishFailed(str(self.fail_with)) from self.fail_with
        with self._lock:
            self.published.append(event)
            return str(next(self._ids))


class InMemoryOrderStore(OrderStore):
    """Documents in a dict, each with a revision counter for the conditional write."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._orders: dict[tuple[str, str], StoredOrder] = {}
        self._revisions = itertools.count(1)

    def read_version(self, business_unit_id: str, customer_order_id: str) -> StoredVersion | None:
        stored = self.get(business_unit_id, customer_order_id)
        if stored is None:
            return None
        assert stored.revision is not None
        return StoredVersion(
            stored.version, stored.created_at, stored.revision, stored.status, stored.picked_up_at
        )

    def get(self, business_unit_id: str, customer_order_id: str) -> StoredOrder | None:
        with self._lock:
            return self._orders.get((business_unit_id, customer_order_id))

    def write(self, record: OrderRecord, *, replacing: Revision | None) -> None:
        key = (record.business_unit_id, record.customer_order_id)
        with self._lock:
            current = self._orders.get(key)
            if (current.revision if current else None) != replacing:
                raise LostRace(f"the document is at {current.revision if current else None}")
            fields = {
                field.name: getattr(record, field.name) for field in dataclasses.fields(record)
            }
            self._orders[key] = StoredOrder(
                **fields,
                processed_at=record.received_at,
                revision=Revision(next(self._revisions)),
            )

    def search(
        self,
        business_unit_id: str,
        criteria: SearchCriteria,
        *,
        limit: int,
        after: SearchPosition | None,
    ) -> list[OrderSummary]:
        with self._lock:
            matches = [
                order
                for (unit, _), order in self._orders.items()
                if unit == business_unit_id
                and criteria.matches(
                    order.customer_id, order.status, order.search_fields, order.received_at
                )
            ]
        # Firestore orders document ids by their UTF-8 bytes.
        matches.sort(
            key=lambda order: (order.received_at, order.customer_order_id.encode("utf-8")),
            reverse=True,
        )
        return [
            OrderSummary(
                order.customer_order_id,
                order.customer_id,
                order.status,
                order.received_at,
                order.picked_up_at,
            )
            for order in matches
            if after is None
            or (order.received_at, order.customer_order_id.encode("utf-8"))
            < (after.received_at, after.customer_order_id.encode("utf-8"))
        ][:limit]
