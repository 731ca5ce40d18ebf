"""The store's record of an order: what the stores did, kept apart from what the OMS sent.

Hii Retail's "Store Updates": a store updates only fulfillment and payment
information, never the OMS's data. So the OMS's body is stored as it was sent,
and beside it this record, which only store updates change and every OMS version
keeps (docs/design.md#the-stores-record):

- per fulfillment, its ``status`` once the store set one (``READY_FOR_PICKUP`` when
  everything not yet picked up is ready, ``FULFILLED`` once every item is picked up;
  otherwise it stays as it was);
- per fulfillment item, ``readyQuantity`` (ready and waiting) and
  ``pickedUpQuantity`` (handed out), with the time of its last pickup;
- the tenders taken at the counter;
- how many store updates were recorded, and the last one.

Stored as compact JSON bytes in one field: its quantities and amounts as the
decimal strings they are, so nothing is rounded, and members a later release adds
are carried over by this one (:attr:`StoreState.extra`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.domain.fulfillments import ZERO, Fulfillment, quantity_text
from shared.domain.jsonbody import dump_json, parse_accepted_json
from shared.domain.timestamps import format_timestamp, parse_timestamp
from shared.errors import MalformedJson

READY_FOR_PICKUP = "READY_FOR_PICKUP"
FULFILLED = "FULFILLED"
# The update id a pickup of the release before fulfillments is known by.
LEGACY_PICKUP_ID = "legacy-pickup"
_FORMAT = 1


@dataclass(frozen=True, slots=True)
class ItemState:
    ready: Decimal = ZERO
    picked_up: Decimal = ZERO
    # The last pickup of this item.
    picked_up_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FulfillmentState:
    # None until the store sets one: the OMS's, if it sent one, is shown meanwhile.
    status: str | None = None
    items: Mapping[str, ItemState] = field(default_factory=dict)

    def item(self, item_id: str) -> ItemState:
        return self.items.get(item_id, ItemState())


@dataclass(frozen=True, slots=True)
class Tender:
    """A payment taken at the counter, with its amount spelled as the POS sent it."""

    tender_id: str
    amount: str
    method: str
    update_id: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class UpdateRef:
    """A recorded store update, as the order remembers its last one."""

    update_id: str
    kind: str
    recorded_at: datetime
    correlation_id: str = ""


@dataclass(frozen=True, slots=True)
class StoreState:
    fulfillments: Mapping[str, FulfillmentState] = field(default_factory=dict)
    tenders: tuple[Tender, ...] = ()
    # How many store updates were recorded: with the OMS version, the order state an
    # update was decided on (shared.domain.store_updates.Basis).
    updates: int = 0
    last_update: UpdateRef | None = None
    # Members of a later release's record, carried over as they are.
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return self.updates == 0

    def fulfillment(self, fulfillment_id: str) -> FulfillmentState:
        return self.fulfillments.get(fulfillment_id, FulfillmentState())

    def picked_up(self, item_id: str) -> Decimal:
        """How many of ``item_id`` were handed out, over every fulfillment."""
        return sum((state.item(item_id).picked_up for state in self.fulfillments.values()), ZERO)

    @property
    def picked_up_any(self) -> bool:
        return any(
            item.picked_up > ZERO
            for state in self.fulfillments.values()
            for item in state.items.values()
        )

    @property
    def picked_up_at(self) -> datetime | None:
        """When the store last handed something out."""
        moments = [
            item.picked_up_at
            for state in self.fulfillments.values()
            for item in state.items.values()
            if item.picked_up_at is not None
        ]
        return max(moments, default=None)

    def tender(self, tender_id: str) -> Tender | None:
        return next((tender for tender in self.tenders if tender.tender_id == tender_id), None)

    def with_fulfillment(self, fulfillment_id: str, state: FulfillmentState) -> StoreState:
        return replace(self, fulfillments={**self.fulfillments, fulfillment_id: state})

    def encode(self) -> bytes:
        document: dict[str, Any] = {
            **self.extra,
            "format": _FORMAT,
            "updates": self.updates,
            "fulfillments": {
                fulfillment_id: _encode_fulfillment(state)
                for fulfillment_id, state in self.fulfillments.items()
            },
            "tenders": [_encode_tender(tender) for tender in self.tenders],
        }
        if self.last_update is not None:
            document["lastUpdate"] = {
                "updateId": self.last_update.update_id,
                "kind": self.last_update.kind,
                "recordedAt": format_timestamp(self.last_update.recorded_at),
                "correlationId": self.last_update.correlation_id,
            }
        return dump_json(document)

    @classmethod
    def decode(cls, data: bytes) -> StoreState:
        """The record as stored; :class:`MalformedJson` when it is not one."""
        document = parse_accepted_json(data)
        try:
            last = document.get("lastUpdate")
            return cls(
                fulfillments={
                    fulfillment_id: _decode_fulfillment(state)
                    for fulfillment_id, state in document["fulfillments"].items()
                },
                tenders=tuple(_decode_tender(tender) for tender in document["tenders"]),
                updates=int(document["updates"]),
                last_update=None
                if last is None
                else UpdateRef(
                    last["updateId"],
                    last["kind"],
                    parse_timestamp(last["recordedAt"]),
                    last.get("correlationId", ""),
                ),
                extra={
                    name: value
                    for name, value in document.items()
                    if name not in ("format", "updates", "fulfillments", "tenders", "lastUpdate")
                },
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise MalformedJson(f"not a store record: {exc!r}") from None


EMPTY_STORE_STATE = StoreState()


def legacy_pickup_state(fulfillments: Iterable[Fulfillment], picked_up_at: datetime) -> StoreState:
    """The record of an order the release before fulfillments picked up: all of it, at once."""
    handed_out = {
        fulfillment.fulfillment_id: FulfillmentState(
            FULFILLED,
            {
                item_id: ItemState(ZERO, fulfillment.quantity(item_id), picked_up_at)
                for item_id in fulfillment.item_ids
            },
        )
        for fulfillment in fulfillments
        if fulfillment.is_store_pickup
    }
    return StoreState(
        fulfillments=handed_out,
        updates=1,
        last_update=UpdateRef(LEGACY_PICKUP_ID, "pickup", picked_up_at),
    )


def _encode_fulfillment(state: FulfillmentState) -> dict[str, Any]:
    encoded: dict[str, Any] = {"items": {}}
    if state.status is not None:
        encoded["status"] = state.status
    for item_id, item in state.items.items():
        entry: dict[str, Any] = {
            "ready": quantity_text(item.ready),
            "pickedUp": quantity_text(item.picked_up),
        }
        if item.picked_up_at is not None:
            entry["pickedUpAt"] = format_timestamp(item.picked_up_at)
        encoded["items"][item_id] = entry
    return encoded


def _decode_fulfillment(encoded: Mapping[str, Any]) -> FulfillmentState:
    return FulfillmentState(
        encoded.get("status"),
        {
            item_id: ItemState(
                Decimal(entry["ready"]),
                Decimal(entry["pickedUp"]),
                None if entry.get("pickedUpAt") is None else parse_timestamp(entry["pickedUpAt"]),
            )
            for item_id, entry in encoded["items"].items()
        },
    )


def _encode_tender(tender: Tender) -> dict[str, Any]:
    return {
        "tenderId": tender.tender_id,
        "amount": tender.amount,
        "method": tender.method,
        "updateId": tender.update_id,
        "recordedAt": format_timestamp(tender.recorded_at),
    }


def _decode_tender(encoded: Mapping[str, Any]) -> Tender:
    return Tender(
        encoded["tenderId"],
        encoded["amount"],
        encoded["method"],
        encoded["updateId"],
        parse_timestamp(encoded["recordedAt"]),
    )
