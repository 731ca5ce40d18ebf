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
import re
import secrets
from collections.abc import Sequence
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


_NONCE_BYTES = 12
_MARKER = re.compile(rf'"([0-9a-f]{{{2 * _NONCE_BYTES}}}):([0-9]+)"')


class SpelledJson:
    """JSON parsed and written again with every number spelled as it was.

    Python's parser reads numbers as ints and floats (``10.10`` becomes ``10.1``). Here
    each number is read as a marker string naming its text, unguessable (a random nonce
    per document), so that the C encoder writes the document and one substitution puts
    the numbers' texts back where their markers are.
    """

    def __init__(self) -> None:
        self._nonce = secrets.token_hex(_NONCE_BYTES)
        self._texts: list[str] = []

    def number(self, text: str) -> str:
        """The marker that writes ``text`` as a JSON number."""
        self._texts.append(text)
        return f"{self._nonce}:{len(self._texts) - 1}"

    def text_of(self, value: Any) -> str | None:
        """The spelling of a number's marker; ``None`` for anything else."""
        if isinstance(value, str) and value.startswith(f"{self._nonce}:"):
            return self._texts[int(value.rpartition(":")[2])]
        return None

    def parse(self, raw: bytes) -> Any:
        """The document, its numbers as markers; :class:`MalformedJson` when it is not JSON."""
        try:
            return json.loads(
                raw, parse_int=self.number, parse_float=self.number, parse_constant=self.number
            )
        except RecursionError:
            raise MalformedJson("JSON is nested deeper than this parse can go") from None
        except ValueError as exc:
            raise MalformedJson(str(exc)) from None

    def dump(self, value: Any) -> bytes:
        """Compact JSON of ``value``, each marker written as its number."""
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        # A lone surrogate (a \\ud800 escape, or invalid UTF-8 of a hand-made message, which
        # json.loads decodes with surrogatepass) stands in a string: written as its escape.
        return _MARKER.sub(self._spelling, text).encode("utf-8", "backslashreplace")

    def _spelling(self, found: re.Match[str]) -> str:
        if found[1] != self._nonce:
            # A string of the document that looks like a marker of another: kept as it was.
            return found[0]
        return self._texts[int(found[2])]


def order_view(body: bytes, state: StoreState, fulfillments: Sequence[Fulfillment]) -> bytes:
    """The body with the store's record in it; the body itself while the record is empty."""
    if state.is_empty:
        return body
    spelled = SpelledJson()
    try:
        document = spelled.parse(body)
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
                _show_state(entry, state.fulfillment(entry["fulfillmentId"]), spelled)
    else:
        order[FULFILLMENTS_MEMBER] = [
            _implicit_entry(fulfillment, state.fulfillment(fulfillment.fulfillment_id), spelled)
            for fulfillment in fulfillments
        ]
    if state.tenders:
        order[TENDERS_MEMBER] = [
            {
                "tenderId": tender.tender_id,
                "amount": spelled.number(tender.amount),
                "method": tender.method,
            }
            for tender in state.tenders
        ]
    return spelled.dump(document)


def _show_state(entry: dict[str, Any], state: FulfillmentState, spelled: SpelledJson) -> None:
    if state.status is not None:
        entry[STATUS_MEMBER] = state.status
    items = entry.get("items")
    if not isinstance(items, list):
        return
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("itemId"), str):
            recorded = state.item(item["itemId"])
            item[READY_QUANTITY_MEMBER] = spelled.number(quantity_text(recorded.ready))
            item[PICKED_UP_QUANTITY_MEMBER] = spelled.number(quantity_text(recorded.picked_up))


def _implicit_entry(
    fulfillment: Fulfillment, state: FulfillmentState, spelled: SpelledJson
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "fulfillmentId": fulfillment.fulfillment_id,
        "deliveryType": fulfillment.delivery_type,
        "businessUnitId": fulfillment.business_unit_id,
        "items": [
            {"itemId": item.item_id, "quantity": spelled.number(quantity_text(item.quantity))}
            for item in fulfillment.items
        ],
    }
    _show_state(entry, state, spelled)
    return entry
