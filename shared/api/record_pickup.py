"""``POST .../customer-orders/{id}:pickup``: the POS records that the order was handed out.

The answer is definite, since the associate hands the goods over on it: 200 with the
order as now stored (recorded now, or before: the POS may repeat itself), 409 when
the order is cancelled, 404 when there is none. The body is optional; when sent, it
is an empty JSON object (room for members later, refused until they exist).
"""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.api.bodies import read_json, schema_violations
from shared.api.get_order import order_headers
from shared.api.routing import Route
from shared.api.service import RequestContext
from shared.api.unavailable import publish_unavailable, store_unavailable
from shared.domain.conflict import Decision
from shared.domain.http import HttpRequest, HttpResponse
from shared.domain.problems import Rejected, problem
from shared.domain.timestamps import ReceivedAtClock
from shared.errors import PublishFailed, StoreUnavailable, Unpickable
from shared.log import get_logger, log_event
from shared.pickups import Pickups
from shared.ports import OrderPublisher

EVENT = "pickup"
MAX_PICKUP_BODY_BYTES = 1024

_log = get_logger("pos")


class PickupRequest(BaseModel):
    """The body of a pickup: nothing yet, and nothing unknown."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class RecordPickup:
    def __init__(
        self,
        pickups: Pickups,
        publisher: OrderPublisher,
        *,
        retry_after_seconds: int,
        clock: ReceivedAtClock | None = None,
    ) -> None:
        self._pickups = pickups
        self._publisher = publisher
        self._retry_after = retry_after_seconds
        self._clock = clock or ReceivedAtClock()

    def __call__(
        self, request: HttpRequest, target: Route, context: RequestContext
    ) -> HttpResponse:
        business_unit_id, customer_order_id = target.business_unit_id, target.order_id
        _validate(request)
        try:
            recorded = self._pickups.record(
                business_unit_id,
                customer_order_id,
                now=self._clock.now,
                publish=self._publisher.publish,
                correlation_id=context.correlation_id,
            )
        except PublishFailed as exc:
            raise publish_unavailable(self._retry_after, "pickup") from exc
        except StoreUnavailable as exc:
            raise store_unavailable(self._retry_after) from exc
        except Unpickable as exc:
            raise Rejected(problem(422, "order-unpickable", str(exc))) from None
        order, decision = recorded.order, recorded.verdict.decision
        if order is None or decision is Decision.REFUSE_ABSENT:
            raise Rejected(
                problem(
                    404,
                    "not-found",
                    f"no customer order {customer_order_id!r} is stored "
                    f"for business unit {business_unit_id!r}",
                )
            )
        if decision is Decision.REFUSE_CANCELLED:
            raise Rejected(
                problem(
                    409,
                    "order-cancelled",
                    f"the order is cancelled (status {order.status!r}): do not hand it out",
                )
            )
        outcome = "recorded" if decision.writes else "repeated"
        log_event(
            _log,
            logging.INFO,
            f"pickup {outcome} pickedUpAt={order.picked_up_at}",
            event=EVENT,
            outcome=outcome,
            httpStatus=200,
        )
        return HttpResponse(
            200, order.body, {"Content-Type": "application/json", **order_headers(order)}
        )


def _validate(request: HttpRequest) -> None:
    if request.content_length == 0 or (
        request.content_length is None and request.content_type is None
    ):
        # No body at all (curl -X POST): the usual pickup.
        return
    _, parsed = read_json(request, limit=MAX_PICKUP_BODY_BYTES)
    try:
        PickupRequest.model_validate(parsed)
    except ValidationError as exc:
        raise Rejected(
            problem(
                422,
                "invalid-pickup",
                f"{exc.error_count()} field(s) do not match the pickup request schema",
                errors=schema_violations(exc),
            )
        ) from None
