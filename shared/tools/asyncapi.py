"""The AsyncAPI 3.0 document of the order events, built from the code that makes them.

``make openapi`` writes it to ``docs/asyncapi.json`` with the OpenAPI documents; a test
fails when the committed file is stale, another validates real events against it, and the
AsyncAPI reference parser must accept it (tests/unit/test_apidocs.py). The payload is the
PUT body's schema (:mod:`shared.domain.model`); the headers are the CloudEvents attributes
:mod:`shared.domain.events` sets.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pydantic import TypeAdapter

from shared.config import DEFAULT_EVENTS_TOPIC
from shared.domain import events
from shared.domain.limits import MAX_CORRELATION_ID_BYTES, MAX_ID_BYTES, MAX_UPDATE_ID_BYTES
from shared.domain.model import CustomerOrderDocument
from shared.tools.functions import REPO_ROOT

ASYNCAPI_PATH = REPO_ROOT / "docs" / "asyncapi.json"
_REF = "#/components/schemas/{model}"

_DESCRIPTIONS = {
    events.CREATED: "The first version of an order the service stored.",
    events.UPDATED: "A later version of an order: a newer version the OMS sent.",
    events.READY_FOR_PICKUP: "A store readied items of a fulfillment for pickup (the POS's "
    ":ready, ce-updateid). The data is the order as stored: the OMS's members as sent, "
    "with each fulfillment's status and items' readyQuantity and pickedUpQuantity.",
    events.PICKED_UP: "A store handed items out, all of the order or a part of it (the POS's "
    ":pickup, ce-updateid), with the payments taken as customerOrder.tenders. The data is "
    "the order as stored; the OMS's status is not changed.",
    events.CANCELLATION_REFUSED: "The OMS sent a version that would cancel what a store "
    "handed out (the order, an item, or some of its quantity); pickup beats cancellation, "
    "so it was not stored. The data is the order as stored; time, sourceversion and "
    "correlationid are the refused version's.",
}


def _headers(event_type: str) -> dict[str, Any]:
    """The HTTP headers of a delivery: the CloudEvent's attributes, in binary mode."""
    return {
        "type": "object",
        "required": [
            events.SPECVERSION_ATTRIBUTE,
            events.ID_ATTRIBUTE,
            events.TYPE_ATTRIBUTE,
            events.SOURCE_ATTRIBUTE,
            events.SUBJECT_ATTRIBUTE,
            events.TIME_ATTRIBUTE,
            events.CONTENT_TYPE_ATTRIBUTE,
            events.BUSINESS_UNIT_ATTRIBUTE,
        ],
        "properties": {
            events.SPECVERSION_ATTRIBUTE: {"const": events.SPEC_VERSION},
            events.ID_ATTRIBUTE: {
                "type": "string",
                "pattern": "^[0-9a-f]{32}$",
                "description": "Derived from the type, the order and its version (of a store "
                "update's event, its updateId): the same for every delivery of this event, so "
                "drop repeats by it.",
            },
            events.TYPE_ATTRIBUTE: {"const": event_type},
            events.SOURCE_ATTRIBUTE: {
                "type": "string",
                "pattern": "^/business-units/[^/]+/customer-orders$",
                "description": "The business unit's orders, as the API addresses them "
                "(the unit percent-encoded).",
            },
            events.SUBJECT_ATTRIBUTE: {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_ID_BYTES,
                "description": "The customerOrderId.",
            },
            events.TIME_ATTRIBUTE: {
                "type": "string",
                "format": "date-time",
                "description": "The version's receivedAt: RFC 3339, UTC, microseconds "
                "(of a refused cancellation, the cancellation's; of a store update, when it "
                "was recorded).",
            },
            events.CONTENT_TYPE_ATTRIBUTE: {"const": events.DATA_CONTENT_TYPE},
            events.BUSINESS_UNIT_ATTRIBUTE: {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_ID_BYTES,
                "description": "The businessUnitId (a CloudEvents extension attribute).",
            },
            events.SOURCE_VERSION_ATTRIBUTE: {
                "type": "string",
                "pattern": "^[0-9]{1,19}$",
                "description": "The version's Source-Version, when the OMS sent one.",
            },
            events.CORRELATION_ID_ATTRIBUTE: {
                "type": "string",
                "pattern": f"^[\\x21-\\x7e]{{1,{MAX_CORRELATION_ID_BYTES}}}$",
                "description": "The Correlation-Id of the request that made this version "
                "or store update.",
            },
            events.UPDATE_ID_ATTRIBUTE: {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_UPDATE_ID_BYTES,
                "description": "The updateId of the store update a ready-for-pickup or "
                "picked-up event announces.",
            },
            events.PICKED_UP_AT_ATTRIBUTE: {
                "type": "string",
                "format": "date-time",
                "description": "When a store last handed items of the order out; on every "
                "event of an order once something is picked up.",
            },
        },
        "patternProperties": {
            f"^{events.STORE_ATTRIBUTE_PREFIX}[0-9a-f]{{16}}$": {
                "type": "string",
                "description": "One for each business unit the order concerns (its path's "
                "and each store a fulfillment is picked up at): the key is `bu-` and 16 hex "
                "digits of the SHA-256 of the unit's id, the value the id. A store's webhook "
                "filters by these keys.",
            }
        },
    }


def build_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document, deterministic so that the committed file can be compared."""
    order = TypeAdapter(CustomerOrderDocument).json_schema(by_alias=True, ref_template=_REF)
    definitions = order.pop("$defs", {})
    messages = {
        event_type: {
            "name": event_type,
            "title": event_type,
            "summary": _DESCRIPTIONS[event_type],
            "contentType": events.DATA_CONTENT_TYPE,
            "headers": _headers(event_type),
            "payload": {"$ref": _REF.format(model="CustomerOrderDocument")},
        }
        for event_type in events.TYPES
    }
    refs = [{"$ref": f"#/components/messages/{name}"} for name in messages]
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "customer-order-events: order events",
            "version": "1",
            "description": (
                "One CloudEvents 1.0 event for every version of a customer order the service "
                "stores, with the order as the data, byte for byte the body of its PUT (or "
                "the body the service made of it). Pub/Sub delivers each to every webhook "
                "subscribed in Terraform (`event_webhooks`) as an HTTP POST in CloudEvents "
                "binary mode: the body is the data, the attributes are `ce-` headers, with "
                "a Google-signed OIDC token whose audience names the webhook. At least once: "
                "drop repeats by `ce-id`. One order's events arrive in the order they were "
                "stored, one at a time; answer 2xx to acknowledge, anything else (or nothing "
                "within the timeout) to have it delivered again."
            ),
        },
        "channels": {
            "orderEvents": {
                "address": DEFAULT_EVENTS_TOPIC,
                "description": "The events topic; each webhook has a push subscription on it, "
                "filtered to its business units when it lists any.",
                "messages": dict(zip(messages, refs, strict=True)),
                # No googlepubsub channel binding: binding 0.2.0 requires schemaSettings,
                # the Pub/Sub schema a topic checks its messages against, and the events
                # topic has none (Pub/Sub schemas are Avro or Protocol Buffers; the data
                # is the order's JSON). The headers and payload above describe the message.
            }
        },
        "operations": {
            "receiveOrderEvent": {
                "action": "receive",
                "channel": {"$ref": "#/channels/orderEvents"},
                "summary": "A webhook receives an order event.",
                "messages": [
                    {"$ref": f"#/channels/orderEvents/messages/{name}"} for name in messages
                ],
            }
        },
        "components": {
            "schemas": {**definitions, "CustomerOrderDocument": order},
            "messages": messages,
        },
    }


def render() -> str:
    return json.dumps(build_document(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.tools.asyncapi",
        description="Write the order events' AsyncAPI document.",
    )
    parser.add_argument("--check", action="store_true", help="fail when the file is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = ASYNCAPI_PATH.read_text(encoding="utf-8") if ASYNCAPI_PATH.exists() else ""
        if current != text:
            print(f"{ASYNCAPI_PATH} is stale; run `make openapi`", file=sys.stderr)
            return 1
        return 0
    ASYNCAPI_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {ASYNCAPI_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
