"""The processor: decode a pushed message, store it under the conflict rule, announce the version.

Two kinds of message come from the orders topic (:mod:`shared.domain.messages`):
an OMS version, stored by :func:`shared.versions.apply_version`, and a pickup
recorded at the POS, completed by :meth:`shared.pickups.Pickups.apply`.

Every delivery ends in exactly one log line, whose ``decision`` field the
log-based metrics count (``terraform/log_metrics.tf``): ``stored``,
``duplicate``, ``stale``, ``conflict`` (a cancellation refused because the order is
picked up), ``cancelled`` and ``no-order`` (a pickup the POS function refused;
all acknowledged), ``refused`` or ``undecodable`` (never storable: nacked until
dead-lettered) and ``unavailable`` (Firestore or the events topic did not answer:
nacked, redelivered). Each event published is a line of its own
(``event=publish``), before the delivery's.

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

from shared.domain.conflict import Change, Decision, Statuses, Verdict
from shared.domain.events import OrderEvent
from shared.domain.limits import MAX_ID_BYTES
from shared.domain.messages import (
    BUSINESS_UNIT_ID,
    CORRELATION_ID,
    CUSTOMER_ORDER_ID,
    OrdersTopicMessage,
    PickupMessage,
    decode_push_data,
)
from shared.domain.search_fields import search_fields_of_body
from shared.domain.stored_order import unstorable_reason
from shared.errors import (
    PublishFailed,
    StoreRefused,
    StoreUnavailable,
    UndecodableMessage,
    Unpickable,
)
from shared.log import get_logger, log_event, order_context
from shared.optimistic import OptimisticWriter
from shared.pickups import Pickups
from shared.ports import EventPublisher, OrderStore
from shared.versions import Applied, apply_version

EVENT = "process"
PUBLISH_EVENT = "publish"
# The decision field of each delivery's line; all but "stored" acknowledge a skipped change.
DECISIONS = {
    Decision.WRITE: "stored",
    Decision.SKIP_DUPLICATE: "duplicate",
    Decision.SKIP_STALE: "stale",
    Decision.REFUSE_CANCELLATION: "conflict",
    Decision.REFUSE_CANCELLED: "cancelled",
    Decision.REFUSE_ABSENT: "no-order",
}
_WHY = {
    Decision.SKIP_DUPLICATE: "a version as great or greater is stored",
    Decision.SKIP_STALE: "a version as great or greater is stored",
    Decision.REFUSE_CANCELLATION: "the order is picked up, and pickup beats cancellation",
    Decision.REFUSE_CANCELLED: "the order is cancelled: the POS was refused this pickup",
    Decision.REFUSE_ABSENT: "no such order is stored: the POS was refused this pickup",
}

_log = get_logger("processor")


class Processor:
    def __init__(
        self,
        store: OrderStore,
        events: EventPublisher,
        *,
        statuses: Statuses,
        writes: OptimisticWriter | None = None,
    ) -> None:
        self._store = store
        self._events = events
        self._statuses = statuses
        self._writes = writes or OptimisticWriter()
        self._pickups = Pickups(store, statuses=statuses, writes=self._writes)

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

    def _apply(self, message: OrdersTopicMessage) -> Verdict:
        if isinstance(message, PickupMessage):
            change = Change.PICKUP
            described = f"messageId={message.message_id} pickup pickedUpAt={message.picked_up_at}"
            received_at = message.picked_up_at
        else:
            change = self._statuses.change_of(message.status)
            described = f"messageId={message.message_id} {message.version}"
            received_at = message.received_at
        try:
            applied = self._store_change(message)
        except (StoreRefused, Unpickable) as exc:
            # No redelivery can change the answer: one line a delivery, and the message
            # goes on to the dead-letter topic after the last attempt.
            log_event(
                _log,
                logging.ERROR,
                f"refused for good {described}, it will be dead-lettered: {exc}",
                event=EVENT,
                decision="refused",
                change=change.value,
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
                change=change.value,
            )
            raise
        verdict = applied.verdict
        fields: dict[str, object] = {
            "event": EVENT,
            "decision": DECISIONS[verdict.decision],
            "rule": verdict.rule.value,
            "change": change.value,
        }
        if verdict.writes:
            lag = (datetime.now(UTC) - received_at).total_seconds()
            text = f"stored {described} (decided by {verdict.rule.value})"
            fields["lagSeconds"] = round(lag, 6)
        else:
            told = ", its event published" if applied.announced else ""
            text = (
                f"skipped {described} as {DECISIONS[verdict.decision]} (decided by "
                f"{verdict.rule.value}): {_WHY[verdict.decision]}{told}"
            )
        log_event(_log, logging.INFO, text, **fields)
        return verdict

    def _store_change(self, message: OrdersTopicMessage) -> Applied:
        if isinstance(message, PickupMessage):
            return self._pickups.apply(message, self._publish)
        # Parsed once for the size check and the record both.
        search_fields = search_fields_of_body(message.body)
        refusal = unstorable_reason(message, search_fields)
        if refusal is not None:
            raise StoreRefused(refusal)
        return apply_version(
            message,
            self._store,
            self._writes,
            statuses=self._statuses,
            announce=self._publish,
            search_fields=search_fields,
        )

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


def _ids(message: OrdersTopicMessage) -> dict[str, str]:
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
