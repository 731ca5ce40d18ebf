"""Comparing an order as sent with the order as stored."""

from __future__ import annotations

from typing import Any

from shared.domain.fulfillments import FULFILLMENTS_MEMBER
from shared.domain.jsonbody import json_pointer
from shared.domain.order_view import (
    PICKED_UP_QUANTITY_MEMBER,
    READY_QUANTITY_MEMBER,
    STATUS_MEMBER,
    TENDERS_MEMBER,
)

_ITEM_STATE = (READY_QUANTITY_MEMBER, PICKED_UP_QUANTITY_MEMBER)


def first_difference(expected: Any, actual: Any, path: tuple[str | int, ...] = ()) -> str | None:
    """The JSON pointer of the first place ``actual`` differs from ``expected``, or ``None``.

    Numbers compare by value (another sender may spell ``2`` as ``2.0``), but a
    boolean never equals a number, nor a string anything else.
    """
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(expected.keys() | actual.keys()):
            if key not in expected or key not in actual:
                return json_pointer((*path, key))
            found = first_difference(expected[key], actual[key], (*path, key))
            if found is not None:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        for index, (left, right) in enumerate(zip(expected, actual, strict=False)):
            found = first_difference(left, right, (*path, index))
            if found is not None:
                return found
        if len(expected) != len(actual):
            return json_pointer((*path, min(len(expected), len(actual))))
        return None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return None if expected is actual else json_pointer(path)
    return None if expected == actual else json_pointer(path)


def oms_members(order: Any, *, sent_fulfillments: bool) -> Any:
    """``order`` without what a store records in it as shown (docs/design.md#the-order-as-shown):
    the tenders, each fulfillment's status and its items' ready and picked-up quantities,
    and the fulfillments shown for an order the OMS sent without any. What is left is the
    OMS's to compare; its digest (``OMS-Body-SHA256``) vouches for the rest."""
    if not isinstance(order, dict):
        return order
    kept = {key: value for key, value in order.items() if key != TENDERS_MEMBER}
    fulfillments = kept.get(FULFILLMENTS_MEMBER)
    if not sent_fulfillments:
        kept.pop(FULFILLMENTS_MEMBER, None)
    elif isinstance(fulfillments, list):
        kept[FULFILLMENTS_MEMBER] = [_without_state(entry) for entry in fulfillments]
    return kept


def _without_state(fulfillment: Any) -> Any:
    if not isinstance(fulfillment, dict):
        return fulfillment
    kept = {key: value for key, value in fulfillment.items() if key != STATUS_MEMBER}
    items = kept.get("items")
    if isinstance(items, list):
        kept["items"] = [
            {k: v for k, v in item.items() if k not in _ITEM_STATE}
            if isinstance(item, dict)
            else item
            for item in items
        ]
    return kept
