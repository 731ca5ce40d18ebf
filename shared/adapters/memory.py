"""In-memory adapters of the ports, for unit tests and nothing else."""

from __future__ import annotations

import itertools
import threading

from shared.domain.conflict import Verdict, decide
from shared.domain.messages import OrderMessage
from shared.domain.stored_order import OrderSummary, StoredOrder
from shared.errors import PublishFailed
from shared.ports import OrderPublisher, OrderStore


class InMemoryOrderPublisher(OrderPublisher):
    """Records what would have been published."""

    def __init__(self) -> None:
        self.published: list[OrderMessage] = []
        self.fail_with: Exception | None = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def publish(self, message: OrderMessage) -> str:
        if self.fail_with is not None:
            raise PublishFailed(str(self.fail_with)) from self.fail_with
        with self._lock:
            self.published.append(message)
            return str(next(self._ids))


class InMemoryOrderStore(OrderStore):
    """The conflict rule over a dict."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._orders: dict[tuple[str, str], StoredOrder] = {}

    def upsert_if_newer(self, message: OrderMessage) -> Verdict:
        key = (message.business_unit_id, message.customer_order_id)
        with self._lock:
            stored = self._orders.get(key)
            verdict = decide(message.version, stored.version if stored else None)
            if verdict.writes:
                self._orders[key] = StoredOrder(
                    business_unit_id=message.business_unit_id,
                    customer_order_id=message.customer_order_id,
                    body=message.body,
                    customer_id=message.customer_id,
                    status=message.status,
                    body_sha256=message.body_sha256,
                    source_version=message.source_version,
                    received_at=message.received_at,
                    correlation_id=message.correlation_id,
                    message_id=message.message_id,
                    processed_at=message.received_at,
                )
            return verdict

    def get(self, business_unit_id: str, customer_order_id: str) -> StoredOrder | None:
        with self._lock:
            return self._orders.get((business_unit_id, customer_order_id))

    def find_by_customer(
        self, business_unit_id: str, customer_id: str, *, limit: int, after: str | None
    ) -> list[OrderSummary]:
        with self._lock:
            matches = sorted(
                (order for (unit, _), order in self._orders.items() if unit == business_unit_id),
                key=lambda order: order.customer_order_id.encode("utf-8"),
            )
        return [
            OrderSummary(order.customer_order_id, order.customer_id, order.status)
            for order in matches
            if order.customer_id == customer_id
            and (after is None or order.customer_order_id.encode() > after.encode())
        ][:limit]
