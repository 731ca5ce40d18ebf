"""The processor: decode a pushed message and apply it to the store under the conflict rule.

Every delivery ends in exactly one log line, whose ``decision`` field the
log-based metrics count (``terraform/log_metrics.tf``): ``stored``,
``duplicate``, ``stale`` (acknowledged), ``refused`` or ``undecodable`` (never
storable: nacked until dead-lettered) and ``unavailable`` (nacked, redelivered).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from shared.domain.conflict import Decision, Verdict
from shared.domain.limits import MAX_ID_BYTES
from shared.domain.messages import (
    BUSINESS_UNIT_ID,
    CORRELATION_ID,
    CUSTOMER_ORDER_ID,
    OrderMessage,
    decode_push_data,
)
from shared.domain.stored_order import unstorable_reason
from shared.errors import StoreRefused, StoreUnavailable, UndecodableMessage
from shared.log import get_logger, log_event, order_context
from shared.ports import OrderStore

EVENT = "process"
_SKIPPED = {Decision.SKIP_DUPLICATE: "duplicate", Decision.SKIP_STALE: "stale"}

_log = get_logger("processor")


def process_push(event_data: Mapping[str, Any], message_id: str, store: OrderStore) -> Verdict:
    """Store the order of one pushed message, or skip it as a duplicate or stale version.

    Raises on anything that did not end in a stored or deliberately skipped
    order, so that Pub/Sub delivers the message again (and, after the maximum
    number of attempts, dead-letters it).
    """
    try:
        message = decode_push_data(event_data, message_id)
    except UndecodableMessage as exc:
        with order_context(**_claimed_ids(event_data)):
            log_event(
                _log,
                logging.ERROR,
                f"undecodable message messageId={message_id}: {exc}",
                event=EVENT,
                decision="undecodable",
            )
        raise
    with order_context(**_ids(message)):
        return _apply(message, store)


def _apply(message: OrderMessage, store: OrderStore) -> Verdict:
    described = f"messageId={message.message_id} {message.version}"
    try:
        refusal = unstorable_reason(message)
        if refusal is not None:
            raise StoreRefused(refusal)
        verdict = store.upsert_if_newer(message)
    except StoreRefused as exc:
        # No redelivery can change the answer: one line a delivery, and the message
        # goes on to the dead-letter topic after the last attempt.
        log_event(
            _log,
            logging.ERROR,
            f"refused for good {described}, it will be dead-lettered: {exc}",
            event=EVENT,
            decision="refused",
        )
        raise
    except StoreUnavailable as exc:
        log_event(
            _log,
            logging.WARNING,
            f"store unavailable {described}, Pub/Sub will redeliver: {exc}",
            event=EVENT,
            decision="unavailable",
        )
        raise
    lag = (datetime.now(UTC) - message.received_at).total_seconds()
    if verdict.writes:
        log_event(
            _log,
            logging.INFO,
            f"stored {described} (decided by {verdict.rule.value})",
            event=EVENT,
            decision="stored",
            rule=verdict.rule.value,
            lagSeconds=round(lag, 6),
        )
    else:
        log_event(
            _log,
            logging.INFO,
            f"skipped {described} as {verdict.decision.value} (decided by "
            f"{verdict.rule.value}): a version as great or greater is stored",
            event=EVENT,
            decision=_SKIPPED[verdict.decision],
            rule=verdict.rule.value,
        )
    return verdict


def _ids(message: OrderMessage) -> dict[str, str]:
    ids = {
        BUSINESS_UNIT_ID: message.business_unit_id,
        CUSTOMER_ORDER_ID: message.customer_order_id,
    }
    if message.correlation_id:
        ids[CORRELATION_ID] = message.correlation_id
    return ids


def _claimed_ids(event_data: Mapping[str, Any]) -> dict[str, str]:
    """The ids an undecodable message's attributes claim, so its log line can be found."""
    message = event_data.get("message")
    attributes = message.get("attributes") if isinstance(message, Mapping) else None
    if not isinstance(attributes, Mapping):
        return {}
    return {
        name: str(attributes[name])[:MAX_ID_BYTES]
        for name in (BUSINESS_UNIT_ID, CUSTOMER_ORDER_ID, CORRELATION_ID)
        if name in attributes
    }
