"""The ports of the application: publishing an accepted order, and storing and reading orders.

Each has a Google adapter (:mod:`shared.adapters.pubsub`, :mod:`shared.adapters.firestore`)
and an in-memory one for unit tests (:mod:`shared.adapters.memory`).
"""

from __future__ import annotations

import abc

from shared.domain.conflict import Verdict
from shared.domain.messages import OrderMessage
from shared.domain.stored_order import OrderSummary, StoredOrder


class OrderPublisher(abc.ABC):
    @abc.abstractmethod
    def publish(self, message: OrderMessage) -> str:
        """Publish and wait for the confirmation; the message id, or :class:`PublishFailed`."""


class OrderStore(abc.ABC):
    @abc.abstractmethod
    def upsert_if_newer(self, message: OrderMessage) -> Verdict:
        """Store ``message`` atomically unless the stored version is as great or greater.

        :class:`StoreUnavailable` when it may work later, :class:`StoreRefused` when never.
        """

    @abc.abstractmethod
    def get(self, business_unit_id: str, customer_order_id: str) -> StoredOrder | None:
        """The stored version of an order, or ``None``; :class:`StoreUnavailable` if unreachable."""

    @abc.abstractmethod
    def find_by_customer(
        self, business_unit_id: str, customer_id: str, *, limit: int, after: str | None
    ) -> list[OrderSummary]:
        """Up to ``limit`` of the business unit's orders of a customer, by ascending order id.

        Only orders whose id sorts after ``after`` (the last id of the previous page).
        """
