"""The ports of the application: publishing an accepted order, and storing and reading orders.

Each has a Google adapter (:mod:`shared.adapters.pubsub`, :mod:`shared.adapters.firestore`)
and an in-memory one for unit tests (:mod:`shared.adapters.memory`).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.conflict import Decision
from shared.domain.messages import OrderMessage


@dataclass(frozen=True, slots=True)
class StoredOrder:
    business_unit_id: str
    customer_order_id: str
    customer_order: dict[str, Any]
    received_at: datetime
    message_id: str
    processed_at: datetime | None


class OrderPublisher(abc.ABC):
    @abc.abstractmethod
    def publish(self, message: OrderMessage) -> str:
        """Publish and wait for the confirmation; the message id, or :class:`PublishFailed`."""


class OrderStore(abc.ABC):
    @abc.abstractmethod
    def upsert_if_newer(self, message: OrderMessage) -> Decision:
        """Store ``message`` atomically unless the stored version is as new or newer."""

    @abc.abstractmethod
    def get(self, business_unit_id: str, customer_order_id: str) -> StoredOrder | None:
        """The stored version of an order, or ``None``; :class:`StoreUnavailable` if unreachable."""
