"""The order as GET, the search and every event show it: the OMS's body plus the store's record.

The OMS's members are shown as it sent them, in its order, with its numbers spelled
as it spelled them (``10.10`` stays ``10.10``); the store's record adds or replaces
only the members a store owns (docs/design.md#the-order-as-shown):

- ``customerOrder.fulfillments[].status``, once the store set one;
- ``customerOrder.fulfillments[].items[].readyQuantity`` and ``pickedUpQuantity``;
- ``customerOrder.tenders``, once the store took one.

An order sent without fulfillments shows its implicit one
(:data:`~shared.domain.fulfillments.IMPLICIT_FULFILLMENT_ID`) once the store has
recorded something. Until then, and always for an order no store touched, the body
is answered byte for byte. Store-owned members an OMS sends (an echo of an event)
are kept in its body as sent and shown only where the store has no record of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from shared.domain.fulfillments import (
    FULFILLMENTS_MEMBER,
    ORDER_MEMBER,
    Fulfillment,
    quantity_text,
)
from shared.domain.store_state import FulfillmentState, StoreState
from shared.errors import MalformedJson

STATUS_MEMBER = "status"
READY_QUANTITY_MEMBER = "readyQuantity"
PICKED_UP_QUANTITY_MEMBER = "pickedUpQuantity"
TENDERS_MEMBER = "tenders"


class Number(str):
    """A JSON number kept as the text it was written as."""

    __slots__ = ()


def _number(text: str) -> Number:
    return Number(text)


def parse_spelled(raw: bytes) -> Any:
    """JSON whose numbers are kept as :class:`Number` text; :class:`MalformedJson` otherwise."""
    parse: Callable[[str], Any] = _number
    try:
        return json.loads(raw, parse_int=parse, parse_float=parse, parse_constant=parse)
    except RecursionError:
        raise MalformedJson("JSON is nested deeper than this parse can go") from None
    except ValueError as exc:
        raise MalformedJson(str(exc)) from None


def dump_spelled(value: Any) -> bytes:
    """Compact JSON of what :func:`parse_spelled` made, each :class:`Number` as written."""
    parts: list[str] = []
    _write(value, parts)
    # A lone surrogate (a \\ud800 escape, or invalid UTF-8 of a hand-made message, which
    # json.loads decodes with surrogatepass) stands in a string: written as its escape.
    return "".join(parts).encode("utf-8", "backslashreplace")


def _write(value: Any, parts: list[str]) -> None:
    # Nesting is bounded by the door (shared.domain.limits.MAX_JSON_NESTING): recursion is safe.
    if isinstance(value, Number):
        parts.append(str.__str__(value))
    elif isinstance(value, str):
        parts.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, dict):
        parts.append("{")
        for index, (name, member) in enumerate(value.items()):
            if index:
                parts.append(",")
            parts.append(json.dumps(name, ensure_ascii=False))
            parts.append(":")
            _write(member, parts)
        parts.append("}")
    elif isinstance(value, list):
        parts.append("[")
        for index, member in enumerate(value):
            if index:
                parts.append(",")
            _write(member, parts)
        parts.append("]")
    else:
        # True, False and None.
        parts.append(json.dumps(value))


def order_view(body: bytes, state: StoreState, fulfillments: Sequence[Fulfillment]) -> bytes:
    """The body with the store's record in it; the body itself while the record is empty."""
    if state.is_empty:
        return body
    try:
        document = parse_spelled(body)
        order = document[ORDER_MEMBER]
    except (MalformedJson, KeyError, TypeError):
        # Not an order this service could have stored; shown as it is.
        return body
    if not isinstance(order, dict):
        return body
    sent = order.get(FULFILLMENTS_MEMBER)
    if isinstance(sent, list) and not any(f.implicit for f in fulfillments):
        for entry in sent:
            if isinstance(entry, dict) and isinstance(entry.get("fulfillmentId"), str):
                _show_state(entry, state.fulfillment(entry["fulfillmentId"]))
    else:
        order[FULFILLMENTS_MEMBER] = [
            _implicit_entry(fulfillment, state.fulfillment(fulfillment.fulfillment_id))
            for fulfillment in fulfillments
        ]
    if state.tenders:
        order[TENDERS_MEMBER] = [
            {
                "tenderId": tender.tender_id,
                "amount": Number(tender.amount),
                "method": tender.method,
            }
            for tender in state.tenders
        ]
    return dump_spelled(document)


def _show_state(entry: dict[str, Any], state: FulfillmentState) -> None:
    if state.status is not None:
        entry[STATUS_MEMBER] = state.status
    items = entry.get("items")
    if not isinstance(items, list):
        return
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("itemId"), str):
            recorded = state.item(item["itemId"])
            item[READY_QUANTITY_MEMBER] = Number(quantity_text(recorded.ready))
            item[PICKED_UP_QUANTITY_MEMBER] = Number(quantity_text(recorded.picked_up))


def _implicit_entry(fulfillment: Fulfillment, state: FulfillmentState) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "fulfillmentId": fulfillment.fulfillment_id,
        "deliveryType": fulfillment.delivery_type,
        "businessUnitId": fulfillment.business_unit_id,
        "items": [
            {"itemId": item.item_id, "quantity": Number(quantity_text(item.quantity))}
            for item in fulfillment.items
        ],
    }
    _show_state(entry, state)
    return entry
