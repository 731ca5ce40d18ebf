"""``GET``/``HEAD`` of one stored order and ``POST .../customer-orders:search``, from the store."""

from __future__ import annotations

import logging
from collections.abc import Callable
from email.utils import format_datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from shared.api.bodies import read_json, schema_violations
from shared.api.put_order import SOURCE_VERSION_HEADER, etag
from shared.api.routing import Route
from shared.api.unavailable import store_unavailable
from shared.domain.http import HttpRequest, HttpResponse
from shared.domain.jsonbody import FieldViolation
from shared.domain.model import SearchRequest, validate_search
from shared.domain.problems import Rejected, problem
from shared.domain.search import SearchCriteria, SearchPosition, page_token, position_of
from shared.domain.stored_order import OrderRecord, OrderSummary
from shared.domain.timestamps import format_timestamp
from shared.errors import InvalidPageToken, StoreUnavailable
from shared.log import get_logger, log_event
from shared.ports import OrderStore

# Set once the order's pickup is recorded: when the POS handed it out.
PICKED_UP_AT_HEADER = "Picked-Up-At"
# A search body holds a few criteria (each at most 1,500 bytes) and a page token.
MAX_SEARCH_BODY_BYTES = 16 * 1024

T = TypeVar("T")


class ReadOrders:
    def __init__(self, store: OrderStore, *, retry_after_seconds: int, logger: str) -> None:
        self._store = store
        self._retry_after = retry_after_seconds
        self._log = get_logger(logger)

    def get(self, request: HttpRequest, target: Route, correlation: str) -> HttpResponse:
        business_unit_id, customer_order_id = target.business_unit_id, target.order_id
        stored = self._read(lambda: self._store.get(business_unit_id, customer_order_id))
        if stored is None:
            raise Rejected(
                problem(
                    404,
                    "not-found",
                    f"no customer order {customer_order_id!r} is stored "
                    f"for business unit {business_unit_id!r}",
                )
            )
        headers = order_headers(stored)
        if _matches(request.header("If-None-Match"), headers["ETag"]):
            return HttpResponse(304, b"", headers)
        return HttpResponse(200, stored.body, {"Content-Type": "application/json", **headers})

    def search(self, request: HttpRequest, target: Route, correlation: str) -> HttpResponse:
        business_unit_id = target.business_unit_id
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
        criteria = criteria_of(search)
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
        found = self._read(
            lambda: self._store.search(
                business_unit_id, criteria, limit=search.page_size + 1, after=after
            )
        )
        page = found[: search.page_size]
        answer: dict[str, Any] = {"customerOrders": [_summary(order) for order in page]}
        if len(found) > len(page):
            last = page[-1]
            answer["nextPageToken"] = page_token(
                criteria, SearchPosition(last.received_at, last.customer_order_id)
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

    def _read(self, read: Callable[[], T]) -> T:
        """What ``read`` returns from the store, or a 503 problem when Firestore is out of reach."""
        try:
            return read()
        except StoreUnavailable as exc:
            raise store_unavailable(self._retry_after) from exc


def order_headers(stored: OrderRecord) -> dict[str, str]:
    """The headers that answer a stored order: its ETag and its version."""
    headers = {
        "ETag": etag(stored.body_sha256),
        "Last-Modified": format_datetime(stored.received_at, usegmt=True),
        # Last-Modified has whole seconds; the exact version is here.
        "Received-At": format_timestamp(stored.received_at),
        "Cache-Control": "no-store",
    }
    if stored.source_version is not None:
        headers[SOURCE_VERSION_HEADER] = str(stored.source_version)
    if stored.picked_up_at is not None:
        headers[PICKED_UP_AT_HEADER] = format_timestamp(stored.picked_up_at)
    return headers


def criteria_of(search: SearchRequest) -> SearchCriteria:
    received = search.received_at
    return SearchCriteria(
        customer_id=search.customer_id,
        statuses=search.statuses,
        customer_account_id=search.customer_account_id,
        additional_information_value=search.additional_information_value,
        item_id=search.item_id,
        received_from=None if received is None else received.from_,
        received_before=None if received is None else received.before,
    )


def _criteria_names(search: SearchRequest) -> list[str]:
    # The names only: the values are customers' data, kept out of the logs.
    given = search.model_dump(by_alias=True, exclude_none=True, exclude={"page_size", "page_token"})
    return sorted(given)


def _summary(order: OrderSummary) -> dict[str, str]:
    summary = {
        "customerOrderId": order.customer_order_id,
        "customerId": order.customer_id,
        "status": order.status,
        "receivedAt": format_timestamp(order.received_at),
    }
    if order.picked_up_at is not None:
        summary["pickedUpAt"] = format_timestamp(order.picked_up_at)
    return summary


def _matches(if_none_match: str | None, tag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {candidate.strip().removeprefix("W/") for candidate in if_none_match.split(",")}
    return "*" in candidates or tag in candidates
