"""The body of a pickup version: the stored order, picked up.

The pickup is a version of the order with the same schema as the PUT, so every
consumer of order events reads it as it reads the OMS's: the stored body with the
picked-up status and the pickup's time as ``customerOrder.pickedUpAt`` (a member
the schema allows, since it keeps unknown members). The body is parsed and encoded
again, compactly: values are kept, numbers as the doubles the schema makes of them,
but not the OMS's spacing or number spelling (``1.50`` becomes ``1.5``).
"""

from __future__ import annotations

from datetime import datetime

from shared.domain.jsonbody import dump_json, parse_accepted_json
from shared.domain.timestamps import format_timestamp
from shared.errors import MalformedJson, Unpickable

ORDER_MEMBER = "customerOrder"
STATUS_MEMBER = "status"
PICKED_UP_AT_MEMBER = "pickedUpAt"


def picked_up_body(body: bytes, status: str, picked_up_at: datetime) -> bytes:
    """``body`` with ``status`` and ``pickedUpAt``; :class:`Unpickable` when it cannot be."""
    try:
        document = parse_accepted_json(body)
    except MalformedJson as exc:
        # Stored by a hand-made message, or nested deeper than a parse here can go.
        raise Unpickable(f"the stored body cannot be parsed: {exc}") from None
    order = document.get(ORDER_MEMBER) if isinstance(document, dict) else None
    if not isinstance(order, dict):
        raise Unpickable(f"the stored body holds no {ORDER_MEMBER} object")
    order[STATUS_MEMBER] = status
    order[PICKED_UP_AT_MEMBER] = format_timestamp(picked_up_at)
    try:
        return dump_json(document)
    except ValueError as exc:
        # A number of a member the schema does not know, past a double's range: JSON
        # without it cannot be written.
        raise Unpickable(f"the stored body cannot be encoded again: {exc}") from None
