"""The processor: decode a pushed message, store it under the conflict rule, announce the version.

Every delivery ends in exactly one log line, whose ``decision`` field the
log-based metrics count (``terraform/log_metrics.tf``): ``stored``,
``duplicate``, ``stale`` (acknowledged), ``refused`` or ``undecodable`` (never
storable: nacked until dead-lettered) and ``unavailable`` (Firestore or the events
topic did not answer: nacked, redelivered). Each event published is a line of its
own (``event=publish``), before the delivery's.

A stored version's event is published before the message is acknowledged. When
the processor dies between the write and the publish, or the publish fails, the
redelivery finds its own version stored (a duplicate) and publishes the event
again: at least once, with the same event id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from shared.domain.conflict import Decision, Verdict
from shared.domain.events import OrderEvent, order_event
from shared.domain.limits import MAX_ID_BYTES
from shared.domain.messages import (
    BUSINESS_UNIT_ID,
    CORRELATION_ID,
    CUSTOMER_ORDER_ID,
    OrderMessage,
    decode_push_data,
)
from shared.domain.stored_order import unstorable_reason
from shared.errors import (
    PublishFailed,
    StoreRefused,
    StoreUnavailable,
    UndecodableMessage,
)
from shared.log import get_logger, log_event, order_context
from shared.optimistic import OptimisticWriter
from shared.ports import EventPublisher, OrderStore
from shared.versions import apply_version

EVENT = "process"
PUBLISH_EVENT = "publish"
_SKIPPED = {Decision.SKIP_DUPLICATE: "duplicate", Decision.SKIP_STALE: "stale"}

_log = get_logger("processor")


class Processor:
    def __init__(
        self,
        store: OrderStore,
        events: EventPublisher,
        *,
        writes: OptimisticWriter | None = None,
    ) -> None:
        self._store = store
        self._events = events
        self._writes = writes or OptimisticWriter()

    def process(self, event_data: Mapping[str, Any], message_id: str) -> Verdict:
        """Store the order of one pushed message and announce it, or skip it.

        Raises on anything that did not end in a stored and announced or a
        deliberately skipped order, so that Pub/Sub delivers the message again
        (and, after the maximum number of attempts, dead-letters it).
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
            return self._apply(message)

    def _apply(self, message: OrderMessage) -> Verdict:
        described = f"messageId={message.message_id} {message.version}"
        try:
            refusal = unstorable_reason(message)
            if refusal is not None:
                raise StoreRefused(refusal)
            applied = apply_version(message, self._store, self._writes)
            if applied.announce is not None:
                self._publish(order_event(applied.announce))
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
        except (StoreUnavailable, PublishFailed) as exc:
            what = "store" if isinstance(exc, StoreUnavailable) else "events topic"
            log_event(
                _log,
                logging.WARNING,
                f"{what} unavailable {described}, Pub/Sub will redeliver: {exc}",
                event=EVENT,
                decision="unavailable",
            )
            raise
        verdict = applied.verdict
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
            again = ", its event published again" if applied.announce is not None else ""
            log_event(
                _log,
                logging.INFO,
                f"skipped {described} as {verdict.decision.value} (decided by "
                f"{verdict.rule.value}): a version as great or greater is stored{again}",
                event=EVENT,
                decision=_SKIPPED[verdict.decision],
                rule=verdict.rule.value,
            )
        return verdict

    def _publish(self, event: OrderEvent) -> None:
        message_id = self._events.publish(event)
        log_event(
            _log,
            logging.INFO,
            f"published {event} messageId={message_id}",
            event=PUBLISH_EVENT,
            eventType=event.type,
            eventId=event.id,
        )


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
