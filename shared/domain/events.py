"""The events of stored versions: CloudEvents 1.0 in the binary mode of the Pub/Sub binding.

Each stored version of an order becomes one event on the events topic, with the
order's ordering key. Its data is the stored body, byte for byte; its context
attributes travel as message attributes named ``ce-<attribute>`` and the data's
media type as ``Content-Type`` (the CloudEvents Pub/Sub protocol binding, 3.1). A
push subscription with payload unwrapping and ``write_metadata`` turns the message
into an HTTP request whose body is the data and whose headers are those
attributes: the CloudEvents HTTP binding's binary mode, which any CloudEvents SDK
reads.

The ``id`` is derived from the order, its version and the event's type, so the
same version always makes the same event: a consumer drops repeats by ``id``.

Five types. ``created`` and ``updated`` announce a stored OMS version (the first, a
later one); ``ready-for-pickup`` and ``picked-up`` a store update (items readied;
items handed out, the whole order or a part of it), whose ``updateid`` the event
carries and whose id it is derived from. ``cancellation-refused`` announces an OMS
version that was *not* stored because it would cancel what was handed out (the
order, an item, or some of its quantity). Its data is the order as stored, and its
``time``, ``sourceversion`` and ``correlationid`` are the refused version's, so that
the OMS can tell which of its PUTs was refused; its ``id`` is derived from that version.

Every event's data is the order as shown (:mod:`shared.domain.order_view`): the OMS's
body as sent, with the store's record in it, as stored when the event was published
(docs/oms.md#the-events-you-receive).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.domain.addresses import collection_location, ordering_key
from shared.domain.conflict import Version, parse_source_version
from shared.domain.fulfillments import Fulfillment, pickup_stores
from shared.domain.limits import PUBSUB_MAX_ATTRIBUTE_VALUE_BYTES
from shared.domain.store_state import LEGACY_PICKUP_ID, UpdateRef
from shared.domain.stored_order import OrderRecord
from shared.domain.timestamps import format_timestamp, parse_timestamp
from shared.errors import InvalidSourceVersion, UndecodableMessage

SPEC_VERSION = "1.0"
DATA_CONTENT_TYPE = "application/json"

CREATED = "customer-order.created"
UPDATED = "customer-order.updated"
READY_FOR_PICKUP = "customer-order.ready-for-pickup"
PICKED_UP = "customer-order.picked-up"
CANCELLATION_REFUSED = "customer-order.cancellation-refused"
TYPES = (CREATED, UPDATED, READY_FOR_PICKUP, PICKED_UP, CANCELLATION_REFUSED)
# The type of each kind of store update's event.
STORE_UPDATE_TYPES = {"ready": READY_FOR_PICKUP, "pickup": PICKED_UP}

# The Pub/Sub attributes of an event (ce- and the extension attributes' names: lowercase
# letters and digits, at most 20 characters, as CloudEvents asks).
SPECVERSION_ATTRIBUTE = "ce-specversion"
ID_ATTRIBUTE = "ce-id"
TYPE_ATTRIBUTE = "ce-type"
SOURCE_ATTRIBUTE = "ce-source"
SUBJECT_ATTRIBUTE = "ce-subject"
TIME_ATTRIBUTE = "ce-time"
CONTENT_TYPE_ATTRIBUTE = "Content-Type"
BUSINESS_UNIT_ATTRIBUTE = "ce-businessunitid"
SOURCE_VERSION_ATTRIBUTE = "ce-sourceversion"
CORRELATION_ID_ATTRIBUTE = "ce-correlationid"
PICKED_UP_AT_ATTRIBUTE = "ce-pickedupat"
UPDATE_ID_ATTRIBUTE = "ce-updateid"

# Pub/Sub's bound on a subscription filter, which cannot change once the subscription exists.
MAX_FILTER_BYTES = 256
_ID_HEX_DIGITS = 32


@dataclass(frozen=True, slots=True)
class OrderEvent:
    type: str
    business_unit_id: str
    customer_order_id: str
    # The version's receivedAt.
    time: datetime
    data: bytes
    source_version: int | None
    correlation_id: str
    # Set on every event of an order once a store handed something out: the last time.
    picked_up_at: datetime | None = None
    # The store update a ready-for-pickup or picked-up event announces.
    update_id: str | None = None
    # The stores the order's fulfillments are picked up at (its business unit aside).
    stores: frozenset[str] = frozenset()

    @property
    def id(self) -> str:
        if self.update_id is not None and self.update_id != LEGACY_PICKUP_ID:
            return update_event_id(
                self.type, self.business_unit_id, self.customer_order_id, self.update_id
            )
        # An OMS version's event, or a pickup of the release before fulfillments (which was
        # a version of its own), with the id that release gave it.
        return event_id(
            self.type,
            self.business_unit_id,
            self.customer_order_id,
            Version(self.time, self.source_version),
        )

    @property
    def source(self) -> str:
        return collection_location(self.business_unit_id)

    @property
    def ordering_key(self) -> str:
        return ordering_key(self.business_unit_id, self.customer_order_id)

    @property
    def attributes(self) -> dict[str, str]:
        attributes = {
            SPECVERSION_ATTRIBUTE: SPEC_VERSION,
            ID_ATTRIBUTE: self.id,
            TYPE_ATTRIBUTE: self.type,
            SOURCE_ATTRIBUTE: self.source,
            SUBJECT_ATTRIBUTE: self.customer_order_id,
            TIME_ATTRIBUTE: format_timestamp(self.time),
            CONTENT_TYPE_ATTRIBUTE: DATA_CONTENT_TYPE,
            BUSINESS_UNIT_ATTRIBUTE: self.business_unit_id,
        }
        if self.source_version is not None:
            attributes[SOURCE_VERSION_ATTRIBUTE] = str(self.source_version)
        if self.correlation_id:
            attributes[CORRELATION_ID_ATTRIBUTE] = self.correlation_id
        if self.picked_up_at is not None:
            attributes[PICKED_UP_AT_ATTRIBUTE] = format_timestamp(self.picked_up_at)
        if self.update_id is not None:
            attributes[UPDATE_ID_ATTRIBUTE] = self.update_id
        attributes.update(store_attributes({self.business_unit_id, *self.stores}))
        return attributes

    def __str__(self) -> str:
        return f"{self.type} id={self.id} {Version(self.time, self.source_version)}"


def event_id(type_: str, business_unit_id: str, customer_order_id: str, version: Version) -> str:
    """The same for every event of one version of one order, and of one type."""
    source = "" if version.source_version is None else str(version.source_version)
    identity = "\n".join(
        (type_, business_unit_id, customer_order_id, source, format_timestamp(version.received_at))
    )
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:_ID_HEX_DIGITS]


def update_event_id(
    type_: str, business_unit_id: str, customer_order_id: str, update_id: str
) -> str:
    """The same for every event of one store update of one order."""
    identity = "\n".join((type_, business_unit_id, customer_order_id, "update", update_id))
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:_ID_HEX_DIGITS]


def order_event(
    record: OrderRecord, fulfillments: Sequence[Fulfillment] | None = None
) -> OrderEvent:
    """The event of a stored OMS version: created for an order's first, updated for the others.

    ``fulfillments`` are the record's, when the caller has them already.
    """
    fulfillments = record.fulfillments() if fulfillments is None else fulfillments
    return OrderEvent(
        type=CREATED if record.is_first_version else UPDATED,
        business_unit_id=record.business_unit_id,
        customer_order_id=record.customer_order_id,
        time=record.received_at,
        data=record.view(fulfillments),
        source_version=record.source_version,
        correlation_id=record.correlation_id,
        picked_up_at=record.picked_up_at,
        stores=pickup_stores(fulfillments),
    )


def store_update_event(
    record: OrderRecord,
    update: UpdateRef | None = None,
    fulfillments: Sequence[Fulfillment] | None = None,
) -> OrderEvent:
    """The event of a store update of the order (its last one when ``update`` is None):
    ready-for-pickup or picked-up, with the order as stored now."""
    update = update or record.store_state.last_update
    if update is None:
        raise ValueError("the order has no store update to announce")
    fulfillments = record.fulfillments() if fulfillments is None else fulfillments
    return OrderEvent(
        type=STORE_UPDATE_TYPES[update.kind],
        business_unit_id=record.business_unit_id,
        customer_order_id=record.customer_order_id,
        time=update.recorded_at,
        data=record.view(fulfillments),
        source_version=record.source_version,
        correlation_id=update.correlation_id,
        picked_up_at=record.picked_up_at,
        update_id=update.update_id,
        stores=pickup_stores(fulfillments),
    )


def state_event(record: OrderRecord) -> OrderEvent:
    """The event of the change that made the order's current state, whoever made it."""
    if record.last_store_update is not None:
        return store_update_event(record)
    return order_event(record)


def refusal_event(stored: OrderRecord, refused: Version, refused_correlation_id: str) -> OrderEvent:
    """The event telling the OMS that its version ``refused`` would cancel what was handed out."""
    fulfillments = stored.fulfillments()
    return OrderEvent(
        type=CANCELLATION_REFUSED,
        business_unit_id=stored.business_unit_id,
        customer_order_id=stored.customer_order_id,
        time=refused.received_at,
        data=stored.view(fulfillments),
        source_version=refused.source_version,
        correlation_id=refused_correlation_id,
        picked_up_at=stored.picked_up_at,
        stores=pickup_stores(fulfillments),
    )


def source_violation(business_unit_id: str) -> str | None:
    """Why a business unit's events could not carry their ``source``, or ``None``."""
    size = len(collection_location(business_unit_id).encode("ascii"))
    if size > PUBSUB_MAX_ATTRIBUTE_VALUE_BYTES:
        return (
            f"percent-encoded in {collection_location('{businessUnitId}')} it is {size} bytes, "
            f"over the {PUBSUB_MAX_ATTRIBUTE_VALUE_BYTES} bytes of the Pub/Sub attribute "
            "that carries its events' source"
        )
    return None


def decode_event(data: bytes, attributes: Mapping[str, str]) -> OrderEvent:
    """An event from its Pub/Sub message; :class:`UndecodableMessage` when it is not one of ours."""
    try:
        if attributes[SPECVERSION_ATTRIBUTE] != SPEC_VERSION:
            raise UndecodableMessage(f"{SPECVERSION_ATTRIBUTE} is not {SPEC_VERSION}")
        source = attributes.get(SOURCE_VERSION_ATTRIBUTE)
        picked_up_at = attributes.get(PICKED_UP_AT_ATTRIBUTE)
        update_id = attributes.get(UPDATE_ID_ATTRIBUTE)
        business_unit_id = attributes[BUSINESS_UNIT_ATTRIBUTE]
        event = OrderEvent(
            type=attributes[TYPE_ATTRIBUTE],
            business_unit_id=business_unit_id,
            customer_order_id=attributes[SUBJECT_ATTRIBUTE],
            time=parse_timestamp(attributes[TIME_ATTRIBUTE]),
            data=data,
            source_version=None if source is None else parse_source_version(source),
            correlation_id=attributes.get(CORRELATION_ID_ATTRIBUTE, ""),
            picked_up_at=None if picked_up_at is None else parse_timestamp(picked_up_at),
            update_id=update_id,
            stores=frozenset(
                value
                for key, value in attributes.items()
                if key.startswith(STORE_ATTRIBUTE_PREFIX) and value != business_unit_id
            ),
        )
    except KeyError as exc:
        raise UndecodableMessage(f"attribute {exc.args[0]} is missing") from None
    except InvalidSourceVersion as exc:
        raise UndecodableMessage(str(exc)) from None
    except ValueError as exc:
        raise UndecodableMessage(f"a time attribute is not RFC 3339: {exc}") from None
    if event.type not in TYPES:
        raise UndecodableMessage(f"{TYPE_ATTRIBUTE} {event.type!r} is none of {', '.join(TYPES)}")
    if attributes.get(ID_ATTRIBUTE) != event.id:
        raise UndecodableMessage(
            f"{ID_ATTRIBUTE} is not the id of this order's version: it was changed on the way"
        )
    return event


def is_event(attributes: Mapping[str, str]) -> bool:
    """Whether a message's attributes are those of an event (rather than an order message)."""
    return SPECVERSION_ATTRIBUTE in attributes


# --- A store's events: the stores an order concerns (docs/platform.md#pubsub-subscription-filters)
#
# A filter reads attributes only, and one attribute holds one value: an order picked up at
# several stores cannot say all of them in ce-businessunitid. So each store an event
# concerns gets an attribute of its own, whose KEY names the store: a webhook's filter asks
# whether the key is there (``attributes:KEY``). The key is a digest of the business unit
# id, so that any id (up to 511 bytes, any characters) makes a key of 19 bytes that is
# also a valid HTTP header name (payload unwrapping turns attributes into headers), and
# every unit costs a filter the same 30 bytes: seven units per webhook, whatever their ids.
STORE_ATTRIBUTE_PREFIX = "bu-"
_STORE_KEY_HEX_DIGITS = 16
# Pub/Sub allows 100 attributes a message; the CloudEvents ones take about a dozen.
MAX_STORE_ATTRIBUTES = 50
_STORE_FILTER_JOIN = " OR "


def store_attribute(business_unit_id: str) -> str:
    """The attribute key that says an event concerns ``business_unit_id``.

    ``terraform/webhooks.tf`` computes the same: ``"bu-${substr(sha256(unit), 0, 16)}"``.
    """
    digest = hashlib.sha256(business_unit_id.encode("utf-8")).hexdigest()
    return STORE_ATTRIBUTE_PREFIX + digest[:_STORE_KEY_HEX_DIGITS]


def store_attributes(business_unit_ids: Iterable[str]) -> dict[str, str]:
    """One attribute per business unit an event concerns: its key names the unit, its value
    is the unit's id (for a reader of the headers).

    The units are the order's path business unit and every store a fulfillment of it is
    to be picked up at. ``ValueError`` beyond :data:`MAX_STORE_ATTRIBUTES` (the PUT must
    refuse such an order first, with a 422).
    """
    units = sorted(set(business_unit_ids))
    if len(units) > MAX_STORE_ATTRIBUTES:
        raise ValueError(
            f"an event can name at most {MAX_STORE_ATTRIBUTES} business units, not {len(units)}"
        )
    return {store_attribute(unit): unit for unit in units}


def store_filter(business_units: Sequence[str]) -> str | None:
    """The Pub/Sub filter delivering the events that concern any of these business units;
    ``None`` for every event. ``terraform/webhooks.tf`` builds the same (a test compares)."""
    if not business_units:
        return None
    expression = _STORE_FILTER_JOIN.join(
        f"attributes:{store_attribute(unit)}" for unit in dict.fromkeys(business_units)
    )
    size = len(expression.encode("ascii"))
    if size > MAX_FILTER_BYTES:
        raise ValueError(
            f"the filter for {len(business_units)} business units is {size} bytes, over "
            f"Pub/Sub's {MAX_FILTER_BYTES} (at most {MAX_STORES_PER_FILTER} units): split them "
            "over several webhooks"
        )
    return expression


# Each unit's term is "attributes:" (11) + its key (19), joined by " OR " (4).
_STORE_TERM_BYTES = len("attributes:") + len(STORE_ATTRIBUTE_PREFIX) + _STORE_KEY_HEX_DIGITS
MAX_STORES_PER_FILTER = (MAX_FILTER_BYTES + len(_STORE_FILTER_JOIN)) // (
    _STORE_TERM_BYTES + len(_STORE_FILTER_JOIN)
)
