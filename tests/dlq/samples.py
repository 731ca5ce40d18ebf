"""Dead letters as Pub/Sub forwards them, built from the real message format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.domain.messages import OrderMessage
from shared.tools.dlq.records import (
    DELIVERY_COUNT,
    SOURCE_PROJECT,
    SOURCE_SUBSCRIPTION,
    DeadLetter,
    parse_dead_letter,
)
from tests.support import order_message as accepted_message

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
SOURCE = "customer-orders-processor"


def order_message(
    business_unit_id: str = "BU1",
    customer_order_id: str = "CO-1",
    *,
    received_at: datetime = NOW - timedelta(hours=2),
    **changes: Any,
) -> OrderMessage:
    return accepted_message(business_unit_id, customer_order_id, received_at, **changes)


def bookkeeping(delivery_count: int = 5) -> dict[str, str]:
    """The attributes Pub/Sub adds when it dead-letters (docs/platform.md)."""
    return {
        DELIVERY_COUNT: str(delivery_count),
        SOURCE_SUBSCRIPTION: SOURCE,
        SOURCE_PROJECT: "demo-project",
        "CloudPubSubDeadLetterSourceTopicPublishTime": "2026-11-29T10:00:00.123Z",
    }


def dead_letter(
    message: OrderMessage | None = None,
    *,
    message_id: str = "101",
    dead_lettered_at: datetime = NOW - timedelta(hours=1),
    attributes: dict[str, str] | None = None,
    data: bytes | None = None,
) -> DeadLetter:
    message = message or order_message()
    return parse_dead_letter(
        message_id=message_id,
        published_at=dead_lettered_at,
        data=message.data if data is None else data,
        attributes={**message.attributes, **bookkeeping()} if attributes is None else attributes,
        ordering_key=message.ordering_key,
    )
