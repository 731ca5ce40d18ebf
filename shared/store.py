"""The persistence port of the processor and the ingest GET, and an in-memory adapter for tests."""

from __future__ import annotations

import abc
import copy
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.conflict import Decision, decide
from shared.messages import OrderMessage


@dataclass(frozen=True, slots=True)
class StoredOrder:
    business_unit_id: str
    customer_order_id: str
    customer_order: dict[str, Any]
    received_at: datetime
    message_id: str
    processed_at: datetime | None


class OrderStore(abc.ABC):
    @abc.abstractmethod
    def upsert_if_newer(self, message: OrderMessage) -> Decision:
        """Store ``message`` atomically unless the stored version is as new or newer."""

    @abc.abstractmethod
    def get(self, business_unit_id: str, customer_order_id: str) -> StoredOrder | None:
        """The stored version of an order, or ``None``."""


class InMemoryOrderStore(OrderStore):
    """The conflict rule over a dict; for unit tests and nothing else."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._orders: dict[tuple[str, str], StoredOrder] = {}

    def upsert_if_newer(self, message: OrderMessage) -> Decision:
        key = (message.business_unit_id, message.customer_order_id)
        with self._lock:
            stored = self._orders.get(key)
            decision = decide(message.received_at, stored.received_at if stored else None)
            if decision.writes:
                self._orders[key] = StoredOrder(
                    business_unit_id=message.business_unit_id,
                    customer_order_id=message.customer_order_id,
                    customer_order=copy.deepcopy(message.customer_order),
                    received_at=message.received_at,
                    message_id=message.message_id,
                    processed_at=message.received_at,
                )
            return decision

    def get(self, business_unit_id: str, customer_order_id: str) -> StoredOrder | None:
        with self._lock:
            return self._orders.get((business_unit_id, customer_order_id))
