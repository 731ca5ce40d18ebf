"""The ports of the application: publishing orders and events, and storing and reading orders.

Each has a Google adapter (:mod:`shared.adapters.pubsub`, :mod:`shared.adapters.firestore`)
and an in-memory one for unit tests (:mod:`shared.adapters.memory`).
"""

from __future__ import annotations

import abc

from shared.domain.events import OrderEvent
from shared.domain.messages import OrdersTopicMessage
from shared.domain.search import SearchCriteria, SearchPosition
from shared.domain.stored_order import (
    OrderRecord,
    OrderSummary,
    Revision,
    StoredOrder,
    StoredVersion,
)


class OrderPublisher(abc.ABC):
    @abc.abstractmethod
    def publish(self, message: OrdersTopicMessage) -> str:
        """Publish and wait for the confirmation; the message id, or :class:`PublishFailed`."""


class EventPublisher(abc.ABC):
    @abc.abstractmethod
    def publish(self, event: OrderEvent) -> str:
        """Publish to the events topic and wait for the confirmation, as :class:`OrderPublisher`."""


class OrderStore(abc.ABC):
    """Reads and conditional writes of one document per order.

    Every call raises :class:`StoreUnavailable` when it may work later; a write
    :class:`StoreRefused` when it never will.
    """

    @abc.abstractmethod
    def read_version(self, business_unit_id: str, customer_order_id: str) -> StoredVersion | None:
        """The stored version of an order (a few fields, never the body), or ``None``."""

    @abc.abstractmethod
    def get(self, business_unit_id: str, customer_order_id: str) -> StoredOrder | None:
        """The whole stored order, or ``None``."""

    @abc.abstractmethod
    def write(self, record: OrderRecord, *, replacing: Revision | None) -> None:
        """Store ``record`` as the order's document, on a condition.

        ``replacing=None``: only if no document exists; otherwise only if the
        document is still at that revision. :class:`LostRace` when the condition fails.
        """

    @abc.abstractmethod
    def search(
        self,
        business_unit_id: str,
        criteria: SearchCriteria,
        *,
        limit: int,
        after: SearchPosition | None,
    ) -> list[OrderSummary]:
        """Up to ``limit`` of the business unit's orders that match ``criteria``, newest first.

        Newest by ``receivedAt``, then by descending order id; only orders that stand
        after ``after`` (the last order of the previous page) in that order.
        """
