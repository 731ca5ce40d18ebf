"""A dead-lettered message as a typed record, parsed from what Pub/Sub delivers.

Two kinds land in dead-letter queues: messages the processor could not store
(``customer-orders-dead-letter``: OMS versions and the release before's pickups from the
orders topic, store updates from the store-updates topic) and order events a webhook did
not take (each webhook's own queue). All are read alike; an event's order and version
come from its CloudEvent attributes, a pickup's version is its pickedUpAt, a store
update's its recordedAt.

A processor's message belongs on the topic it came from (:attr:`DeadLetter.source`), and
is checked as the processor checks a push from that topic: a letter of the store-updates
subscription that is not a store update (an OMS version forged by whoever could publish
there) can never be replayed, least of all to the orders topic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.config import DEFAULT_STORE_UPDATES_SUBSCRIPTION
from shared.domain import events
from shared.domain.addresses import ordering_key
from shared.domain.ids import validate_id
from shared.domain.jsonbody import parse_accepted_json
from shared.domain.messages import (
    BUSINESS_UNIT_ID,
    CUSTOMER_ORDER_ID,
    KIND,
    PICKED_UP_AT,
    PICKUP_KIND,
    RECEIVED_AT,
    OrderMessage,
    PushedMessage,
    Source,
    StoreUpdateMessage,
    decode_message,
    source_of,
)
from shared.domain.stored_order import content_of_body, unstorable_reason
from shared.domain.timestamps import format_timestamp, parse_timestamp
from shared.errors import InvalidId, MalformedJson, UndecodableMessage

# Pub/Sub adds these when it forwards a message to the dead-letter topic.
DEAD_LETTER_ATTRIBUTE_PREFIX = "CloudPubSubDeadLetterSource"
DELIVERY_COUNT = "CloudPubSubDeadLetterSourceDeliveryCount"
SOURCE_SUBSCRIPTION = "CloudPubSubDeadLetterSourceSubscription"
SOURCE_PROJECT = "CloudPubSubDeadLetterSourceSubscriptionProject"


@dataclass(frozen=True, slots=True, order=True)
class OrderRef:
    business_unit_id: str
    customer_order_id: str

    def __str__(self) -> str:
        return ordering_key(self.business_unit_id, self.customer_order_id)

    @classmethod
    def parse(cls, text: str) -> OrderRef:
        """``BU/ID``; raises :class:`ValueError` with a reason an operator can act on."""
        business_unit_id, slash, customer_order_id = text.partition("/")
        if not slash:
            raise ValueError(f"order {text!r} is not of the form BUSINESS_UNIT/ORDER_ID")
        try:
            return cls(
                validate_id(business_unit_id, name="business unit id"),
                validate_id(customer_order_id, name="customer order id"),
            )
        except InvalidId as exc:
            raise ValueError(f"order {text!r}: {exc}") from None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    message_id: str
    dead_lettered_at: datetime
    data: bytes
    attributes: Mapping[str, str] = field(hash=False)
    ordering_key: str
    order: OrderRef | None
    received_at: datetime | None
    delivery_count: int | None
    source_subscription: str | None
    # Why replaying cannot succeed (the processor would reject it again); None when it can.
    problem: str | None
    # The processor's topic the message came from, and so goes back to; None for an event.
    source: Source | None = None
    # The processor's message, decoded as it would be on that topic; None when it is not one.
    message: PushedMessage | None = field(default=None, compare=False, hash=False)

    @property
    def is_event(self) -> bool:
        """An order event for a webhook, rather than an order message for the processor."""
        return events.is_event(self.attributes)

    @property
    def store_update(self) -> StoreUpdateMessage | None:
        return self.message if isinstance(self.message, StoreUpdateMessage) else None

    @property
    def business_unit_id(self) -> str | None:
        return self.attributes.get(_keys(self.attributes)[0])

    @property
    def customer_order_id(self) -> str | None:
        return self.attributes.get(_keys(self.attributes)[1])

    @property
    def received_at_text(self) -> str | None:
        """The version's receivedAt as the message carries it (an event's ``time``, a store
        update's ``recordedAt``)."""
        if self.store_update is not None:
            return format_timestamp(self.store_update.recorded_at)
        return self.attributes.get(_keys(self.attributes)[2])

    def age(self, now: datetime) -> timedelta:
        """How long the message has been in the dead-letter queue."""
        return now - self.dead_lettered_at

    def body(self) -> Any:
        """The data as parsed JSON, or ``None`` when it is not JSON."""
        try:
            return parse_accepted_json(self.data)
        except MalformedJson:
            return None


def parse_dead_letter(
    *,
    message_id: str,
    published_at: datetime,
    data: bytes,
    attributes: Mapping[str, str],
    ordering_key: str = "",
    store_updates_subscription: str = DEFAULT_STORE_UPDATES_SUBSCRIPTION,
) -> DeadLetter:
    """Build the record; never raises, because undecodable messages must be listable too.

    ``store_updates_subscription`` is the processor's subscription of the store-updates
    topic: what it dead-lettered came from that topic, whatever the message says.
    """
    attributes = dict(attributes)
    source = _source(attributes, store_updates_subscription)
    message, problem = _decoded(data, attributes, message_id, source)
    origin = attributes.get(SOURCE_SUBSCRIPTION)
    if problem and source is Source.ORDERS and source_of(attributes) is not source and origin:
        problem += (
            f" (dead-lettered by {origin}; if that is the processor's store-updates "
            f"subscription, name it with --store-updates-subscription {origin})"
        )
    received_at = (
        message.recorded_at if isinstance(message, StoreUpdateMessage) else _received_at(attributes)
    )
    return DeadLetter(
        message_id=message_id,
        dead_lettered_at=published_at.astimezone(UTC),
        data=data,
        attributes=attributes,
        ordering_key=ordering_key,
        order=_order(attributes),
        received_at=received_at,
        delivery_count=_delivery_count(attributes),
        source_subscription=attributes.get(SOURCE_SUBSCRIPTION),
        problem=problem,
        source=source,
        message=message,
    )


def _source(attributes: Mapping[str, str], store_updates_subscription: str) -> Source | None:
    """The processor's topic a letter came from, by the subscription Pub/Sub says dead-lettered
    it: the store-updates topic for that topic's subscription, the orders topic for any
    other. Only a letter without Pub/Sub's bookkeeping (made by hand) goes by its kind."""
    if events.is_event(attributes):
        return None
    wanted = store_updates_subscription.rsplit("/", 1)[-1]
    if attributes.get(SOURCE_SUBSCRIPTION) == wanted:
        return Source.STORE_UPDATES
    if attributes.get(SOURCE_SUBSCRIPTION) is not None:
        # Pushed by another subscription: the orders topic's, where a store update
        # is refused as it was by the processor.
        return Source.ORDERS
    return source_of(attributes)


def _keys(attributes: Mapping[str, str]) -> tuple[str, str, str]:
    """Where a message of its kind carries the business unit, the order id and receivedAt."""
    if events.is_event(attributes):
        return events.BUSINESS_UNIT_ATTRIBUTE, events.SUBJECT_ATTRIBUTE, events.TIME_ATTRIBUTE
    if attributes.get(KIND) == PICKUP_KIND:
        return BUSINESS_UNIT_ID, CUSTOMER_ORDER_ID, PICKED_UP_AT
    return BUSINESS_UNIT_ID, CUSTOMER_ORDER_ID, RECEIVED_AT


def _order(attributes: Mapping[str, str]) -> OrderRef | None:
    unit_key, order_key, _ = _keys(attributes)
    business_unit_id = attributes.get(unit_key)
    customer_order_id = attributes.get(order_key)
    if business_unit_id is None or customer_order_id is None:
        return None
    return OrderRef(business_unit_id, customer_order_id)


def _received_at(attributes: Mapping[str, str]) -> datetime | None:
    raw = attributes.get(_keys(attributes)[2])
    if raw is None:
        return None
    try:
        return parse_timestamp(raw)
    except ValueError:
        return None


def _delivery_count(attributes: Mapping[str, str]) -> int | None:
    try:
        return int(attributes[DELIVERY_COUNT])
    except (KeyError, ValueError):
        return None


def _decoded(
    data: bytes, attributes: Mapping[str, str], message_id: str, source: Source | None
) -> tuple[PushedMessage | None, str | None]:
    """The processor's message and why replaying it cannot succeed (None when it can)."""
    if source is None:
        # An event of ours is always worth delivering again; a damaged one never.
        try:
            events.decode_event(data, attributes)
        except UndecodableMessage as exc:
            return None, f"not an order event of this service: {exc}"
        return None, None
    # The same checks the processor applies to a push from that topic: what fails here
    # fails there again.
    try:
        message = decode_message(data, attributes, message_id, source)
    except UndecodableMessage as exc:
        return None, f"undecodable: {exc}"
    if not isinstance(message, OrderMessage):
        return message, None
    refusal = unstorable_reason(message, content_of_body(message.body, message.business_unit_id))
    return message, f"cannot be stored: {refusal}" if refusal else None
