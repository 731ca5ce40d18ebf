"""The search, with the in-memory adapters: criteria, order, paging, isolation, bad input,
and the search by fulfillment status across business units."""

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
from shared.domain.http import HttpRequest, HttpResponse
from shared.domain.limits import FIRESTORE_MAX_INDEXED_VALUE_BYTES
from shared.domain.search import SearchCriteria, SearchPosition, page_token, position_of
from shared.domain.store_state import FULFILLED, READY_FOR_PICKUP
from shared.domain.store_updates import StoreUpdate, UpdateKind
from shared.domain.stored_order import OrderSummary, fulfillment_state
from shared.domain.timestamps import format_timestamp
from shared.errors import InvalidPageToken, StoreUnavailable
from tests.support import (
    FORMATS,
    PICKUP_ITEM,
    order_body,
    order_message,
    problem_of,
    record_store_update,
    store_message,
    unique_id,
    with_pickup,
)

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
            "businessUnitId": "BU1",
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


def test_a_page_token_of_the_release_before_fulfillments_still_pages() -> None:
    # Issued by the release before the search by fulfillment status (made with its code)
    # for these criteria, after CO-100234: a client paging through a deployment goes on.
    previous = (FORMATS / "search-page-token-v2.txt").read_text().strip()
    criteria = SearchCriteria(customer_id="C-5521", statuses=("READY", "CREATED"), received_from=T0)
    assert position_of(previous, criteria) == SearchPosition(
        datetime(2026, 12, 6, 9, 14, 3, 518204, tzinfo=UTC), "CO-100234"
    )


# The search by fulfillment status: what is waiting for pickup at a store.


def update(store: InMemoryOrderStore, unit: str, order_id: str, kind: UpdateKind) -> None:
    assert record_store_update(store, unit, order_id, StoreUpdate(unique_id(), kind)).verdict.writes


@pytest.fixture
def pickups() -> InMemoryOrderStore:
    """Orders of three business units, some to be picked up at BU-B.

    T0+1 A-S2S, sold at BU-A, picked up at BU-B, ready; T0+2 A-OWN, at BU-A, ready;
    T0+3 B-OWN, BU-B's without fulfillments, ready; T0+4 B-WAIT, BU-B's, not ready;
    T0+5 C-OMS, sold at BU-C, whose OMS says its fulfillment at BU-B is ready.
    """
    store = InMemoryOrderStore()
    for seconds, unit, order_id, body in (
        (1, "BU-A", "A-S2S", with_pickup("A-S2S", "BU-B")),
        (2, "BU-A", "A-OWN", with_pickup("A-OWN", "BU-A")),
        (3, "BU-B", "B-OWN", with_pickup("B-OWN", None)),
        (4, "BU-B", "B-WAIT", with_pickup("B-WAIT", None)),
        (5, "BU-C", "C-OMS", with_pickup("C-OMS", "BU-B", READY_FOR_PICKUP)),
    ):
        store_message(store, order_message(unit, order_id, T0 + timedelta(seconds=seconds), body))
    for unit, order_id in (("BU-A", "A-S2S"), ("BU-A", "A-OWN"), ("BU-B", "B-OWN")):
        update(store, unit, order_id, UpdateKind.READY)
    return store


def summaries(service: ApiService, body: Any, business_unit: str) -> list[tuple[str, str]]:
    response = search(service, body, business_unit=business_unit)
    assert response.status == 200, response.body
    return [
        (order["businessUnitId"], order["customerOrderId"])
        for order in json.loads(response.body)["customerOrders"]
    ]


def test_fulfillment_status_finds_what_waits_at_this_store_whoever_sold_it(
    pickups: InMemoryOrderStore,
) -> None:
    service = oms_api(InMemoryOrderPublisher(), pickups, retry_after_seconds=4)
    ready = {"fulfillmentStatus": READY_FOR_PICKUP}
    assert summaries(service, ready, "BU-B") == [
        ("BU-C", "C-OMS"),
        ("BU-B", "B-OWN"),
        ("BU-A", "A-S2S"),
    ]
    # BU-A's store has its own order only: the store-to-store order is BU-B's to hand out.
    assert summaries(service, ready, "BU-A") == [("BU-A", "A-OWN")]
    assert summaries(service, ready, "BU-C") == []
    # Handed out, it leaves the list and is found as fulfilled.
    update(pickups, "BU-A", "A-S2S", UpdateKind.PICKUP)
    assert summaries(service, ready, "BU-B") == [("BU-C", "C-OMS"), ("BU-B", "B-OWN")]
    fulfilled = {"fulfillmentStatus": [FULFILLED, "NONE-SUCH"]}
    assert summaries(service, fulfilled, "BU-B") == [("BU-A", "A-S2S")]
    both = {"fulfillmentStatus": [READY_FOR_PICKUP, FULFILLED]}
    assert len(summaries(service, both, "BU-B")) == 3
    # The business unit's own search still sees its own orders only.
    assert summaries(service, {"customerId": "C-5521"}, "BU-B") == [
        ("BU-B", "B-WAIT"),
        ("BU-B", "B-OWN"),
    ]


def test_fulfillment_status_combines_with_the_received_at_range(
    pickups: InMemoryOrderStore,
) -> None:
    service = oms_api(InMemoryOrderPublisher(), pickups, retry_after_seconds=4)
    body = {
        "fulfillmentStatus": READY_FOR_PICKUP,
        "receivedAt": {
            "from": format_timestamp(T0 + timedelta(seconds=1)),
            "before": format_timestamp(T0 + timedelta(seconds=5)),
        },
    }
    assert summaries(service, body, "BU-B") == [("BU-B", "B-OWN"), ("BU-A", "A-S2S")]


def test_pages_of_a_fulfillment_search_span_business_units_once_each() -> None:
    store = InMemoryOrderStore()
    # Ties on receivedAt across business units: ordered by business unit, then order id,
    # both descending, as Firestore orders the documents' names.
    units = ("BU-A", "BU-A-B", "BU-B", "BU-ø")
    expected = []
    for second in range(3):
        for unit in units:
            for order_id in (f"CO-{second}-1", f"CO-{second}-2"):
                body = with_pickup(order_id, "STORE-1", READY_FOR_PICKUP)
                at = T0 + timedelta(seconds=second)
                store_message(store, order_message(unit, order_id, at, body))
                expected.append((at, unit.encode(), order_id.encode(), unit, order_id))
    expected.sort(reverse=True)
    service = oms_api(InMemoryOrderPublisher(), store, retry_after_seconds=4)
    request: dict[str, Any] = {"fulfillmentStatus": READY_FOR_PICKUP, "pageSize": 5}
    seen: list[tuple[str, str]] = []
    while True:
        answer = json.loads(search(service, request, business_unit="STORE-1").body)
        seen.extend(
            (order["businessUnitId"], order["customerOrderId"])
            for order in answer["customerOrders"]
        )
        if "nextPageToken" not in answer:
            break
        request["pageToken"] = answer["nextPageToken"]
    assert seen == [(unit, order_id) for *_, unit, order_id in expected]


def test_a_fulfillment_search_s_page_token_names_the_business_unit_of_its_last_order() -> None:
    criteria = SearchCriteria(fulfillment_states=("BU-B/READY_FOR_PICKUP",))
    position = SearchPosition(T0, "CO-1", "BU-A")
    token = page_token(criteria, position)
    assert position_of(token, criteria) == position
    # The statuses are a set; another store's, or a search of one business unit, is another.
    both = ("BU-B/FULFILLED", "BU-B/READY_FOR_PICKUP")
    assert position_of(page_token(SearchCriteria(fulfillment_states=both), position),
                       SearchCriteria(fulfillment_states=both[::-1])) == position  # fmt: skip
    for other in (
        SearchCriteria(fulfillment_states=("BU-C/READY_FOR_PICKUP",)),
        SearchCriteria(received_from=T0),
    ):
        with pytest.raises(InvalidPageToken):
            position_of(token, other)
    # A position without its business unit does not page a search across business units,
    # nor one with a business unit a search of one.
    with pytest.raises(InvalidPageToken, match="not a page token"):
        position_of(page_token(criteria, SearchPosition(T0, "CO-1")), criteria)
    one = SearchCriteria(customer_id="C-1")
    with pytest.raises(InvalidPageToken, match="not a page token"):
        position_of(page_token(one, position), one)
    with pytest.raises(InvalidPageToken, match="not a page token"):
        position_of(page_token(criteria, SearchPosition(T0, "CO-1", "__x__")), criteria)


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"fulfillmentStatus": []}, "/fulfillmentStatus"),
        ({"fulfillmentStatus": ""}, "/fulfillmentStatus/0"),
        ({"fulfillmentStatus": 7}, "/fulfillmentStatus"),
        ({"fulfillmentStatus": ["READY_FOR_PICKUP", 2]}, "/fulfillmentStatus/1"),
        ({"fulfillmentStatus": [f"S{index}" for index in range(11)]}, "/fulfillmentStatus"),
        ({"fulfillmentStatus": "x" * 989}, "/fulfillmentStatus/0"),
        ({"fulfillmentStatus": "READY_FOR_PICKUP", "customerId": "C-1"}, ""),
        ({"fulfillmentStatus": "READY_FOR_PICKUP", "status": "CREATED"}, ""),
        ({"fulfillmentStatus": "READY_FOR_PICKUP", "itemId": PICKUP_ITEM}, ""),
        ({"fulfillmentStatus": "READY_FOR_PICKUP", "customerAccountId": "ACC-778"}, ""),
        ({"fulfillmentStatus": "READY_FOR_PICKUP", "additionalInformationValue": "R"}, ""),
        (
            {
                "fulfillmentStatus": "READY_FOR_PICKUP",
                "pageToken": page_token(SearchCriteria(customer_id="C-1"), SearchPosition(T0, "C")),
            },
            "/pageToken",
        ),
    ],
)
def test_bad_fulfillment_searches_are_422_naming_the_member(
    service: ApiService, body: Any, pointer: str
) -> None:
    document = problem_of(search(service, body))
    assert document["status"] == 422
    assert document["type"].endswith("invalid-search")
    assert pointer in {error["pointer"] for error in document["errors"]}
    if pointer == "":
        [error] = document["errors"]
        assert "combines with receivedAt only" in error["detail"]


def test_the_longest_fulfillment_status_is_searched_whole_at_the_longest_store() -> None:
    store, status = "S" * 511, "x" * 988
    state = SearchCriteria(fulfillment_states=(fulfillment_state(store, status),))
    assert len(state.fulfillment_states[0].encode()) == FIRESTORE_MAX_INDEXED_VALUE_BYTES
    body = {"fulfillmentStatus": status}
    service = oms_api(InMemoryOrderPublisher(), InMemoryOrderStore(), retry_after_seconds=4)
    assert search(service, body, business_unit=store).status == 200


def put(service: ApiService, unit: str, body: dict[str, Any]) -> HttpResponse:
    raw = json.dumps(body).encode()
    order_id = body["customerOrder"]["customerOrderId"]
    path = f"/business-units/{unit}/customer-orders/{order_id}"
    return service.handle(HttpRequest("PUT", path, "application/json", len(raw), io.BytesIO(raw)))


def test_an_oms_fulfillment_status_is_refused_where_its_search_could_not_be_exact() -> None:
    # {store}/{status} is indexed whole up to 1,500 bytes: 511 + 1 + 988.
    service = oms_api(InMemoryOrderPublisher(), InMemoryOrderStore(), retry_after_seconds=4)
    store = "S" * 511
    longest = with_pickup("CO-1", store, "x" * 988)
    assert put(service, "BU1", longest).status == 202
    document = problem_of(put(service, "BU1", with_pickup("CO-1", store, "x" * 989)))
    assert document["status"] == 422
    assert "/customerOrder/fulfillments/0/status" in {e["pointer"] for e in document["errors"]}


def test_an_order_cancelled_after_it_was_readied_is_still_found_waiting_with_its_status(
    pickups: InMemoryOrderStore,
) -> None:
    # Readied items do not stop a cancellation; the associate sees it and puts them back.
    body = with_pickup("A-S2S", "BU-B")
    body["customerOrder"]["status"] = "CANCELLED"
    message = order_message("BU-A", "A-S2S", T0 + timedelta(minutes=1), body)
    assert store_message(pickups, message).verdict.writes
    service = oms_api(InMemoryOrderPublisher(), pickups, retry_after_seconds=4)
    answer = json.loads(
        search(service, {"fulfillmentStatus": READY_FOR_PICKUP}, business_unit="BU-B").body
    )
    assert [(o["customerOrderId"], o["status"]) for o in answer["customerOrders"]] == [
        ("A-S2S", "CANCELLED"),
        ("C-OMS", "CREATED"),
        ("B-OWN", "CREATED"),
    ]
