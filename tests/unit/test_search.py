"""The search, with the in-memory adapters: criteria, order, paging, isolation, bad input."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.memory import InMemoryOrderPublisher, InMemoryOrderStore
from shared.api.oms import oms_api
from shared.api.service import ApiService
from shared.domain.http import HttpRequest
from shared.domain.search import SearchCriteria, SearchPosition, page_token, position_of
from shared.domain.stored_order import OrderSummary
from shared.domain.timestamps import format_timestamp
from shared.errors import InvalidPageToken, StoreUnavailable
from tests.support import FORMATS, order_body, order_message, problem_of, store_message

T0 = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def store() -> InMemoryOrderStore:
    store = InMemoryOrderStore()
    for index in range(7):
        store_message(
            store,
            order_message(
                "BU1", f"CO-{index}", T0 + timedelta(seconds=index), customerId="C-1",
                status=f"S{index}",
            ),
        )  # fmt: skip
    store_message(store, order_message("BU1", "CO-other", T0, customerId="C-2", status="S1"))
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


def newest_first(count: int) -> list[dict[str, str]]:
    return [
        {
            "customerOrderId": f"CO-{index}",
            "customerId": "C-1",
            "status": f"S{index}",
            "receivedAt": format_timestamp(T0 + timedelta(seconds=index)),
        }
        for index in reversed(range(count))
    ]


def found(service: ApiService, body: Any, business_unit: str = "BU1") -> list[str]:
    response = search(service, body, business_unit=business_unit)
    assert response.status == 200, response.body
    return [order["customerOrderId"] for order in json.loads(response.body)["customerOrders"]]


def test_a_customer_orders_of_the_business_unit_are_found_newest_first(
    service: ApiService,
) -> None:
    response = search(service, {"customerId": "C-1"})
    assert response.status == 200
    assert json.loads(response.body) == {"customerOrders": newest_first(7)}
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
    assert seen == [order["customerOrderId"] for order in newest_first(7)]
    assert pages == 3


def test_an_exact_last_page_has_no_next_token(service: ApiService) -> None:
    answer = json.loads(search(service, {"customerId": "C-1", "pageSize": 7}).body)
    assert len(answer["customerOrders"]) == 7
    assert "nextPageToken" not in answer


def test_another_business_unit_and_an_unknown_customer_find_only_their_own(
    service: ApiService,
) -> None:
    assert found(service, {"customerId": "C-1"}, business_unit="BU2") == ["CO-elsewhere"]
    assert found(service, {"customerId": "nobody"}) == []
    assert found(service, {"customerId": "C-1"}, business_unit="BU9") == []


def test_status_takes_one_or_several_and_combines_with_the_customer(service: ApiService) -> None:
    assert found(service, {"status": "S1"}) == ["CO-1", "CO-other"]
    assert found(service, {"status": ["S1", "S3", "S1"]}) == ["CO-3", "CO-1", "CO-other"]
    assert found(service, {"status": "S1", "customerId": "C-1"}) == ["CO-1"]


def test_the_received_at_range_includes_from_and_excludes_before(service: ApiService) -> None:
    def at(seconds: int) -> str:
        return format_timestamp(T0 + timedelta(seconds=seconds))

    assert found(service, {"receivedAt": {"from": at(2), "before": at(4)}}) == ["CO-3", "CO-2"]
    assert found(service, {"receivedAt": {"from": at(5)}}) == ["CO-6", "CO-5"]
    assert found(service, {"receivedAt": {"before": at(1)}, "customerId": "C-1"}) == ["CO-0"]


def test_the_body_s_item_account_and_additional_information_are_searched(
    service: ApiService, store: InMemoryOrderStore
) -> None:
    body = order_body("CO-mine")
    order = body["customerOrder"]
    order["items"][0]["itemId"] = "ITEM-ø"
    order["invoicePaymentInstructions"]["customerAccountId"] = "ACC-9"
    order["invoicePaymentInstructions"]["additionalInformation"][0]["value"] = "REQ-1"
    store_message(store, order_message("BU1", "CO-mine", T0, body))
    assert found(service, {"itemId": "ITEM-ø"}) == ["CO-mine"]
    assert found(service, {"customerAccountId": "ACC-9"}) == ["CO-mine"]
    assert found(service, {"additionalInformationValue": "REQ-1"}) == ["CO-mine"]
    # The sample's other item is in every order of the fixture.
    assert "CO-mine" in found(service, {"itemId": order["items"][1]["itemId"]})
    assert found(service, {"itemId": "ITEM-ø", "customerAccountId": "ACC-8"}) == []
    assert found(service, {"additionalInformationValue": "REQ"}) == []


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({}, ""),
        ({"pageSize": 5}, ""),
        ({"customerId": ""}, "/customerId"),
        ({"customerId": 7}, "/customerId"),
        ({"customerId": "x" * 1501}, "/customerId"),
        ({"status": []}, "/status"),
        ({"status": [f"S{index}" for index in range(11)]}, "/status"),
        ({"status": ["S1", 2]}, "/status/1"),
        ({"itemId": "I", "additionalInformationValue": "V"}, ""),
        ({"receivedAt": {}}, "/receivedAt"),
        ({"receivedAt": {"from": "2026-12-01"}}, "/receivedAt/from"),
        ({"receivedAt": {"from": 1}}, "/receivedAt/from"),
        ({"receivedAt": {"after": "2026-12-01T00:00:00Z"}}, "/receivedAt/after"),
        (
            {"receivedAt": {"from": "2026-12-02T00:00:00Z", "before": "2026-12-01T00:00:00Z"}},
            "/receivedAt",
        ),
        ({"customerId": "C-1", "pageSize": 0}, "/pageSize"),
        ({"customerId": "C-1", "pageSize": 101}, "/pageSize"),
        ({"customerId": "C-1", "pageSize": "5"}, "/pageSize"),
        ({"customerId": "C-1", "pageToken": "!!"}, "/pageToken"),
        (
            {
                "customerId": "C-1",
                "pageToken": page_token(
                    SearchCriteria(customer_id="C-2"), SearchPosition(T0, "CO-1")
                ),
            },
            "/pageToken",
        ),
        ({"customerId": "C-1", "unknown": 1}, "/unknown"),
        ([], ""),
        # Issue 29: each was a 500 (an OverflowError, a RecursionError).
        ({"receivedAt": {"from": "0001-01-01T00:00:00+01:00"}}, "/receivedAt/from"),
        ({"receivedAt": {"before": "9999-12-31T23:59:59-01:00"}}, "/receivedAt/before"),
        (
            {"customerId": "C-1", "pageToken": base64.urlsafe_b64encode(b"[" * 3000).decode()},
            "/pageToken",
        ),
        (
            {
                "customerId": "C-1",
                "pageToken": base64.urlsafe_b64encode(b"[" * 65 + b"]" * 65).decode(),
            },
            "/pageToken",
        ),
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
        def search(
            self,
            business_unit_id: str,
            criteria: SearchCriteria,
            *,
            limit: int,
            after: SearchPosition | None,
        ) -> list[OrderSummary]:
            raise StoreUnavailable("unreachable")

    service = oms_api(InMemoryOrderPublisher(), DownStore(), retry_after_seconds=4)
    response = search(service, {"customerId": "C-1"})
    assert response.status == 503
    assert response.headers["Retry-After"] == "4"


def test_a_page_token_names_where_the_next_page_starts_for_its_criteria_only() -> None:
    criteria = SearchCriteria(statuses=("A", "B"), received_from=T0)
    position = SearchPosition(T0 + timedelta(microseconds=7), "CO-ø-x")
    token = page_token(criteria, position)
    # The statuses are a set: their order does not make another search.
    assert position_of(token, SearchCriteria(statuses=("B", "A"), received_from=T0)) == position
    with pytest.raises(InvalidPageToken, match="other criteria"):
        position_of(token, SearchCriteria(statuses=("A",), received_from=T0))
    for garbage in ("", "e30", "W1sxXV0", token[:-2]):
        with pytest.raises(InvalidPageToken):
            position_of(garbage, criteria)


def test_a_page_token_of_the_release_before_is_refused_with_a_reason() -> None:
    # What the search by customerId of the release before issued (order id order).
    previous = (FORMATS / "search-page-token-v1.txt").read_text().strip()
    with pytest.raises(InvalidPageToken, match="release before this one"):
        position_of(previous, SearchCriteria(customer_id="C-1"))


def test_stale_versions_do_not_change_what_the_search_answers(
    service: ApiService, store: InMemoryOrderStore
) -> None:
    store_message(
        store,
        order_message("BU1", "CO-0", T0 - timedelta(seconds=1), customerId="C-1", status="OLD"),
    )
    assert found(service, {"status": "OLD"}) == []
    assert found(service, {"status": "S0"}) == ["CO-0"]


def test_an_order_is_found_by_its_stored_version_only(
    service: ApiService, store: InMemoryOrderStore
) -> None:
    store_message(
        store,
        order_message("BU1", "CO-0", T0 + timedelta(minutes=1), customerId="C-1", status="NEW"),
    )
    assert found(service, {"status": "S0"}) == []
    assert found(service, {"status": ["NEW", "S0"]}) == ["CO-0"]


def test_a_query_waits_for_an_index_being_built_but_not_for_a_missing_one() -> None:
    from google.api_core import exceptions

    from shared.adapters.firestore import index_building

    building = exceptions.FailedPrecondition(  # type: ignore[no-untyped-call]
        "The query requires an index. That index is currently building and cannot be used "
        "yet. See its status here: https://console.firebase.google.com/v1/r/project/p/x"
    )
    missing = exceptions.FailedPrecondition(  # type: ignore[no-untyped-call]
        "The query requires an index. You can create it here: https://console.firebase.google.com/x"
    )
    assert index_building(building)
    assert not index_building(missing)
