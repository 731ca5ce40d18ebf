"""A store's update of an order: items ready for pickup, items handed out with the payments taken.

Each update carries an ``updateId`` the POS chooses, its idempotency key: the same
id again is the same update, answered the same way and recorded once. How an
update stands against the order as stored is its :class:`Relation`
(:func:`assess`); what that means is the conflict rule's table
(:mod:`shared.domain.conflict`); what it records is :func:`apply_update`.

An update is recorded only against the order state it was decided on, its
:class:`Basis`: the OMS version and how many store updates were recorded. The
processor, completing an update the POS function published but may not have
written, records it only if the order is still at that basis
(docs/design.md#store-updates-and-their-messages).
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from shared.domain.conflict import Relation, Version
from shared.domain.fulfillments import ZERO, Fulfillment, quantity_text
from shared.domain.jsonbody import dump_json
from shared.domain.store_state import (
    FULFILLED,
    READY_FOR_PICKUP,
    FulfillmentState,
    ItemState,
    StoreState,
    Tender,
    UpdateRef,
)


class UpdateKind(enum.Enum):
    READY = "ready"
    PICKUP = "pickup"


@dataclass(frozen=True, slots=True)
class RequestedItem:
    item_id: str
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class RequestedTender:
    tender_id: str
    # The JSON number as the POS spelled it.
    amount: str
    method: str


@dataclass(frozen=True, slots=True)
class StoreUpdate:
    update_id: str
    kind: UpdateKind
    fulfillment_id: str | None = None
    # None: the whole fulfillment (what remains of it).
    items: tuple[RequestedItem, ...] | None = None
    tenders: tuple[RequestedTender, ...] = ()
    # A pickup with an empty body, as POS clients of the release before send it: no
    # update id of the POS's, and a repeat answers as the first did.
    legacy: bool = False

    @property
    def digest(self) -> str:
        """The update's content, to tell a retry from another update under the same id."""
        content = {
            "kind": self.kind.value,
            "fulfillmentId": self.fulfillment_id,
            "items": None
            if self.items is None
            else [[item.item_id, quantity_text(item.quantity)] for item in self.items],
            "tenders": [[t.tender_id, t.amount, t.method] for t in self.tenders],
        }
        return hashlib.sha256(dump_json(content)).hexdigest()


@dataclass(frozen=True, slots=True)
class Basis:
    """The order state an update was decided on."""

    version: Version
    store_updates: int


@dataclass(frozen=True, slots=True)
class RecordedUpdate:
    """A store update as recorded, beside the order's state: how a retry finds it again."""

    update_id: str
    digest: str
    kind: UpdateKind
    recorded_at: datetime
    correlation_id: str = ""
    # The identity of the store that sent it.
    caller: str = ""


@dataclass(frozen=True, slots=True)
class PickedBefore:
    """An item of the request that was handed out already: how many, and when last."""

    item_id: str
    picked_up: Decimal
    picked_up_at: datetime | None


@dataclass(frozen=True, slots=True)
class Assessment:
    relation: Relation
    # The fulfillment the update addresses, once it is known.
    fulfillment: Fulfillment | None = None
    # What the update changes, item by item, when it fits.
    quantities: tuple[RequestedItem, ...] = ()
    # Why it does not fit, for the answer.
    detail: str = ""
    picked_before: tuple[PickedBefore, ...] = field(default_factory=tuple)


def _anyone(business_unit_id: str) -> bool:
    return True


def assess(
    update: StoreUpdate,
    fulfillments: Sequence[Fulfillment],
    state: StoreState,
    recorded: RecordedUpdate | None,
    *,
    holds: Callable[[str], bool] = _anyone,
    basis: Basis | None = None,
    current: Basis | None = None,
) -> Assessment:
    """How ``update`` stands against the order: its fulfillments and the store's record.

    ``recorded`` is the update already recorded under its id, if any; ``holds`` says
    which stores the caller may update; ``basis`` is the state the update was decided
    on when it is being completed (``current`` is the order's).
    """
    fulfillment, relation, detail = _fulfillment_of(update, fulfillments, holds)
    if relation is Relation.NOT_YOURS:
        return Assessment(relation, fulfillment, detail=detail)
    if recorded is not None:
        if update.legacy or recorded.digest == update.digest:
            return Assessment(Relation.REPEATED, fulfillment)
        return Assessment(
            Relation.REUSED,
            fulfillment,
            detail=f"update {update.update_id!r} was recorded at "
            f"{recorded.recorded_at.isoformat()} for another request: choose a new updateId",
        )
    if basis is not None and basis != current:
        return Assessment(Relation.SUPERSEDED, detail="the order changed since it was decided")
    if fulfillment is None:
        return Assessment(relation, detail=detail)
    if not fulfillment.is_store_pickup:
        return Assessment(
            Relation.WAREHOUSE,
            fulfillment,
            detail=f"fulfillment {fulfillment.fulfillment_id!r} is delivered from the warehouse",
        )
    for tender in update.tenders:
        if state.tender(tender.tender_id) is not None:
            return Assessment(
                Relation.TENDER_RECORDED,
                fulfillment,
                detail=f"tender {tender.tender_id!r} is recorded already",
            )
    return _assess_items(update, fulfillment, state.fulfillment(fulfillment.fulfillment_id))


def _fulfillment_of(
    update: StoreUpdate, fulfillments: Sequence[Fulfillment], holds: Callable[[str], bool]
) -> tuple[Fulfillment | None, Relation, str]:
    if update.fulfillment_id is not None:
        named = next((f for f in fulfillments if f.fulfillment_id == update.fulfillment_id), None)
        if named is None:
            return (
                None,
                Relation.NO_FULFILLMENT,
                f"the order has no fulfillment {update.fulfillment_id!r} (any more)",
            )
        return named, _whose(named, holds), _not_yours(named)
    stores = [fulfillment for fulfillment in fulfillments if fulfillment.is_store_pickup]
    if len(stores) == 1:
        return stores[0], _whose(stores[0], holds), _not_yours(stores[0])
    if not stores:
        return None, Relation.NO_FULFILLMENT, "the order has no fulfillment picked up in a store"
    # Of several, the one at a store the caller holds, if there is exactly one.
    held = [f for f in stores if f.business_unit_id is not None and holds(f.business_unit_id)]
    if len(held) == 1:
        return held[0], Relation.FITS, ""
    if not held:
        return None, Relation.NOT_YOURS, "none of the order's store fulfillments is yours"
    names = ", ".join(repr(fulfillment.fulfillment_id) for fulfillment in held)
    return (
        None,
        Relation.AMBIGUOUS,
        f"the order has {len(held)} store fulfillments of yours ({names}): "
        "name one as fulfillmentId",
    )


def _whose(fulfillment: Fulfillment, holds: Callable[[str], bool]) -> Relation:
    store = fulfillment.business_unit_id
    if fulfillment.is_store_pickup and store is not None and not holds(store):
        return Relation.NOT_YOURS
    return Relation.FITS


def _not_yours(fulfillment: Fulfillment) -> str:
    return (
        f"fulfillment {fulfillment.fulfillment_id!r} is assigned to business unit "
        f"{fulfillment.business_unit_id!r}, which you do not hold"
    )


def _remaining(fulfillment: Fulfillment, state: FulfillmentState, item_id: str) -> Decimal:
    """How many of the item are still to be handed out."""
    return fulfillment.quantity(item_id) - state.item(item_id).picked_up


def _assess_items(
    update: StoreUpdate, fulfillment: Fulfillment, state: FulfillmentState
) -> Assessment:
    if update.items is None:
        requested = [
            RequestedItem(item_id, _remaining(fulfillment, state, item_id))
            for item_id in fulfillment.item_ids
        ]
        if update.kind is UpdateKind.READY:
            requested = [
                RequestedItem(item.item_id, item.quantity - state.item(item.item_id).ready)
                for item in requested
            ]
        wanted = tuple(item for item in requested if item.quantity > ZERO)
        if not wanted:
            return _nothing_left(update, fulfillment, state, fulfillment.item_ids)
        return Assessment(Relation.FITS, fulfillment, wanted)
    unknown = [item.item_id for item in update.items if fulfillment.quantity(item.item_id) == ZERO]
    if unknown:
        return Assessment(
            Relation.UNKNOWN_ITEM,
            fulfillment,
            detail=f"fulfillment {fulfillment.fulfillment_id!r} holds no item "
            + ", ".join(repr(item_id) for item_id in unknown),
        )
    totals: dict[str, Decimal] = {}
    for item in update.items:
        totals[item.item_id] = totals.get(item.item_id, ZERO) + item.quantity
    exhausted = []
    over = []
    for item_id, quantity in totals.items():
        left = _remaining(fulfillment, state, item_id)
        if update.kind is UpdateKind.READY:
            left -= state.item(item_id).ready
        if left <= ZERO:
            exhausted.append(item_id)
        elif quantity > left:
            over.append(f"{quantity_text(quantity)} of {item_id!r}, {quantity_text(left)} left")
    if exhausted:
        return _nothing_left(update, fulfillment, state, tuple(exhausted))
    if over:
        return Assessment(
            Relation.EXCEEDS,
            fulfillment,
            detail=f"more than remains to be {_done(update.kind)}: " + "; ".join(over),
        )
    return Assessment(
        Relation.FITS,
        fulfillment,
        tuple(RequestedItem(item_id, quantity) for item_id, quantity in totals.items()),
    )


def _done(kind: UpdateKind) -> str:
    return "readied" if kind is UpdateKind.READY else "picked up"


def _nothing_left(
    update: StoreUpdate,
    fulfillment: Fulfillment,
    state: FulfillmentState,
    item_ids: Sequence[str],
) -> Assessment:
    picked = tuple(
        PickedBefore(item_id, state.item(item_id).picked_up, state.item(item_id).picked_up_at)
        for item_id in item_ids
        if _remaining(fulfillment, state, item_id) <= ZERO
    )
    if update.legacy:
        # Today's empty-body pickup of an order handed out already: the same 200 as before.
        return Assessment(Relation.REPEATED, fulfillment)
    if picked:
        names = "; ".join(
            f"{item.item_id!r} ({quantity_text(item.picked_up)}"
            + (f", last at {item.picked_up_at.isoformat()})" if item.picked_up_at else ")")
            for item in picked
        )
        return Assessment(
            Relation.ALL_PICKED_UP,
            fulfillment,
            detail=f"already picked up: {names}",
            picked_before=picked,
        )
    return Assessment(
        Relation.ALL_READY,
        fulfillment,
        detail="already ready for pickup: " + ", ".join(repr(item_id) for item_id in item_ids),
    )


def apply_update(
    update: StoreUpdate,
    assessment: Assessment,
    state: StoreState,
    *,
    recorded_at: datetime,
    correlation_id: str,
) -> StoreState:
    """The store's record once ``update`` (assessed as fitting) is recorded at ``recorded_at``."""
    fulfillment = assessment.fulfillment
    if fulfillment is None or assessment.relation is not Relation.FITS:
        raise ValueError(
            f"an update that does not fit ({assessment.relation.value}) is not applied"
        )
    before = state.fulfillment(fulfillment.fulfillment_id)
    items = dict(before.items)
    for change in assessment.quantities:
        item = before.item(change.item_id)
        if update.kind is UpdateKind.READY:
            items[change.item_id] = ItemState(
                item.ready + change.quantity, item.picked_up, item.picked_up_at
            )
        else:
            # What is handed out was ready first, if it was.
            items[change.item_id] = ItemState(
                max(ZERO, item.ready - change.quantity),
                item.picked_up + change.quantity,
                recorded_at,
            )
    after = FulfillmentState(_status(fulfillment, before.status, items), items)
    tenders = state.tenders + tuple(
        Tender(tender.tender_id, tender.amount, tender.method, update.update_id, recorded_at)
        for tender in update.tenders
    )
    return StoreState(
        fulfillments={**state.fulfillments, fulfillment.fulfillment_id: after},
        tenders=tenders,
        updates=state.updates + 1,
        last_update=UpdateRef(update.update_id, update.kind.value, recorded_at, correlation_id),
        extra=state.extra,
    )


def _status(
    fulfillment: Fulfillment, status: str | None, items: dict[str, ItemState]
) -> str | None:
    """Fulfilled once every item is handed out; ready when all the rest is ready; else as it was."""
    empty = ItemState()
    quantities = {item_id: fulfillment.quantity(item_id) for item_id in fulfillment.item_ids}
    if all(items.get(item_id, empty).picked_up >= q for item_id, q in quantities.items()):
        return FULFILLED
    if all(
        items.get(item_id, empty).picked_up + items.get(item_id, empty).ready >= q
        for item_id, q in quantities.items()
    ):
        return READY_FOR_PICKUP
    return status
