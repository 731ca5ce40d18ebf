"""In-memory adapters of the ports, for unit tests and nothing else."""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from shared.domain import stored_order
from shared.domain.events import OrderEvent
from shared.domain.grants import Grant, GrantChange
from shared.domain.messages import OrderMessage, PublishedMessage, StoreUpdateMessage
from shared.domain.search import SearchCriteria, SearchPosition
from shared.domain.store_updates import RecordedUpdate
from shared.domain.stored_order import (
    OrderRecord,
    OrderSummary,
    Revision,
    StoredOrder,
    StoredVersion,
)
from shared.errors import LostRace, PublishFailed
from shared.ports import EventPublisher, GrantStore, OrderPublisher, OrderStore


class InMemoryOrderPublisher(OrderPublisher):
    """Records what would have been published."""

    def __init__(self) -> None:
        self.published: list[PublishedMessage] = []
        self.fail_with: Exception | None = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def publish(self, message: PublishedMessage) -> str:
        if self.fail_with is not None:
            raise PublishFailed(str(self.fail_with)) from self.fail_with
        with self._lock:
            self.published.append(message)
            return str(next(self._ids))

    @property
    def orders(self) -> list[OrderMessage]:
        return [message for message in self.published if isinstance(message, OrderMessage)]

    @property
    def store_updates(self) -> list[StoreUpdateMessage]:
        return [message for message in self.published if isinstance(message, StoreUpdateMessage)]


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
        self._updates: dict[tuple[str, str, str], RecordedUpdate] = {}
        self._revisions = itertools.count(1)

    def read_version(self, business_unit_id: str, customer_order_id: str) -> StoredVersion | None:
        stored = self.get(business_unit_id, customer_order_id)
        if stored is None:
            return None
        assert stored.revision is not None
        return StoredVersion(
            stored.version,
            stored.created_at,
            stored.revision,
            stored.status,
            stored.store_state,
            stored.last_store_update,
        )

    def get(self, business_unit_id: str, customer_order_id: str) -> StoredOrder | None:
        with self._lock:
            return self._orders.get((business_unit_id, customer_order_id))

    def read_for_update(
        self, business_unit_id: str, customer_order_id: str, update_id: str
    ) -> tuple[StoredOrder | None, RecordedUpdate | None]:
        with self._lock:
            return (
                self._orders.get((business_unit_id, customer_order_id)),
                self._updates.get((business_unit_id, customer_order_id, update_id)),
            )

    def write(
        self,
        record: OrderRecord,
        *,
        replacing: Revision | None,
        fields: Sequence[str],
        update: RecordedUpdate | None = None,
    ) -> None:
        key = (record.business_unit_id, record.customer_order_id)
        with self._lock:
            current = self._orders.get(key)
            if (current.revision if current else None) != replacing:
                raise LostRace(f"the document is at {current.revision if current else None}")
            if update is not None and (*key, update.update_id) in self._updates:
                raise LostRace(f"store update {update.update_id!r} exists")
            if current is not None and set(fields) == set(stored_order.STORE_UPDATE_FIELDS):
                record = dataclasses.replace(
                    current,
                    store_state=record.store_state,
                    fulfillment_states=record.fulfillment_states,
                    last_store_update=record.last_store_update,
                )
            values = {
                field.name: getattr(record, field.name) for field in dataclasses.fields(OrderRecord)
            }
            self._orders[key] = StoredOrder(
                **values,
                processed_at=record.received_at,
                revision=Revision(next(self._revisions)),
            )
            if update is not None:
                self._updates[(*key, update.update_id)] = update

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
                if (criteria.across_business_units or unit == business_unit_id)
                and criteria.matches(
                    order.customer_id,
                    order.status,
                    order.search_fields,
                    order.received_at,
                    order.fulfillment_states,
                )
            ]

        # Firestore orders documents by their names, segment by segment, each id by its
        # UTF-8 bytes: within one receivedAt, by business unit, then by order id.
        def position(received_at: datetime, unit: str, order: str) -> tuple[datetime, bytes, bytes]:
            return (received_at, unit.encode("utf-8"), order.encode("utf-8"))

        def position_of(order: StoredOrder) -> tuple[datetime, bytes, bytes]:
            return position(order.received_at, order.business_unit_id, order.customer_order_id)

        matches.sort(key=position_of, reverse=True)
        if after is not None:
            start = position(
                after.received_at,
                after.business_unit_id or business_unit_id,
                after.customer_order_id,
            )
            matches = [order for order in matches if position_of(order) < start]
        return [
            OrderSummary(
                order.business_unit_id,
                order.customer_order_id,
                order.customer_id,
                order.status,
                order.received_at,
                order.picked_up_at,
            )
            for order in matches[:limit]
        ]


class InMemoryGrantStore(GrantStore):
    """Grants in a dict; ``reads`` counts the reads, ``changes`` keeps every change made."""

    def __init__(self, *grants: Grant) -> None:
        self._grants = {grant.identity: grant for grant in grants}
        self.reads = 0
        self.changes: list[GrantChange] = []
        self.fail_with: Exception | None = None
        self._lock = threading.Lock()

    def read(self, identity: str) -> Grant | None:
        if self.fail_with is not None:
            raise self.fail_with
        with self._lock:
            self.reads += 1
            return self._grants.get(identity)

    def change(
        self,
        identity: str,
        decide: Callable[[Grant | None], Grant | None],
        *,
        operator: str,
        command: str,
    ) -> GrantChange:
        with self._lock:
            before = self._grants.get(identity)
            after = decide(before)
            change = GrantChange(identity, before, after, operator, command, datetime.now(UTC))
            if change.changed:
                if after is None:
                    del self._grants[identity]
                else:
                    self._grants[identity] = after
                self.changes.append(change)
            return change

    def list(self) -> list[Grant]:
        with self._lock:
            return [self._grants[identity] for identity in sorted(self._grants)]
