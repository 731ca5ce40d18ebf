"""The message ``replay`` republishes: the original message, marked as replayed, and its topic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain import events
from shared.domain.addresses import ordering_key
from shared.domain.messages import Source
from shared.domain.timestamps import format_timestamp
from shared.tools.dlq.records import DEAD_LETTER_ATTRIBUTE_PREFIX, DeadLetter
from shared.tools.errors import NotReplayable

REPLAYED_AT = "replayedAt"


@dataclass(frozen=True, slots=True)
class ReplayTopics:
    """Where ``replay`` sends a dead letter: back to the topic it came from.

    The processor's letters go to the orders topic or the store-updates topic, by their
    :attr:`~shared.tools.dlq.records.DeadLetter.source`, never to the other one: the
    processor would refuse a store update on the orders topic and an OMS version on the
    store-updates topic. A webhook's letters go to its replay topic (``events``).
    """

    orders: str | None = None
    store_updates: str | None = None
    events: str | None = None

    def of(self, letter: DeadLetter) -> str:
        """The topic path for ``letter``; :class:`NotReplayable` when this queue has none."""
        if letter.source is None:
            topic, wanted = self.events, "an order event (replay a webhook's with --webhook)"
        elif letter.source is Source.STORE_UPDATES:
            topic, wanted = self.store_updates, "a store update"
        else:
            topic, wanted = self.orders, "a message of the orders topic"
        if topic is None:
            raise NotReplayable(f"{wanted} has no place among a webhook's events")
        return topic

    def all(self) -> list[str]:
        return [topic for topic in (self.orders, self.store_updates, self.events) if topic]


@dataclass(frozen=True, slots=True)
class ReplayMessage:
    data: bytes
    attributes: dict[str, str]
    ordering_key: str
    # The topic path it is republished to.
    topic: str


def build_replay_message(
    letter: DeadLetter, replayed_at: datetime, topics: ReplayTopics
) -> ReplayMessage:
    """Same data and attributes, above all the ORIGINAL ``receivedAt``, to its own topic.

    Keeping ``receivedAt`` is what makes replay safe: the processor's conflict
    rule then skips the replayed version whenever a newer one is already stored. A
    store update keeps its ``updateId`` and the order state it was decided on, so it is
    recorded at most once, and only on that state.
    """
    if letter.problem is not None or letter.order is None:
        raise NotReplayable(letter.problem or "it carries no order attributes")
    topic = topics.of(letter)
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
        topic=topic,
    )
