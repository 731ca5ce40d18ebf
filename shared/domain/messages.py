"""The Pub/Sub message format of an accepted order, and its decoding on the processor side.

data:          the validated PUT body as compact UTF-8 JSON, ``{"customerOrder": {...}}``
attributes:    ``businessUnitId``, ``customerOrderId``, ``receivedAt`` (RFC 3339, UTC, µs)
ordering key:  ``{businessUnitId}/{customerOrderId}``
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from shared.domain.addresses import ordering_key
from shared.domain.ids import validate_id
from shared.domain.jsonbody import dump_json, parse_json
from shared.domain.model import validate_document
from shared.domain.timestamps import format_timestamp, parse_timestamp
from shared.errors import InvalidId, MalformedJson, UndecodableMessage

BUSINESS_UNIT_ID = "businessUnitId"
CUSTOMER_ORDER_ID = "customerOrderId"
RECEIVED_AT = "receivedAt"


@dataclass(frozen=True, slots=True)
class OrderMessage:
    business_unit_id: str
    customer_order_id: str
    received_at: datetime
    customer_order: dict[str, Any]
    # Set by Pub/Sub; empty until the message has been published.
    message_id: str = field(default="", compare=False)

    @property
    def ordering_key(self) -> str:
        return ordering_key(self.business_unit_id, self.customer_order_id)

    @property
    def data(self) -> bytes:
        return dump_json({"customerOrder": self.customer_order})

    @property
    def attributes(self) -> dict[str, str]:
        return {
            BUSINESS_UNIT_ID: self.business_unit_id,
            CUSTOMER_ORDER_ID: self.customer_order_id,
            RECEIVED_AT: format_timestamp(self.received_at),
        }


def decode_message(data: bytes, attributes: Mapping[str, str], message_id: str) -> OrderMessage:
    """Rebuild an :class:`OrderMessage`; raises :class:`UndecodableMessage` when it cannot be."""
    try:
        business_unit_id = validate_id(attributes[BUSINESS_UNIT_ID], name=BUSINESS_UNIT_ID)
        customer_order_id = validate_id(attributes[CUSTOMER_ORDER_ID], name=CUSTOMER_ORDER_ID)
        received_at = parse_timestamp(attributes[RECEIVED_AT])
        body = parse_json(data)
        document = validate_document(body)
    except KeyError as exc:
        raise UndecodableMessage(f"attribute {exc.args[0]} is missing") from None
    except (InvalidId, MalformedJson) as exc:
        raise UndecodableMessage(str(exc)) from None
    except ValidationError as exc:
        raise UndecodableMessage(
            f"body is not a valid customer order: {exc.error_count()} errors"
        ) from None
    except ValueError as exc:
        raise UndecodableMessage(f"attribute {RECEIVED_AT} is not RFC 3339: {exc}") from None
    if document.customer_order.customer_order_id != customer_order_id:
        raise UndecodableMessage("body customerOrderId differs from the attribute")
    return OrderMessage(
        business_unit_id=business_unit_id,
        customer_order_id=customer_order_id,
        received_at=received_at,
        customer_order=body["customerOrder"],
        message_id=message_id,
    )


def decode_push_data(event_data: Mapping[str, Any], message_id: str) -> OrderMessage:
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
