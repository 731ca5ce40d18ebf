"""``POST .../customer-orders/{id}:ready`` and ``:pickup``: a store records what it did.

``:ready`` marks items of a fulfillment ready for pickup; ``:pickup`` records items
handed out now, with the payments taken (docs/pos.md#store-updates). Each carries an
``updateId`` the POS chooses, its idempotency key. The answer is definite, since the
associate acts on it:

- 200 with the order as now stored: recorded now, or before under the same ``updateId``
  (a retry after a 503 or a timeout resolves so);
- 409 when the order does not allow it (cancelled, items already picked up, a
  warehouse fulfillment, a fulfillment or item it does not hold (any more), an
  ``updateId`` recorded for another update);
- 422 when it cannot be (more than remains, a fulfillment not named where the order
  has several); 403 for another store's;
  404 for no order; 4xx problem+json for bad input: nothing recorded.

The update is decided on the order as read, its message published to the
store-updates topic, then written on the condition that the order did not change
(:class:`shared.order_changes.OrderChanges`): the processor announces it, or
completes it if this function died before its write, and only on that same state.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from decimal import Decimal

from pydantic import BaseModel, ValidationError

from shared.api.access import forbidden
from shared.api.bodies import read_json, schema_violations
from shared.api.get_order import order_headers
from shared.api.routing import Resource, Route
from shared.api.service import RequestContext
from shared.api.unavailable import publish_unavailable, store_unavailable
from shared.domain.conflict import Decision
from shared.domain.fulfillments import quantity_of, quantity_text
from shared.domain.http import HttpRequest, HttpResponse
from shared.domain.jsonbody import FieldViolation
from shared.domain.messages import StoreUpdateMessage
from shared.domain.model import PickupRequest, ReadyRequest
from shared.domain.order_view import SpelledJson
from shared.domain.problems import Problem, Rejected, problem
from shared.domain.store_updates import (
    Assessment,
    RequestedItem,
    RequestedTender,
    StoreUpdate,
    UpdateKind,
)
from shared.domain.stored_order import MAX_AMOUNT_CHARACTERS
from shared.domain.timestamps import ReceivedAtClock
from shared.errors import MalformedJson, PublishFailed, StoreRefused, StoreUnavailable
from shared.log import get_logger, log_event
from shared.order_changes import Applied, OrderChanges, StoreUpdateChange, Write
from shared.ports import OrderPublisher

MAX_STORE_UPDATE_BODY_BYTES = 64 * 1024
# The update id of a pickup sent with an empty body, as POS clients of the release before do.
LEGACY_UPDATE_PREFIX = "pos-"

_log = get_logger("pos")

# Refusals, each one answer: (status, problem type, what the associate is told first).
_REFUSALS: Mapping[Decision, tuple[int, str, str]] = {
    Decision.REFUSE_CANCELLED: (409, "order-cancelled", "the order is cancelled: do not hand "),
    Decision.REFUSE_ALREADY_PICKED_UP: (409, "already-picked-up", ""),
    Decision.REFUSE_ALREADY_READY: (409, "already-ready", ""),
    Decision.REFUSE_WAREHOUSE: (409, "warehouse-fulfillment", ""),
    Decision.REFUSE_NO_FULFILLMENT: (409, "fulfillment-not-found", ""),
    Decision.REFUSE_UPDATE_ID_REUSED: (409, "update-id-reused", ""),
    Decision.REFUSE_TENDER_RECORDED: (409, "tender-recorded", ""),
    # Not in the fulfillment (any more): the OMS may have removed it since the POS read it.
    Decision.REFUSE_UNKNOWN_ITEM: (409, "unknown-item", ""),
    Decision.REFUSE_EXCEEDS: (422, "more-than-remains", ""),
    Decision.REFUSE_AMBIGUOUS: (422, "fulfillment-required", ""),
}


class RecordStoreUpdate:
    def __init__(
        self,
        changes: OrderChanges,
        publisher: OrderPublisher,
        *,
        retry_after_seconds: int,
        clock: ReceivedAtClock | None = None,
    ) -> None:
        self._changes = changes
        self._publisher = publisher
        self._retry_after = retry_after_seconds
        self._clock = clock or ReceivedAtClock()

    def __call__(
        self, request: HttpRequest, target: Route, context: RequestContext
    ) -> HttpResponse:
        business_unit_id, customer_order_id = target.business_unit_id, target.order_id
        kind = UpdateKind.READY if target.resource is Resource.READY else UpdateKind.PICKUP
        update = update_of(request, kind)
        recorded_at = self._clock.now()
        change = StoreUpdateChange(
            business_unit_id,
            customer_order_id,
            update,
            recorded_at=recorded_at,
            correlation_id=context.correlation_id,
            caller=context.caller.identity,
            holds=context.caller.holds,
        )

        def publish(write: Write) -> None:
            assert write.decided_on is not None
            self._publisher.publish(
                StoreUpdateMessage(
                    business_unit_id,
                    customer_order_id,
                    update,
                    recorded_at,
                    write.decided_on,
                    context.correlation_id,
                    context.caller.identity,
                )
            )

        try:
            applied = self._changes.apply(change, before_write=publish)
        except PublishFailed as exc:
            raise publish_unavailable(self._retry_after, "update with the same updateId") from exc
        except StoreUnavailable as exc:
            raise store_unavailable(self._retry_after) from exc
        except StoreRefused as exc:
            raise Rejected(
                problem(422, "store-update-refused", f"the order cannot take it: {exc}")
            ) from None
        return self._answer(applied, change, target, context)

    def _answer(
        self,
        applied: Applied,
        change: StoreUpdateChange,
        target: Route,
        context: RequestContext,
    ) -> HttpResponse:
        update = change.update
        decision, order = applied.verdict.decision, applied.order
        if decision is Decision.REFUSE_ABSENT or order is None:
            if not context.caller.holds(target.business_unit_id):
                # Whether another store's order exists is not this caller's to learn.
                raise forbidden(context.caller, target.business_unit_id, "nor its order")
            raise Rejected(
                problem(
                    404,
                    "not-found",
                    f"no customer order {target.order_id!r} is stored "
                    f"for business unit {target.business_unit_id!r}",
                )
            )
        assessment = applied.assessment
        detail = "" if assessment is None else assessment.detail
        if decision is Decision.REFUSE_FORBIDDEN:
            fulfillment = None if assessment is None else assessment.fulfillment
            store = None if fulfillment is None else fulfillment.business_unit_id
            raise forbidden(context.caller, store or target.business_unit_id, f"({detail})")
        refusal = _REFUSALS.get(decision)
        if refusal is not None:
            raise Rejected(_refusal(refusal, detail, update, assessment))
        outcome = "recorded" if decision.writes else "repeated"
        log_event(
            _log,
            logging.INFO,
            f"{update.kind.value} {outcome} updateId={update.update_id}",
            event=update.kind.value,
            outcome=outcome,
            httpStatus=200,
            updateId=update.update_id,
        )
        view = order.view(change.fulfillments)
        return HttpResponse(
            200, view, {"Content-Type": "application/json", **order_headers(order, view)}
        )


def _refusal(
    refusal: tuple[int, str, str],
    detail: str,
    update: StoreUpdate,
    assessment: Assessment | None,
) -> Problem:
    status, slug, lead = refusal
    errors: list[FieldViolation] = []
    if assessment is not None and assessment.picked_before:
        positions = {item.item_id: index for index, item in enumerate(update.items or ())}
        for before in assessment.picked_before:
            where = before.picked_up_at.isoformat() if before.picked_up_at else "earlier"
            pointer = (
                f"/items/{positions[before.item_id]}" if before.item_id in positions else "/items"
            )
            errors.append(
                FieldViolation(
                    pointer,
                    f"item {before.item_id!r}: {quantity_text(before.picked_up)} picked up, "
                    f"last at {where}",
                )
            )
    text = f"{lead}it out: {detail}" if lead else detail
    return problem(status, slug, text, errors=errors)


def update_of(request: HttpRequest, kind: UpdateKind) -> StoreUpdate:
    """The store update a request asks for, or a 4xx problem."""
    if kind is UpdateKind.PICKUP and (
        request.content_length == 0
        or (request.content_length is None and request.content_type is None)
    ):
        # No body at all (curl -X POST): the pickup of the release before.
        return _legacy_pickup()
    raw, parsed = read_json(request, limit=MAX_STORE_UPDATE_BODY_BYTES)
    model: type[BaseModel] = ReadyRequest if kind is UpdateKind.READY else PickupRequest
    try:
        validated = model.model_validate(parsed)
    except ValidationError as exc:
        raise Rejected(
            problem(
                422,
                "invalid-store-update",
                f"{exc.error_count()} field(s) do not match the {kind.value} request schema",
                errors=schema_violations(exc),
            )
        ) from None
    if isinstance(validated, PickupRequest) and validated.update_id is None:
        return _legacy_pickup()
    assert isinstance(validated, ReadyRequest | PickupRequest)
    assert validated.update_id is not None
    return StoreUpdate(
        update_id=validated.update_id,
        kind=kind,
        fulfillment_id=validated.fulfillment_id,
        items=None
        if validated.items is None
        else tuple(
            RequestedItem(item.item_id, quantity_of(item.quantity)) for item in validated.items
        ),
        tenders=_tenders(raw, validated) if isinstance(validated, PickupRequest) else (),
    )


def _legacy_pickup() -> StoreUpdate:
    return StoreUpdate(f"{LEGACY_UPDATE_PREFIX}{uuid.uuid4()}", UpdateKind.PICKUP, legacy=True)


def _tenders(raw: bytes, request: PickupRequest) -> tuple[RequestedTender, ...]:
    """The tenders, each amount spelled as the POS sent it."""
    if not request.tenders:
        return ()
    spelled = SpelledJson()
    try:
        sent = spelled.parse(raw)["tenders"]
    except (MalformedJson, KeyError, TypeError):
        sent = None
    tenders = []
    for index, tender in enumerate(request.tenders):
        amount = sent[index].get("amount") if isinstance(sent, list) else None
        text = spelled.text_of(amount) or _decimal_text(tender.amount)
        if len(text) > MAX_AMOUNT_CHARACTERS:
            raise Rejected(
                problem(
                    422,
                    "invalid-store-update",
                    "an amount is spelled too long",
                    errors=[
                        FieldViolation(
                            f"/tenders/{index}/amount",
                            f"must be written in at most {MAX_AMOUNT_CHARACTERS} characters",
                        )
                    ],
                )
            )
        tenders.append(RequestedTender(tender.tender_id, text, tender.method))
    return tuple(tenders)


def _decimal_text(amount: float) -> str:
    return quantity_text(Decimal(repr(amount)))
