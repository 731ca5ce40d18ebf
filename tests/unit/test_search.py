"""The search by customer, with the in-memory adapters: paging, isolation, bad input."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.memory import InMemoryOrderPublisher, InMemoryOrderStore
from shared.api.oms import oms_api
from shared.api.service import ApiService
from shared.domain.http import HttpRequest
from shared.domain.search import after_of, page_token
from shared.domain.stored_order import OrderSummary
from shared.errors import InvalidPageToken, StoreUnavailable
from tests.support import order_message, problem_of, store_message

T0 = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def store() -> InMemoryOrderStore:
    store = InMemoryOrderStore()
    for index in range(7):
        store_message(
            store, order_message("BU1", f"CO-{index}", T0, customerId="C-1", status=f"S{index}")
        )
    store_message(store, order_message("BU1", "CO-other", T0, customerId="C-2"))
    store_message(store, order_message("BU2", "CO-elsewhere", T0, customerId="C-1"))
    return store


@pytest.fixture
def service(store: InMemoryOrderStore) -> ApiService:
    return oms_api(InMemoryOrderPublisher(), store, retry_after_seconds=4)


def search(
    service: ApiService,
    body: Any,
    *,
    business_unit: str = "BU1",
    method: str = "POST",
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return service.handle(
        HttpRequest(
            method,
            f"/business-units/{business_unit}/customer-orders:search",
            "application/json",
            len(raw),
            io.BytesIO(raw),
        )
    )


def test_a_customer_orders_of_the_business_unit_are_found_in_id_order(
    service: ApiService,
) -> None:
    response = search(service, {"customerId": "C-1"})
    assert response.status == 200
    answer = json.loads(response.body)
    assert answer == {
        "customerOrders": [
            {"customerOrderId": f"CO-{index}", "customerId": "C-1", "status": f"S{index}"}
            for index in range(7)
        ]
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_pages_cover_every_order_once(service: ApiService) -> None:
    seen: list[str] = []
    request: dict[str, Any] = {"customerId": "C-1", "pageSize": 3}
    pages = 0
    while True:
        answer = json.loads(search(service, request).body)
        pages += 1
        seen.extend(order["customerOrderId"] for order in answer["customerOrders"])
        if "nextPageToken" not in answer:
            break
        request["pageToken"] = answer["nextPageToken"]
    assert seen == [f"CO-{index}" for index in range(7)]
    assert pages == 3


def test_an_exact_last_page_has_no_next_token(service: ApiService) -> None:
    answer = json.loads(search(service, {"customerId": "C-1", "pageSize": 7}).body)
    assert len(answer["customerOrders"]) == 7
    assert "nextPageToken" not in answer


def test_another_business_unit_and_an_unknown_customer_find_only_their_own(
    service: ApiService,
) -> None:
    assert json.loads(search(service, {"customerId": "C-1"}, business_unit="BU2").body) == {
        "customerOrders": [
            {"customerOrderId": "CO-elsewhere", "customerId": "C-1", "status": "CREATED"}
        ]
    }
    assert json.loads(search(service, {"customerId": "nobody"}).body) == {"customerOrders": []}
    assert json.loads(search(service, {"customerId": "C-1"}, business_unit="BU9").body) == {
        "customerOrders": []
    }


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({}, "/customerId"),
        ({"customerId": ""}, "/customerId"),
        ({"customerId": 7}, "/customerId"),
        ({"customerId": "C-1", "pageSize": 0}, "/pageSize"),
        ({"customerId": "C-1", "pageSize": 101}, "/pageSize"),
        ({"customerId": "C-1", "pageSize": "5"}, "/pageSize"),
        ({"customerId": "C-1", "pageToken": "!!"}, "/pageToken"),
        ({"customerId": "C-1", "pageToken": page_token("C-2", "CO-1")}, "/pageToken"),
        ({"customerId": "C-1", "unknown": 1}, "/unknown"),
        ([], ""),
    ],
)
def test_bad_search_requests_are_422_naming_the_member(
    service: ApiService, body: Any, pointer: str
) -> None:
    document = problem_of(search(service, body))
    assert document["status"] == 422
    assert document["type"].endswith("invalid-search")
    assert pointer in {error["pointer"] for error in document["errors"]}


@pytest.mark.parametrize(
    ("body", "status"), [(b"{", 400), (b" " * (16 * 1024 + 1), 413), (b"", 400)]
)
def test_unreadable_search_bodies_get_their_status(
    service: ApiService, body: bytes, status: int
) -> None:
    assert problem_of(search(service, body))["status"] == status


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_only_post_searches(service: ApiService, method: str) -> None:
    response = search(service, {"customerId": "C-1"}, method=method)
    assert response.status == 405
    assert response.headers["Allow"] == "POST"


def test_an_invalid_business_unit_id_is_400(service: ApiService) -> None:
    assert (
        problem_of(search(service, {"customerId": "C-1"}, business_unit="__x__"))["status"] == 400
    )


def test_a_search_while_firestore_is_down_is_503() -> None:
    class DownStore(InMemoryOrderStore):
        def find_by_customer(
            self, business_unit_id: str, customer_id: str, *, limit: int, after: str | None
        ) -> list[OrderSummary]:
            raise StoreUnavailable("unreachable")

    service = oms_api(InMemoryOrderPublisher(), DownStore(), retry_after_seconds=4)
    response = search(service, {"customerId": "C-1"})
    assert response.status == 503
    assert response.headers["Retry-After"] == "4"


def test_a_page_token_names_where_the_next_page_starts_for_its_customer_only() -> None:
    token = page_token("C-1", "CO-ø-x")
    assert after_of(token, "C-1") == "CO-ø-x"
    with pytest.raises(InvalidPageToken, match="another customerId"):
        after_of(token, "C-2")
    for garbage in ("", "e30", "W1sxXV0", token[:-2]):
        with pytest.raises(InvalidPageToken):
            after_of(garbage, "C-1")


def test_stale_versions_do_not_change_what_the_search_answers(
    service: ApiService, store: InMemoryOrderStore
) -> None:
    store_message(
        store,
        order_message("BU1", "CO-0", T0 - timedelta(seconds=1), customerId="C-1", status="OLD"),
    )
    answer = json.loads(search(service, {"customerId": "C-1", "pageSize": 1}).body)
    assert answer["customerOrders"][0]["status"] == "S0"
