"""What ``orders-dlq`` prints: aligned lines for people, JSON for machines."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from shared.domain.events import TYPE_ATTRIBUTE
from shared.domain.fulfillments import quantity_text
from shared.domain.messages import StoreUpdateMessage
from shared.domain.timestamps import format_timestamp
from shared.tools.dlq.records import DeadLetter, OrderRef

MISSING = "-"
ONE_FULFILLMENT = "(not named: the order's one store fulfillment)"
LIST_HEADER = (
    "BUSINESS UNIT",
    "ORDER",
    "RECEIVED AT",
    "DELIVERIES",
    "SOURCE SUBSCRIPTION",
    "AGE",
    "MESSAGE ID",
)


def format_age(age: timedelta) -> str:
    """The largest unit and the next one when not zero: ``45s``, ``12m5s``, ``3h12m``, ``1d``."""
    seconds = max(0, int(age.total_seconds()))
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    largest = next(i for i, (_, size) in enumerate(units) if seconds >= size or size == 1)
    unit, size = units[largest]
    text = f"{seconds // size}{unit}"
    if largest + 1 < len(units):
        next_unit, next_size = units[largest + 1]
        rest = seconds % size // next_size
        if rest:
            text += f"{rest}{next_unit}"
    return text


def _text(value: object) -> str:
    if value is None:
        return MISSING
    if isinstance(value, datetime):
        return format_timestamp(value)
    return str(value)


def list_row(letter: DeadLetter, now: datetime) -> tuple[str, ...]:
    return (
        _text(letter.business_unit_id),
        _text(letter.customer_order_id),
        _text(letter.received_at_text),
        _text(letter.delivery_count),
        _text(letter.source_subscription),
        format_age(letter.age(now)),
        letter.message_id,
    )


def list_lines(letters: Sequence[DeadLetter], now: datetime) -> list[str]:
    """A header and one aligned line per dead letter; a problem is appended to its line."""
    rows = [LIST_HEADER, *(list_row(letter, now) for letter in letters)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(LIST_HEADER))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    problems = [None, *(letter.problem for letter in letters)]
    return [
        f"{line}  ({problem})" if problem else line.rstrip()
        for line, problem in zip(lines, problems, strict=True)
    ]


def _kind(letter: DeadLetter) -> str:
    if letter.is_event:
        return "event"
    return "store-update" if letter.store_update is not None else "order"


def summary_json(letter: DeadLetter, now: datetime) -> dict[str, Any]:
    update = letter.store_update
    return {
        "messageId": letter.message_id,
        "businessUnitId": letter.business_unit_id,
        "customerOrderId": letter.customer_order_id,
        "receivedAt": letter.received_at_text,
        "kind": _kind(letter),
        "updateId": None if update is None else update.update.update_id,
        "source": None if letter.source is None else letter.source.value,
        "deliveryCount": letter.delivery_count,
        "sourceSubscription": letter.source_subscription,
        "deadLetteredAt": format_timestamp(letter.dead_lettered_at),
        "ageSeconds": int(letter.age(now).total_seconds()),
        "orderingKey": letter.ordering_key,
        "problem": letter.problem,
    }


def detail_json(letter: DeadLetter, now: datetime) -> dict[str, Any]:
    """Everything about one message; the body as JSON, or base64 when it is not JSON."""
    body = letter.body()
    detail = {**summary_json(letter, now), "attributes": dict(sorted(letter.attributes.items()))}
    if body is None:
        detail["dataBase64"] = base64.b64encode(letter.data).decode("ascii")
    else:
        detail["body"] = body
    return detail


def store_update_lines(message: StoreUpdateMessage) -> list[str]:
    """What a store update asks, and the order state it was decided on."""
    update, basis = message.update, message.basis
    items = (
        "everything of the fulfillment not yet done"
        if update.items is None
        else ", ".join(f"{item.item_id} x {quantity_text(item.quantity)}" for item in update.items)
    )
    tenders = ", ".join(
        f"{tender.tender_id} {tender.amount} {tender.method}" for tender in update.tenders
    )
    return [
        f"store update: {update.kind.value} updateId={update.update_id}"
        + (" (an empty pickup: everything, as before updateIds)" if update.legacy else ""),
        f"  fulfillment: {update.fulfillment_id or ONE_FULFILLMENT}",
        f"  items: {items}",
        *([f"  tenders: {tenders}"] if tenders else []),
        f"  recorded at {format_timestamp(message.recorded_at)} by {message.caller or MISSING}",
        f"  decided on: {basis.version}, {basis.store_updates} store update(s) recorded before",
    ]


def detail_lines(letter: DeadLetter, now: datetime) -> list[str]:
    update = letter.store_update
    lines = [
        f"message {letter.message_id}, dead-lettered {format_timestamp(letter.dead_lettered_at)} "
        f"({format_age(letter.age(now))} ago)",
        f"ordering key: {letter.ordering_key or MISSING}",
        *([] if letter.source is None else [f"from the {letter.source.value} topic"]),
        *([] if update is None else store_update_lines(update)),
        "attributes:",
        *(f"  {name}: {value}" for name, value in sorted(letter.attributes.items())),
    ]
    body = letter.body()
    if body is None:
        lines.append(f"data (not JSON, base64): {base64.b64encode(letter.data).decode('ascii')}")
    else:
        lines.extend(["body:", json.dumps(body, indent=2, ensure_ascii=False)])
    if letter.problem:
        lines.append(f"replay would be skipped: {letter.problem}")
    return lines


def describe(letter: DeadLetter) -> str:
    """A short identification for per-message report lines."""
    order = str(letter.order) if letter.order else "(no order attributes)"
    received = _text(letter.received_at_text)
    update = letter.store_update
    if update is not None:
        return (
            f"{order} store update {update.update.kind.value} updateId={update.update.update_id} "
            f"recordedAt={received} message {letter.message_id}"
        )
    kind = f" {letter.attributes.get(TYPE_ATTRIBUTE)}" if letter.is_event else ""
    return f"{order}{kind} receivedAt={received} message {letter.message_id}"


def order_list(orders: Sequence[OrderRef]) -> str:
    return ", ".join(str(order) for order in orders)
