"""The message ``replay`` republishes: the original order message, marked as replayed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain import events
from shared.domain.addresses import ordering_key
from shared.domain.timestamps import format_timestamp
from shared.tools.dlq.records import DEAD_LETTER_ATTRIBUTE_PREFIX, DeadLetter
from shared.tools.errors import NotReplayable

REPLAYED_AT = "replayedAt"


@dataclass(frozen=True, slots=True)
class ReplayMessage:
    data: bytes
    attributes: dict[str, str]
    ordering_key: str


def build_replay_message(letter: DeadLetter, replayed_at: datetime) -> ReplayMessage:
    """Same data and order attributes, above all the ORIGINAL ``receivedAt``.

    Keeping ``receivedAt`` is what makes replay safe: the processor's conflict
    rule then skips the replayed version whenever a newer one is already stored.
    """
    if letter.problem is not None or letter.order is None:
        raise NotReplayable(letter.problem or "it carries no order attributes")
    attributes = {
        name: value
        for name, value in letter.attributes.items()
        if not name.startswith(DEAD_LETTER_ATTRIBUTE_PREFIX)
    }
    attributes[REPLAYED_AT] = format_timestamp(replayed_at)
    if letter.is_event and not any(
        name.startswith(events.STORE_ATTRIBUTE_PREFIX) for name in attributes
    ):
        # An event of the release before the store filters names no store, and a store's
        # webhook is filtered by them (docs/deploying.md#upgrading-to-the-store-filters):
        # it gets its business unit's, the one store such an order concerned.
        attributes.update(events.store_attributes({letter.order.business_unit_id}))
    return ReplayMessage(
        data=letter.data,
        attributes=attributes,
        ordering_key=ordering_key(letter.order.business_unit_id, letter.order.customer_order_id),
    )
