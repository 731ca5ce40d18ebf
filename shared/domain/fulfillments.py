"""Fulfillments: the parts of an order the OMS assigns to a store or to the warehouse.

Hii Retail's "Store Updates": the OMS assigns each part of an order to a store
(pickup in store) or to the warehouse (home delivery), and a store updates only
the fulfillments assigned to it. The PUT carries them as
``customerOrder.fulfillments[]``, each ``{"fulfillmentId", "deliveryType",
"businessUnitId", "items": [{"itemId", "quantity"}]}`` (docs/oms.md#fulfillments).

An order sent without fulfillments (every order of the releases before, and every
OMS that never sends them) is one pickup fulfillment at its path's business unit
holding all its items: :data:`IMPLICIT_FULFILLMENT_ID`.

Quantities are compared exactly, as decimals: a JSON number is read as the shortest
decimal of the double the schema makes of it (``0.1`` is 0.1, not 0.1000000000000000055).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.domain.ids import id_violation, utf8_size
from shared.domain.jsonbody import FieldViolation
from shared.domain.limits import MAX_FULFILLMENT_STATUS_BYTES

PICKUP_STORE = "PICKUP_STORE"
HOME_DELIVERY_WAREHOUSE = "HOME_DELIVERY_WAREHOUSE"
# Extenda's published customer-order delivery options.
DELIVERY_TYPES = (PICKUP_STORE, HOME_DELIVERY_WAREHOUSE)
# The one fulfillment of an order sent without any: what a store update names when it
# names one, and what events and GET show once the store has recorded something.
IMPLICIT_FULFILLMENT_ID = "default"

ORDER_MEMBER = "customerOrder"
FULFILLMENTS_MEMBER = "fulfillments"
ZERO = Decimal(0)


def quantity_of(value: Any) -> Decimal:
    """The exact quantity of a JSON number as parsed (an int or a float); ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"{value!r} is not a number")
    try:
        # repr of a float is the shortest decimal that reads back as the same double.
        quantity = Decimal(value) if isinstance(value, int | Decimal) else Decimal(repr(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a finite number") from None
    if not quantity.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return quantity


def quantity_text(quantity: Decimal) -> str:
    """A quantity as a JSON number: ``2``, ``1.5``, never ``2.0`` nor ``1E+2``."""
    normalized = quantity.normalize()
    text = format(normalized, "f")
    return "0" if text in ("-0", "0") else text


@dataclass(frozen=True, slots=True)
class FulfillmentItem:
    item_id: str
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class Fulfillment:
    fulfillment_id: str
    delivery_type: str
    # The pickup store; None for the warehouse.
    business_unit_id: str | None
    items: tuple[FulfillmentItem, ...]
    # The status the OMS sent, if any: shown until the store sets its own.
    status: str | None = None
    # Made of an order sent without fulfillments, not sent by the OMS.
    implicit: bool = False

    @property
    def is_store_pickup(self) -> bool:
        return self.delivery_type == PICKUP_STORE and self.business_unit_id is not None

    def quantity(self, item_id: str) -> Decimal:
        """How many of ``item_id`` this fulfillment holds (its entries summed); zero for none."""
        return sum((item.quantity for item in self.items if item.item_id == item_id), ZERO)

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(item.item_id for item in self.items))


def ordered_quantities(order: Mapping[str, Any]) -> dict[str, Decimal]:
    """Each item id of a validated ``customerOrder`` and its ``quantityOrdered``, summed."""
    ordered: dict[str, Decimal] = {}
    items = order.get("items")
    # Validated by ingest; a hand-made message's body may hold anything (a number, say).
    for item in items if isinstance(items, list) else ():
        if isinstance(item, Mapping) and isinstance(item.get("itemId"), str):
            try:
                quantity = quantity_of(item.get("quantityOrdered"))
            except ValueError:
                continue
            ordered[item["itemId"]] = ordered.get(item["itemId"], ZERO) + quantity
    return ordered


def implicit_fulfillment(order: Mapping[str, Any], business_unit_id: str) -> Fulfillment:
    """The one pickup fulfillment at ``business_unit_id`` of an order sent without any."""
    return Fulfillment(
        IMPLICIT_FULFILLMENT_ID,
        PICKUP_STORE,
        business_unit_id,
        tuple(FulfillmentItem(item_id, q) for item_id, q in ordered_quantities(order).items()),
        None,
        implicit=True,
    )


def fulfillments_of(order: Mapping[str, Any], business_unit_id: str) -> tuple[Fulfillment, ...]:
    """The fulfillments of a ``customerOrder`` object as parsed from JSON.

    Ingest validated what it published (:func:`fulfillment_violations`); a body
    stored before fulfillments existed may hold a ``fulfillments`` member of
    another shape, kept then as an unknown member: such an order, like one
    without the member, is its implicit fulfillment.
    """
    sent = order.get(FULFILLMENTS_MEMBER)
    if sent is None or fulfillment_violations(order):
        return (implicit_fulfillment(order, business_unit_id),)
    return tuple(
        Fulfillment(
            entry["fulfillmentId"],
            entry["deliveryType"],
            entry.get("businessUnitId") if entry["deliveryType"] == PICKUP_STORE else None,
            tuple(
                FulfillmentItem(item["itemId"], quantity_of(item["quantity"]))
                for item in entry["items"]
            ),
            entry.get("status") if isinstance(entry.get("status"), str) else None,
        )
        for entry in sent
    )


def pickup_stores(fulfillments: Iterable[Fulfillment]) -> frozenset[str]:
    """The business units an order's store fulfillments are assigned to."""
    return frozenset(
        fulfillment.business_unit_id
        for fulfillment in fulfillments
        if fulfillment.is_store_pickup and fulfillment.business_unit_id is not None
    )


def fulfillment_violations(order: Mapping[str, Any]) -> list[FieldViolation]:
    """Why the ``fulfillments`` of a ``customerOrder`` (parsed JSON) cannot be accepted.

    Beyond their schema (:mod:`shared.domain.model`): ids unique, each item one of the
    order's, quantities positive and, summed per item over every fulfillment, not over
    what was ordered; a store pickup names its store, a valid business unit id.
    """
    sent = order.get(FULFILLMENTS_MEMBER)
    if sent is None:
        return []
    base = f"/{ORDER_MEMBER}/{FULFILLMENTS_MEMBER}"
    if not isinstance(sent, list):
        return [FieldViolation(base, "must be an array of fulfillments")]
    ordered = ordered_quantities(order)
    violations: list[FieldViolation] = []
    seen_ids: set[str] = set()
    assigned: dict[str, Decimal] = {}
    for index, entry in enumerate(sent):
        pointer = f"{base}/{index}"
        if not isinstance(entry, Mapping):
            violations.append(FieldViolation(pointer, "must be an object"))
            continue
        fulfillment_id = entry.get("fulfillmentId")
        if not isinstance(fulfillment_id, str) or not fulfillment_id:
            violations.append(FieldViolation(f"{pointer}/fulfillmentId", "must be a string"))
        elif fulfillment_id in seen_ids:
            violations.append(
                FieldViolation(f"{pointer}/fulfillmentId", f"{fulfillment_id!r} is not unique")
            )
        else:
            seen_ids.add(fulfillment_id)
        delivery_type = entry.get("deliveryType")
        if delivery_type not in DELIVERY_TYPES:
            violations.append(
                FieldViolation(
                    f"{pointer}/deliveryType", f"must be one of {', '.join(DELIVERY_TYPES)}"
                )
            )
        store = entry.get("businessUnitId")
        if delivery_type == PICKUP_STORE and store is None:
            violations.append(
                FieldViolation(f"{pointer}/businessUnitId", "is required for PICKUP_STORE")
            )
        elif store is not None:
            reason = id_violation(store) if isinstance(store, str) else "must be a string"
            if reason is not None:
                violations.append(FieldViolation(f"{pointer}/businessUnitId", reason))
        status = entry.get("status")
        status_size = utf8_size(status) if isinstance(status, str) else 0
        if status_size is None or status_size > MAX_FULFILLMENT_STATUS_BYTES:
            # Stored and searched as {businessUnitId}/{status}: indexed whole, so found exactly.
            violations.append(
                FieldViolation(
                    f"{pointer}/status",
                    f"must be at most {MAX_FULFILLMENT_STATUS_BYTES} bytes of UTF-8",
                )
            )
        items = entry.get("items")
        if not isinstance(items, list) or not items:
            violations.append(FieldViolation(f"{pointer}/items", "must be a non-empty array"))
            continue
        for item_index, item in enumerate(items):
            item_pointer = f"{pointer}/items/{item_index}"
            if not isinstance(item, Mapping):
                violations.append(FieldViolation(item_pointer, "must be an object"))
                continue
            item_id = item.get("itemId")
            if not isinstance(item_id, str) or item_id not in ordered:
                violations.append(
                    FieldViolation(f"{item_pointer}/itemId", "must be the itemId of an order item")
                )
                continue
            try:
                quantity = quantity_of(item.get("quantity"))
            except ValueError:
                quantity = ZERO
            if quantity <= ZERO:
                violations.append(
                    FieldViolation(f"{item_pointer}/quantity", "must be a positive number")
                )
                continue
            assigned[item_id] = assigned.get(item_id, ZERO) + quantity
    for item_id, quantity in assigned.items():
        if quantity > ordered[item_id]:
            violations.append(
                FieldViolation(
                    base,
                    f"assign {quantity_text(quantity)} of item {item_id!r} in all, over the "
                    f"{quantity_text(ordered[item_id])} ordered",
                )
            )
    return violations
