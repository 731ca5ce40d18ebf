"""The processor: decode a pushed message and apply it to the store under the conflict rule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.domain.conflict import Decision
from shared.domain.limits import MAX_ID_BYTES
from shared.domain.messages import BUSINESS_UNIT_ID, CUSTOMER_ORDER_ID, decode_push_data
from shared.domain.stored_order import unstorable_reason
from shared.domain.timestamps import format_timestamp
from shared.errors import StoreRefused, StoreUnavailable, UndecodableMessage
from shared.log import get_logger, order_context
from shared.ports import OrderStore

_log = get_logger("processor")


def process_push(event_data: Mapping[str, Any], message_id: str, store: OrderStore) -> Decision:
    """Store the order of one pushed message, or skip it as a duplicate or stale version.

    Raises on anything that did not end in a stored or deliberately skipped
    order, so that Pub/Sub delivers the message again (and, after the maximum
    number of attempts, dead-letters it).
    """
    try:
        message = decode_push_data(event_data, message_id)
    except UndecodableMessage as exc:
        with order_context(**_claimed_ids(event_data)):
            _log.error("undecodable message messageId=%s: %s", message_id, exc)
        raise
    with order_context(
        businessUnitId=message.business_unit_id, customerOrderId=message.customer_order_id
    ):
        received = format_timestamp(message.received_at)
        try:
            refusal = unstorable_reason(
                message.business_unit_id,
                message.customer_order_id,
                body_bytes=len(message.body),
                customer_id=message.customer_id,
                status=message.status,
            )
            if refusal is not None:
                raise StoreRefused(refusal)
            decision = store.upsert_if_newer(message)
        except StoreRefused as exc:
            # No redelivery can change the answer: one line a delivery, and the message
            # goes on to the dead-letter topic after the last attempt.
            _log.error(
                "refused for good messageId=%s receivedAt=%s, it will be dead-lettered: %s",
                message_id,
                received,
                exc,
            )
            raise
        except StoreUnavailable as exc:
            _log.warning(
                "store unavailable messageId=%s receivedAt=%s, Pub/Sub will redeliver: %s",
                message_id,
                received,
                exc,
            )
            raise
        if decision.writes:
            _log.info("stored messageId=%s receivedAt=%s", message_id, received)
        else:
            _log.info(
                "skipped messageId=%s receivedAt=%s as %s: a version as new or newer is stored",
                message_id,
                received,
                decision.value,
            )
        return decision


def _claimed_ids(event_data: Mapping[str, Any]) -> dict[str, str]:
    """The order ids an undecodable message's attributes claim, so its log line can be found."""
    message = event_data.get("message")
    attributes = message.get("attributes") if isinstance(message, Mapping) else None
    if not isinstance(attributes, Mapping):
        return {}
    return {
        name: str(attributes[name])[:MAX_ID_BYTES]
        for name in (BUSINESS_UNIT_ID, CUSTOMER_ORDER_ID)
        if name in attributes
    }
