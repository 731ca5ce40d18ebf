"""The Pub/Sub messages the processor stores, and their decoding on the processor side.

Two topics, each with its own publisher and its own push subscription to the
processor, which knows which one a push came from (docs/design.md#store-updates-and-their-messages):

**The orders topic**, published to by ingest alone: an accepted order (no ``kind``
attribute):

data:          the PUT body exactly as the OMS sent it
attributes:    ``businessUnitId``, ``customerOrderId``, ``receivedAt`` (RFC 3339, UTC, µs),
               ``customerId`` and ``status`` (projected from the body), ``bodySha256``
               (hex SHA-256 of the data), ``correlationId``, and ``sourceVersion``
               (decimal) when the PUT carried one
ordering key:  ``{businessUnitId}/{customerOrderId}``

It also carries, from the release before fulfillments, the POS function's pickups
(``kind=pickup``: empty data; ``businessUnitId``, ``customerOrderId``, ``pickedUpAt``,
``correlationId``), still completed when one is in flight or replayed from the dead
letters.

**The store-updates topic**, published to by the pos function alone, before it writes
the update (``kind=store-update``):

data:          JSON: ``updateId``, ``kind`` (ready or pickup), ``fulfillmentId``, ``items``,
               ``tenders``, ``legacy``, ``recordedAt``, ``caller`` and the ``basis`` the update
               was decided on (``sourceVersion``, ``receivedAt``, ``storeUpdates``)
attributes:    ``kind``, ``businessUnitId``, ``customerOrderId``, ``updateId``, ``correlationId``
ordering key:  the order's, as above

A message of either topic that is not of that topic's kinds is refused: the pos
function's identity cannot pass anything off as an OMS version.

Ingest validated the body before it published it, so the processor does not
parse it again: it takes the projections from the attributes and checks the
digest, which catches a message whose data was changed on the way (a hand-made
or damaged replay) before anything is stored.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.domain.addresses import ordering_key
from shared.domain.conflict import Version, parse_source_version
from shared.domain.fulfillments import quantity_text
from shared.domain.ids import update_id_violation, validate_id
from shared.domain.jsonbody import dump_json, parse_accepted_json
from shared.domain.store_updates import (
    Basis,
    RequestedItem,
    RequestedTender,
    StoreUpdate,
    UpdateKind,
)
from shared.domain.timestamps import format_timestamp, parse_timestamp
from shared.errors import (
    InvalidId,
    InvalidSourceVersion,
    MalformedJson,
    UndecodableMessage,
    one_line,
)

BUSINESS_UNIT_ID = "businessUnitId"
CUSTOMER_ORDER_ID = "customerOrderId"
RECEIVED_AT = "receivedAt"
CUSTOMER_ID = "customerId"
STATUS = "status"
BODY_SHA256 = "bodySha256"
SOURCE_VERSION = "sourceVersion"
CORRELATION_ID = "correlationId"
KIND = "kind"
PICKUP_KIND = "pickup"
STORE_UPDATE_KIND = "store-update"
PICKED_UP_AT = "pickedUpAt"
UPDATE_ID = "updateId"


class Source(enum.Enum):
    """The topic a pushed message came from, told by the subscription that pushed it."""

    ORDERS = "orders"
    STORE_UPDATES = "store-updates"


# The processor's path the store-updates subscription pushes to; the orders topic's pushes to /.
STORE_UPDATES_PUSH_PATH = "/store-updates"


def source_of_push_path(path: str) -> Source:
    """The topic whose subscription pushes to ``path`` of the processor."""
    return Source.STORE_UPDATES if path.rstrip("/") == STORE_UPDATES_PUSH_PATH else Source.ORDERS


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class OrderMessage:
    business_unit_id: str
    customer_order_id: str
    received_at: datetime
    body: bytes
    customer_id: str
    status: str
    body_sha256: str
    source_version: int | None = None
    # Messages published before correlation ids existed have none.
    correlation_id: str = ""
    # Set by Pub/Sub; empty until the message has been published.
    message_id: str = field(default="", compare=False)

    @classmethod
    def accepted(
        cls,
        business_unit_id: str,
        customer_order_id: str,
        received_at: datetime,
        body: bytes,
        *,
        customer_id: str,
        status: str,
        source_version: int | None = None,
        correlation_id: str = "",
    ) -> OrderMessage:
        """The message of a body ingest has validated."""
        return cls(
            business_unit_id,
            customer_order_id,
            received_at,
            body,
            customer_id,
            status,
            sha256_hex(body),
            source_version,
            correlation_id,
        )

    @property
    def version(self) -> Version:
        return Version(self.received_at, self.source_version)

    @property
    def ordering_key(self) -> str:
        return ordering_key(self.business_unit_id, self.customer_order_id)

    @property
    def data(self) -> bytes:
        return self.body

    @property
    def attributes(self) -> dict[str, str]:
        attributes = {
            BUSINESS_UNIT_ID: self.business_unit_id,
            CUSTOMER_ORDER_ID: self.customer_order_id,
            RECEIVED_AT: format_timestamp(self.received_at),
            CUSTOMER_ID: self.customer_id,
            STATUS: self.status,
            BODY_SHA256: self.body_sha256,
        }
        if self.correlation_id:
            attributes[CORRELATION_ID] = self.correlation_id
        if self.source_version is not None:
            attributes[SOURCE_VERSION] = str(self.source_version)
        return attributes


@dataclass(frozen=True, slots=True)
class PickupMessage:
    """A pickup the release before fulfillments published: the whole order, handed out."""

    business_unit_id: str
    customer_order_id: str
    # The pickup version's receivedAt of that release.
    picked_up_at: datetime
    correlation_id: str = ""
    message_id: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class StoreUpdateMessage:
    """A store update the pos function decided and is about to write."""

    business_unit_id: str
    customer_order_id: str
    update: StoreUpdate
    recorded_at: datetime
    basis: Basis
    correlation_id: str = ""
    # The identity of the store that sent it.
    caller: str = ""
    message_id: str = field(default="", compare=False)

    @property
    def ordering_key(self) -> str:
        return ordering_key(self.business_unit_id, self.customer_order_id)

    @property
    def data(self) -> bytes:
        update = self.update
        content: dict[str, Any] = {
            UPDATE_ID: update.update_id,
            "kind": update.kind.value,
            "fulfillmentId": update.fulfillment_id,
            "items": None
            if update.items is None
            else [
                {"itemId": item.item_id, "quantity": quantity_text(item.quantity)}
                for item in update.items
            ],
            "tenders": [
                {"tenderId": t.tender_id, "amount": t.amount, "method": t.method}
                for t in update.tenders
            ],
            "legacy": update.legacy,
            "recordedAt": format_timestamp(self.recorded_at),
            "caller": self.caller,
            "basis": {
                "sourceVersion": self.basis.version.source_version,
                "receivedAt": format_timestamp(self.basis.version.received_at),
                "storeUpdates": self.basis.store_updates,
            },
        }
        return dump_json(content)

    @property
    def attributes(self) -> dict[str, str]:
        attributes = {
            KIND: STORE_UPDATE_KIND,
            BUSINESS_UNIT_ID: self.business_unit_id,
            CUSTOMER_ORDER_ID: self.customer_order_id,
            UPDATE_ID: self.update.update_id,
        }
        if self.correlation_id:
            attributes[CORRELATION_ID] = self.correlation_id
        return attributes


# What the processor stores: an OMS version, a store update, or a pickup of the release before.
PushedMessage = OrderMessage | StoreUpdateMessage | PickupMessage
# What this release publishes.
PublishedMessage = OrderMessage | StoreUpdateMessage


def source_of(attributes: Mapping[str, str]) -> Source:
    """The topic a message of these attributes belongs on, by its kind (for the tools: the
    processor knows the topic from the subscription that pushed, never from the sender)."""
    return Source.STORE_UPDATES if attributes.get(KIND) == STORE_UPDATE_KIND else Source.ORDERS


def decode_message(
    data: bytes, attributes: Mapping[str, str], message_id: str, source: Source = Source.ORDERS
) -> PushedMessage:
    """Rebuild a message of one of ``source``'s kinds; :class:`UndecodableMessage` otherwise."""
    kind = attributes.get(KIND)
    if source is Source.STORE_UPDATES:
        if kind != STORE_UPDATE_KIND:
            raise UndecodableMessage(
                f"the store-updates topic carries only {KIND}={STORE_UPDATE_KIND!r}, not "
                f"{'an order' if kind is None else repr(str(kind)[:40])}: refused, whoever sent it"
            )
        return _decode_store_update(data, attributes, message_id)
    if kind is None:
        return decode_order(data, attributes, message_id)
    if kind == PICKUP_KIND:
        return _decode_pickup(attributes, message_id)
    raise UndecodableMessage(
        f"the orders topic carries orders and the pickups of the release before, not "
        f"{KIND}={str(kind)[:40]!r}"
    )


def _decode_store_update(
    data: bytes, attributes: Mapping[str, str], message_id: str
) -> StoreUpdateMessage:
    try:
        business_unit_id = validate_id(attributes[BUSINESS_UNIT_ID], name=BUSINESS_UNIT_ID)
        customer_order_id = validate_id(attributes[CUSTOMER_ORDER_ID], name=CUSTOMER_ORDER_ID)
    except KeyError as exc:
        raise UndecodableMessage(f"attribute {exc.args[0]} is missing") from None
    except InvalidId as exc:
        raise UndecodableMessage(str(exc)) from None
    try:
        content = parse_accepted_json(data)
        update_id = content[UPDATE_ID]
        reason = update_id_violation(update_id) if isinstance(update_id, str) else "not a string"
        if reason is not None:
            raise UndecodableMessage(f"{UPDATE_ID} {reason}")
        if attributes.get(UPDATE_ID) != update_id:
            raise UndecodableMessage(f"attribute {UPDATE_ID} is not the data's")
        items = content["items"]
        basis = content["basis"]
        source = basis["sourceVersion"]
        update = StoreUpdate(
            update_id=update_id,
            kind=UpdateKind(content["kind"]),
            fulfillment_id=_optional_text(content["fulfillmentId"]),
            items=None
            if items is None
            else tuple(
                RequestedItem(_text(item["itemId"]), _positive(item["quantity"])) for item in items
            ),
            tenders=tuple(
                RequestedTender(
                    _text(tender["tenderId"]), _text(tender["amount"]), _text(tender["method"])
                )
                for tender in content["tenders"]
            ),
            legacy=content["legacy"] is True,
        )
        return StoreUpdateMessage(
            business_unit_id=business_unit_id,
            customer_order_id=customer_order_id,
            update=update,
            recorded_at=parse_timestamp(_text(content["recordedAt"])),
            basis=Basis(
                Version(
                    parse_timestamp(_text(basis["receivedAt"])),
                    None if source is None else parse_source_version(str(source)),
                ),
                int(basis["storeUpdates"]),
            ),
            correlation_id=attributes.get(CORRELATION_ID, ""),
            caller=_optional_text(content.get("caller")) or "",
            message_id=message_id,
        )
    except UndecodableMessage:
        raise
    except (MalformedJson, KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise UndecodableMessage(f"not a store update: {one_line(exc)}") from None


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not a string")
    return value


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _positive(value: Any) -> Decimal:
    quantity = Decimal(_text(value))
    if not quantity.is_finite() or quantity <= 0:
        raise ValueError(f"quantity {value!r} is not positive")
    return quantity


def _decode_pickup(attributes: Mapping[str, str], message_id: str) -> PickupMessage:
    try:
        return PickupMessage(
            business_unit_id=validate_id(attributes[BUSINESS_UNIT_ID], name=BUSINESS_UNIT_ID),
            customer_order_id=validate_id(attributes[CUSTOMER_ORDER_ID], name=CUSTOMER_ORDER_ID),
            picked_up_at=parse_timestamp(attributes[PICKED_UP_AT]),
            correlation_id=attributes.get(CORRELATION_ID, ""),
            message_id=message_id,
        )
    except KeyError as exc:
        raise UndecodableMessage(f"attribute {exc.args[0]} is missing") from None
    except InvalidId as exc:
        raise UndecodableMessage(str(exc)) from None
    except ValueError as exc:
        raise UndecodableMessage(f"attribute {PICKED_UP_AT} is not RFC 3339: {exc}") from None


def decode_order(data: bytes, attributes: Mapping[str, str], message_id: str) -> OrderMessage:
    """Rebuild an :class:`OrderMessage`; raises :class:`UndecodableMessage` when it cannot be."""
    try:
        business_unit_id = validate_id(attributes[BUSINESS_UNIT_ID], name=BUSINESS_UNIT_ID)
        customer_order_id = validate_id(attributes[CUSTOMER_ORDER_ID], name=CUSTOMER_ORDER_ID)
        received_at = parse_timestamp(attributes[RECEIVED_AT])
        customer_id = attributes[CUSTOMER_ID]
        status = attributes[STATUS]
        claimed_sha256 = attributes[BODY_SHA256]
        source = attributes.get(SOURCE_VERSION)
        source_version = None if source is None else parse_source_version(source)
    except KeyError as exc:
        raise UndecodableMessage(f"attribute {exc.args[0]} is missing") from None
    except (InvalidId, InvalidSourceVersion) as exc:
        raise UndecodableMessage(str(exc)) from None
    except ValueError as exc:
        raise UndecodableMessage(f"attribute {RECEIVED_AT} is not RFC 3339: {exc}") from None
    if not data:
        raise UndecodableMessage("the message carries no body")
    body_sha256 = sha256_hex(data)
    if body_sha256 != claimed_sha256:
        raise UndecodableMessage(
            f"the data's SHA-256 is {body_sha256}, not the {BODY_SHA256} attribute's "
            f"{claimed_sha256[:80]!r}: it was changed after ingest accepted it"
        )
    return OrderMessage(
        business_unit_id=business_unit_id,
        customer_order_id=customer_order_id,
        received_at=received_at,
        body=data,
        customer_id=customer_id,
        status=status,
        body_sha256=body_sha256,
        source_version=source_version,
        correlation_id=attributes.get(CORRELATION_ID, ""),
        message_id=message_id,
    )


def decode_push_data(
    event_data: Mapping[str, Any], message_id: str, source: Source = Source.ORDERS
) -> PushedMessage:
    """Decode the ``data`` of the CloudEvent functions-framework makes of a push envelope."""
    message = event_data.get("message")
    if not isinstance(message, Mapping):
        raise UndecodableMessage("CloudEvent data carries no Pub/Sub message")
    attributes = message.get("attributes") or {}
    if not isinstance(attributes, Mapping):
        raise UndecodableMessage("message attributes are not a map")
    try:
        data = base64.b64decode(message.get("data") or "", validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise UndecodableMessage("message data is not base64") from None
    return decode_message(data, attributes, message_id, source)
