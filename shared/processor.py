"""The processor: decode a pushed message, store it under the conflict rule, announce the version.

Messages come from two topics (:mod:`shared.domain.messages`), each pushed by its own
subscription: OMS versions (and the pickups of the release before fulfillments) from
the orders topic, store updates the pos function published from the store-updates
topic. Each is applied by :class:`shared.order_changes.OrderChanges`, the one way a
change reaches an order.

Every delivery ends in exactly one log line, whose ``decision`` field the
log-based metrics count (``terraform/log_metrics.tf``): ``stored``,
``duplicate``, ``stale``, ``conflict`` (an OMS version refused because it would
cancel what was handed out), ``superseded`` (a store update decided on an order
state that is gone), ``not-recorded`` (a store update the order does not allow: the
pos function answered it so; all acknowledged), ``refused`` or ``undecodable`` (never
storable: nacked until dead-lettered) and ``unavailable`` (Firestore or the events
topic did not answer: nacked, redelivered). Each event published is a line of its own
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

from shared.domain.conflict import Decision, Statuses, Verdict
from shared.domain.events import OrderEvent
from shared.domain.limits import MAX_ID_BYTES
from shared.domain.messages import (
    BUSINESS_UNIT_ID,
    CORRELATION_ID,
    CUSTOMER_ORDER_ID,
    OrderMessage,
    PushedMessage,
    Source,
    StoreUpdateMessage,
    decode_push_data,
)
from shared.domain.store_state import LEGACY_PICKUP_ID
from shared.domain.store_updates import StoreUpdate, UpdateKind
from shared.domain.stored_order import content_of_body, unstorable_reason
from shared.domain.timestamps import format_timestamp
from shared.errors import (
    PublishFailed,
    StoreRefused,
    StoreUnavailable,
    UndecodableMessage,
)
from shared.log import get_logger, log_event, order_context
from shared.optimistic import OptimisticWriter
from shared.order_changes import OmsVersion, OrderChanges, StoreUpdateChange
from shared.ports import EventPublisher, OrderStore

EVENT = "process"
PUBLISH_EVENT = "publish"
# The decision field of each delivery's line; all but "stored" acknowledge a skipped change.
DECISIONS = {
    Decision.WRITE: "stored",
    Decision.SKIP_DUPLICATE: "duplicate",
    Decision.SKIP_STALE: "stale",
    Decision.SKIP_SUPERSEDED: "superseded",
    Decision.REFUSE_CANCELLATION: "conflict",
}
# Any other refusal of a store update: the pos function gave the POS that answer.
NOT_RECORDED = "not-recorded"
_WHY = {
    Decision.SKIP_DUPLICATE: "a version as great or greater is stored, or the update is recorded",
    Decision.SKIP_STALE: "a version as great or greater is stored",
    Decision.SKIP_SUPERSEDED: "the order changed since the update was decided: nothing recorded",
    Decision.REFUSE_CANCELLATION: "it would cancel what a store handed out: pickup beats "
    "cancellation",
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
        self._changes = OrderChanges(
            store, statuses=statuses, writes=writes, announce=self._publish
        )
        self._statuses = statuses
        self._events = events

    def process(
        self, event_data: Mapping[str, Any], message_id: str, source: Source = Source.ORDERS
    ) -> Verdict:
        """Apply the change of one pushed message from ``source`` and announce it, or skip it.

        Raises on anything that did not end in a stored and announced or a
        deliberately skipped change, so that Pub/Sub delivers the message again
        (and, after the maximum number of attempts, dead-letters it).
        """
        try:
            message = decode_push_data(event_data, message_id, source)
        except UndecodableMessage as exc:
            with order_context(**_claimed_ids(event_data)):
                log_event(
                    _log,
                    logging.ERROR,
                    f"undecodable message messageId={message_id} from the {source.value} "
                    f"topic: {exc}",
                    event=EVENT,
                    decision="undecodable",
                )
            raise
        with order_context(**_ids(message)):
            return self._apply(message)

    def _apply(self, message: PushedMessage) -> Verdict:
        described, received_at = _described(message)
        strategy: OmsVersion | StoreUpdateChange | None = None
        try:
            strategy = self._strategy(message)
            applied = self._changes.apply(strategy)
        except StoreRefused as exc:
            # No redelivery can change the answer: one line a delivery, and the message
            # goes on to the dead-letter topic after the last attempt.
            log_event(
                _log,
                logging.ERROR,
                f"refused for good {described}, it will be dead-lettered: {exc}",
                event=EVENT,
                decision="refused",
                **_change_field(strategy),
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
                **_change_field(strategy),
            )
            raise
        verdict = applied.verdict
        decision = DECISIONS.get(verdict.decision, NOT_RECORDED)
        fields: dict[str, object] = {
            "event": EVENT,
            "decision": decision,
            "rule": verdict.rule.value,
            "change": strategy.change.value,
        }
        if verdict.writes:
            lag = (datetime.now(UTC) - received_at).total_seconds()
            text = f"stored {described} (decided by {verdict.rule.value})"
            fields["lagSeconds"] = round(lag, 6)
        else:
            told = ", its event published" if applied.announced else ""
            why = _WHY.get(
                verdict.decision,
                f"the order does not allow it ({verdict.decision.value}), as the POS was told",
            )
            text = (
                f"skipped {described} as {decision} (decided by {verdict.rule.value}): {why}{told}"
            )
        log_event(_log, logging.INFO, text, **fields)
        return verdict

    def _strategy(self, message: PushedMessage) -> OmsVersion | StoreUpdateChange:
        if isinstance(message, OrderMessage):
            # Parsed once for the size check and the record both.
            content = content_of_body(message.body, message.business_unit_id)
            refusal = unstorable_reason(message, content)
            if refusal is not None:
                raise StoreRefused(refusal)
            return OmsVersion(message, content)
        if isinstance(message, StoreUpdateMessage):
            return StoreUpdateChange(
                message.business_unit_id,
                message.customer_order_id,
                message.update,
                recorded_at=message.recorded_at,
                correlation_id=message.correlation_id,
                caller=message.caller,
                holds=_checked_by_the_pos,
                basis=message.basis,
            )
        # A pickup of the release before fulfillments: the whole order, if its pos function
        # died before its write; announced again if it was written.
        return StoreUpdateChange(
            message.business_unit_id,
            message.customer_order_id,
            StoreUpdate(
                f"{LEGACY_PICKUP_ID}-{format_timestamp(message.picked_up_at)}",
                UpdateKind.PICKUP,
                legacy=True,
            ),
            recorded_at=message.picked_up_at,
            correlation_id=message.correlation_id,
            caller="",
            holds=_checked_by_the_pos,
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


def _checked_by_the_pos(business_unit_id: str) -> bool:
    # The pos function checked the caller's stores before it published the update.
    return True


def _change_field(strategy: OmsVersion | StoreUpdateChange | None) -> dict[str, str]:
    """What the change does, once it is known (a message refused before it is, has none)."""
    return {} if strategy is None else {"change": strategy.change.value}


def _described(message: PushedMessage) -> tuple[str, datetime]:
    if isinstance(message, OrderMessage):
        return f"messageId={message.message_id} {message.version}", message.received_at
    if isinstance(message, StoreUpdateMessage):
        update = message.update
        return (
            f"messageId={message.message_id} store update {update.kind.value} "
            f"updateId={update.update_id} decided on {message.basis.version} "
            f"storeUpdates={message.basis.store_updates}",
            message.recorded_at,
        )
    return (
        f"messageId={message.message_id} pickup of the release before pickedUpAt="
        f"{format_timestamp(message.picked_up_at)}",
        message.picked_up_at,
    )


def _ids(message: PushedMessage) -> dict[str, str]:
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
