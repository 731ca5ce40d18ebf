"""The Pub/Sub messages of the orders topic, and their decoding on the processor side.

Two kinds, told apart by the ``kind`` attribute (absent on an order, which is what
every release before pickups published):

**An accepted order** (no ``kind``), published by ingest:

data:          the PUT body exactly as the OMS sent it
attributes:    ``businessUnitId``, ``customerOrderId``, ``receivedAt`` (RFC 3339, UTC, µs),
               ``customerId`` and ``status`` (projected from the body), ``bodySha256``
               (hex SHA-256 of the data), ``correlationId``, and ``sourceVersion``
               (decimal) when the PUT carried one
ordering key:  ``{businessUnitId}/{customerOrderId}``

**A pickup** (``kind=pickup``), published by the POS function before it stores the
pickup, so that a pickup whose function died before or after its write is still
stored and announced by the processor:

data:          empty
attributes:    ``kind``, ``businessUnitId``, ``customerOrderId``, ``pickedUpAt``, ``correlationId``
ordering key:  the order's, as above

Ingest validated the body before it published it, so the processor does not
parse it again: it takes the projections from the attributes and checks the
digest, which catches a message whose data was changed on the way (a hand-made
or damaged replay) before anything is stored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.domain.addresses import ordering_key
from shared.domain.conflict import Version, parse_source_version
from shared.domain.ids import validate_id
from shared.domain.timestamps import format_timestamp, parse_timestamp
from shared.errors import InvalidId, InvalidSourceVersion, UndecodableMessage

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
PICKED_UP_AT = "pickedUpAt"


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
    business_unit_id: str
    customer_order_id: str
    # The pickup's version's receivedAt (shared.domain.conflict.pickup_version).
    picked_up_at: datetime
    correlation_id: str = ""
    message_id: str = field(default="", compare=False)

    @property
    def ordering_key(self) -> str:
        return ordering_key(self.business_unit_id, self.customer_order_id)

    @property
    def data(self) -> bytes:
        return b""

    @property
    def attributes(self) -> dict[str, str]:
        attributes = {
            KIND: PICKUP_KIND,
            BUSINESS_UNIT_ID: self.business_unit_id,
            CUSTOMER_ORDER_ID: self.customer_order_id,
            PICKED_UP_AT: format_timestamp(self.picked_up_at),
        }
        if self.correlation_id:
            attributes[CORRELATION_ID] = self.correlation_id
        return attributes


OrdersTopicMessage = OrderMessage | PickupMessage


def decode_message(
    data: bytes, attributes: Mapping[str, str], message_id: str
) -> OrdersTopicMessage:
    """Rebuild a message of either kind; raises :class:`UndecodableMessage` when it cannot be."""
    kind = attributes.get(KIND)
    if kind is None:
        return decode_order(data, attributes, message_id)
    if kind == PICKUP_KIND:
        return _decode_pickup(attributes, message_id)
    raise UndecodableMessage(f"attribute {KIND} {str(kind)[:40]!r} is not {PICKUP_KIND!r}")


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


def decode_push_data(event_data: Mapping[str, Any], message_id: str) -> OrdersTopicMessage:
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
    return decode_message(data, attributes, message_id)
