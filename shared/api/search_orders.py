"""``POST .../customer-orders:search``: the business unit's orders that match, from the store.

By fulfillment status, the orders of every business unit with a fulfillment to be picked
up at this one: each summary names the business unit the order is stored under.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from shared.api.access import forbidden
from shared.api.bodies import read_json, schema_violations
from shared.api.routing import Route
from shared.api.service import RequestContext
from shared.api.unavailable import read_from_store
from shared.domain.http import HttpRequest, HttpResponse
from shared.domain.jsonbody import FieldViolation
from shared.domain.model import SearchRequest, validate_search
from shared.domain.problems import Rejected, problem
from shared.domain.search import SearchCriteria, SearchPosition, page_token, position_of
from shared.domain.stored_order import OrderSummary, fulfillment_state
from shared.domain.timestamps import format_timestamp
from shared.errors import InvalidPageToken
from shared.log import get_logger, log_event
from shared.ports import OrderReader

# A search body holds a few criteria (each at most 1,500 bytes) and a page token.
MAX_SEARCH_BODY_BYTES = 16 * 1024


class SearchOrders:
    def __init__(self, store: OrderReader, *, retry_after_seconds: int, logger: str) -> None:
        self._store = store
        self._retry_after = retry_after_seconds
        self._log = get_logger(logger)

    def __call__(
        self, request: HttpRequest, target: Route, context: RequestContext
    ) -> HttpResponse:
        business_unit_id = target.business_unit_id
        if not context.caller.holds(business_unit_id):
            raise forbidden(context.caller, business_unit_id, "to search in")
        _, parsed = read_json(request, limit=MAX_SEARCH_BODY_BYTES)
        try:
            search = validate_search(parsed)
        except ValidationError as exc:
            raise Rejected(
                problem(
                    422,
                    "invalid-search",
                    f"{exc.error_count()} field(s) do not match the search request schema",
                    errors=schema_violations(exc),
                )
            ) from None
        criteria = criteria_of(search, business_unit_id)
        after = None
        if search.page_token is not None:
            try:
                after = position_of(search.page_token, criteria)
            except InvalidPageToken as exc:
                raise Rejected(
                    problem(
                        422,
                        "invalid-search",
                        "the page token does not belong to this search",
                        errors=[FieldViolation("/pageToken", str(exc))],
                    )
                ) from None
        # One more than the page, to know whether another page follows.
        found = read_from_store(
            lambda: self._store.search(
                business_unit_id, criteria, limit=search.page_size + 1, after=after
            ),
            self._retry_after,
        )
        page = found[: search.page_size]
        answer: dict[str, Any] = {"customerOrders": [_summary(order) for order in page]}
        if len(found) > len(page):
            last = page[-1]
            unit = last.business_unit_id if criteria.across_business_units else None
            answer["nextPageToken"] = page_token(
                criteria, SearchPosition(last.received_at, last.customer_order_id, unit)
            )
        log_event(
            self._log,
            logging.INFO,
            f"searched by {', '.join(_criteria_names(search))}: {len(page)} found",
            event="search",
            outcome="answered",
            httpStatus=200,
        )
        return HttpResponse.json(200, answer, {"Cache-Control": "no-store"})


def criteria_of(search: SearchRequest, business_unit_id: str) -> SearchCriteria:
    """The criteria of ``search`` in ``business_unit_id``: the store of its fulfillments."""
    received = search.received_at
    return SearchCriteria(
        customer_id=search.customer_id,
        statuses=search.statuses,
        customer_account_id=search.customer_account_id,
        additional_information_value=search.additional_information_value,
        item_id=search.item_id,
        fulfillment_states=tuple(
            fulfillment_state(business_unit_id, status) for status in search.fulfillment_statuses
        ),
        received_from=None if received is None else received.from_,
        received_before=None if received is None else received.before,
    )


def _criteria_names(search: SearchRequest) -> list[str]:
    # The names only: the values are customers' data, kept out of the logs.
    given = search.model_dump(by_alias=True, exclude_none=True, exclude={"page_size", "page_token"})
    return sorted(given)


def _summary(order: OrderSummary) -> dict[str, str]:
    summary = {
        "businessUnitId": order.business_unit_id,
        "customerOrderId": order.customer_order_id,
        "customerId": order.customer_id,
        "status": order.status,
        "receivedAt": format_timestamp(order.received_at),
    }
    if order.picked_up_at is not None:
        summary["pickedUpAt"] = format_timestamp(order.picked_up_at)
    return summary
