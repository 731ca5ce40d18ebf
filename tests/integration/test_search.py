"""The search on the real Firestore emulator: every combination of criteria, paging, the limits.

The emulator builds no index, so it answers queries production would refuse for
want of one: each query here is also checked against the indexes
``terraform/firestore.tf`` creates.
"""

from __future__ import annotations

import copy
import io
import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.cloud import firestore

from shared.adapters.firestore import FirestoreOrderStore
from shared.adapters.memory import InMemoryOrderPublisher, InMemoryOrderStore
from shared.api.oms import oms_api
from shared.api.pos import pos_api
from shared.api.put_order import validate_body
from shared.api.service import ApiService
from shared.config import Settings
from shared.domain.addresses import document_path, pickup_location, ready_location
from shared.domain.conflict import Statuses
from shared.domain.http import HttpRequest, HttpResponse
from shared.domain.jsonbody import dump_json
from shared.domain.search import SearchCriteria
from shared.domain.search_index import (
    FIRESTORE_MAX_INDEX_ENTRIES,
    FULFILLMENT_STATES_INDEX,
    index_cost,
    indexes_serving,
)
from shared.domain.store_state import FULFILLED, READY_FOR_PICKUP
from shared.domain.timestamps import format_timestamp
from shared.tools import reindex
from shared.tools.devstack import LocalStack
from tests.support import (
    order_body,
    order_message,
    record_store_update,
    store_message,
    unique_id,
    with_pickup,
    write_stored_fixture,
)
from tests.terraform.firestore_indexes import composite_indexes, single_field_indexes
from tests.terraform.tfconfig import load

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CUSTOMERS = ("C-A", "C-B")
STATUSES = ("OPEN", "READY", "DONE")
ACCOUNTS = ("ACC-1", "ACC-2", None)
ITEMS = ("I-1", "I-2", "I-3", "I-4")


@pytest.fixture(scope="module")
def store(stack: LocalStack, firestore_client: firestore.Client) -> FirestoreOrderStore:
    return FirestoreOrderStore(
        firestore_client, timeout_seconds=Settings(project_id="unused").firestore_timeout_seconds
    )


@pytest.fixture(scope="module")
def api(store: FirestoreOrderStore) -> ApiService:
    return oms_api(InMemoryOrderPublisher(), store, retry_after_seconds=1)


@dataclass(frozen=True)
class Placed:
    """An order as this module chose it: the values its criteria are about, and its body."""

    customer_order_id: str
    received_at: datetime
    customer_id: str
    status: str
    customer_account_id: str | None
    item_ids: tuple[str, ...]
    additional_information_values: tuple[str, ...]

    def body(self) -> dict[str, Any]:
        body = order_body(self.customer_order_id, customerId=self.customer_id, status=self.status)
        order = body["customerOrder"]
        template = order["items"][0]
        order["items"] = [{**template, "itemId": item_id} for item_id in self.item_ids]
        if self.customer_account_id is None:
            del order["invoicePaymentInstructions"]
        else:
            instructions = order["invoicePaymentInstructions"]
            instructions["customerAccountId"] = self.customer_account_id
            [information] = instructions["additionalInformation"]
            instructions["additionalInformation"] = [
                {**information, "value": value} for value in self.additional_information_values
            ]
        return body


def placed(index: int) -> Placed:
    """An order whose criteria vary with ``index``, so that combinations pick out subsets."""
    account = ACCOUNTS[index % 3]
    return Placed(
        customer_order_id=f"CO-{index:02d}",
        received_at=T0 + timedelta(minutes=index // 2),  # two orders share each minute
        customer_id=CUSTOMERS[index % 2],
        status=STATUSES[index % 3],
        customer_account_id=account,
        item_ids=tuple(ITEMS[(index + shift) % 4] for shift in range(1 + index % 2)),
        additional_information_values=() if account is None else (f"REQ-{index % 5}",),
    )


@pytest.fixture(scope="module")
def unit(store: FirestoreOrderStore) -> tuple[str, list[Placed]]:
    """24 orders of one business unit, and the same orders in another."""
    business_unit_id, other = unique_id("BU-FIND"), unique_id("BU-FIND")
    orders = [placed(index) for index in range(24)]
    for order in orders:
        for target in (business_unit_id, other):
            message = order_message(
                target, order.customer_order_id, order.received_at, order.body()
            )
            assert store_message(store, message).verdict.writes
    return business_unit_id, orders


def expected(orders: list[Placed], criteria: SearchCriteria) -> list[str]:
    """What the search must answer, by what each criterion means, newest first.

    Written out here rather than taken from the code under test (``SearchCriteria``'s
    conditions, which the Firestore query is built from), so a criterion the query
    drops or misreads shows.
    """
    matches = [
        order
        for order in orders
        if (criteria.customer_id is None or order.customer_id == criteria.customer_id)
        and (not criteria.statuses or order.status in criteria.statuses)
        and (
            criteria.customer_account_id is None
            or order.customer_account_id == criteria.customer_account_id
        )
        and (criteria.item_id is None or criteria.item_id in order.item_ids)
        and (
            criteria.additional_information_value is None
            or criteria.additional_information_value in order.additional_information_values
        )
        and (criteria.received_from is None or order.received_at >= criteria.received_from)
        and (criteria.received_before is None or order.received_at < criteria.received_before)
    ]
    matches.sort(key=lambda order: (order.received_at, order.customer_order_id), reverse=True)
    return [order.customer_order_id for order in matches]


def every_combination(target: Placed) -> Iterator[SearchCriteria]:
    """Each criterion absent or taken from ``target`` (status: one, or several), every way."""
    account = target.customer_account_id
    values = target.additional_information_values
    arrays: list[dict[str, Any]] = [{}, {"item_id": target.item_ids[-1]}]
    if values:
        arrays.append({"additional_information_value": values[0]})
    ranges: list[dict[str, Any]] = [
        {},
        {"received_from": target.received_at},
        {"received_before": target.received_at + timedelta(minutes=3)},
        {
            "received_from": target.received_at - timedelta(minutes=2),
            "received_before": target.received_at + timedelta(minutes=2),
        },
    ]
    for customer, statuses, by_account, array, window in itertools.product(
        (None, target.customer_id),
        ((), (target.status,), (target.status, "NONE-SUCH", STATUSES[0])),
        (False, True),
        arrays,
        ranges,
    ):
        if by_account and account is None:
            continue
        criteria = SearchCriteria(
            customer_id=customer,
            statuses=statuses,
            customer_account_id=account if by_account else None,
            **array,
            **window,
        )
        if criteria != SearchCriteria():
            yield criteria


def test_every_combination_finds_what_it_should_and_terraform_has_its_indexes(
    store: FirestoreOrderStore, unit: tuple[str, list[Placed]]
) -> None:
    business_unit_id, orders = unit
    tf = load()
    created = composite_indexes(tf) | single_field_indexes(tf)
    runs = 0
    for target in (orders[7], orders[11]):  # one with an account, one with none
        for criteria in every_combination(target):
            wanted = expected(orders, criteria)
            assert target.customer_order_id in wanted or criteria.received_before, criteria
            found = store.search(business_unit_id, criteria, limit=100, after=None)
            assert [order.customer_order_id for order in found] == wanted, criteria
            missing = set(indexes_serving(criteria)) - created
            assert not missing, f"no index in terraform/ serves {criteria}: {missing}"
            runs += 1
    assert runs == 190


def search(api: ApiService, business_unit_id: str, body: dict[str, Any]) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    path = f"/business-units/{business_unit_id}/customer-orders:search"
    answer = api.handle(HttpRequest("POST", path, "application/json", len(raw), io.BytesIO(raw)))
    assert answer.status == 200, answer.body
    return dict(json.loads(answer.body))


def test_the_answer_says_each_order_s_stored_version(
    api: ApiService, unit: tuple[str, list[Placed]]
) -> None:
    business_unit_id, orders = unit
    answer = search(api, business_unit_id, {"itemId": "I-1", "pageSize": 3})
    by_id = {order.customer_order_id: order for order in orders}
    first_page = [by_id[order_id] for order_id in expected(orders, SearchCriteria(item_id="I-1"))]
    assert len(first_page) > 3
    assert answer["customerOrders"] == [
        {
            "businessUnitId": business_unit_id,
            "customerOrderId": order.customer_order_id,
            "customerId": order.customer_id,
            "status": order.status,
            "receivedAt": format_timestamp(order.received_at),
        }
        for order in first_page[:3]
    ]


def test_business_units_see_only_their_own_orders(
    store: FirestoreOrderStore, unit: tuple[str, list[Placed]]
) -> None:
    business_unit_id, orders = unit
    everything = SearchCriteria(received_before=T0 + timedelta(days=1))
    mine = store.search(business_unit_id, everything, limit=100, after=None)
    assert [order.customer_order_id for order in mine] == expected(orders, everything)
    assert store.search(unique_id("BU-NONE"), everything, limit=100, after=None) == []
    elsewhere = replace(placed(0), customer_order_id="CO-elsewhere")
    store_message(store, order_message(unique_id("BU-FIND"), "CO-elsewhere", T0, elsewhere.body()))
    assert "CO-elsewhere" not in {
        order.customer_order_id
        for order in store.search(business_unit_id, everything, limit=100, after=None)
    }


def test_a_status_change_leaves_the_old_status_s_search(
    store: FirestoreOrderStore, api: ApiService
) -> None:
    business_unit_id, order_id = unique_id("BU-STALE"), unique_id("CO")
    store_message(store, order_message(business_unit_id, order_id, T0, status="READY"))
    assert found_ids(api, business_unit_id, {"status": "READY"}) == [order_id]
    store_message(
        store, order_message(business_unit_id, order_id, T0 + timedelta(minutes=1), status="DONE")
    )
    assert found_ids(api, business_unit_id, {"status": "READY"}) == []
    assert found_ids(api, business_unit_id, {"status": ["READY", "DONE"]}) == [order_id]
    # A stale version changes nothing: the stored one is newer.
    store_message(
        store, order_message(business_unit_id, order_id, T0 - timedelta(minutes=1), status="READY")
    )
    assert found_ids(api, business_unit_id, {"status": "READY"}) == []
    assert record_store_update(store, business_unit_id, order_id).verdict.writes
    # A store update changes the store's record, never the OMS's status...
    assert found_ids(api, business_unit_id, {"status": "DONE"}) == [order_id]
    assert found_ids(api, business_unit_id, {"status": "PICKED_UP"}) == []
    # ...and keeps what the body is searched by.
    item = order_body(order_id)["customerOrder"]["items"][0]["itemId"]
    assert found_ids(api, business_unit_id, {"itemId": item, "status": "DONE"}) == [order_id]


def found_ids(api: ApiService, business_unit_id: str, body: dict[str, Any]) -> list[str]:
    return [
        order["customerOrderId"] for order in search(api, business_unit_id, body)["customerOrders"]
    ]


def test_paging_through_three_pages_while_orders_are_written_repeats_and_skips_none(
    store: FirestoreOrderStore, api: ApiService
) -> None:
    business_unit_id = unique_id("BU-PAGE")
    existing = [f"CO-{index:03d}" for index in range(250)]
    for index, order_id in enumerate(existing):
        at = T0 + timedelta(seconds=index // 3)  # ties on receivedAt, ordered by id
        store_message(store, order_message(business_unit_id, order_id, at, status="READY"))
    stop = threading.Event()
    written: list[str] = []

    def write() -> None:
        for index in itertools.count():
            if stop.is_set():
                return
            order_id = f"CO-NEW-{index:04d}"
            # New orders that match, and new versions of orders that do not.
            store_message(
                store,
                order_message(business_unit_id, order_id, datetime.now(UTC), status="READY"),
            )
            store_message(
                store,
                order_message(
                    business_unit_id, f"CO-OTHER-{index % 7}", datetime.now(UTC), status="OPEN"
                ),
            )
            written.append(order_id)

    writer = threading.Thread(target=write)
    writer.start()
    seen: list[str] = []
    pages = 0
    try:
        request: dict[str, Any] = {"status": "READY", "pageSize": 100}
        while True:
            answer = search(api, business_unit_id, request)
            pages += 1
            seen.extend(order["customerOrderId"] for order in answer["customerOrders"])
            if "nextPageToken" not in answer:
                break
            request["pageToken"] = answer["nextPageToken"]
    finally:
        stop.set()
        writer.join()
    assert pages >= 3
    assert written, "nothing was written while the pages were read"
    assert len(seen) == len(set(seen)), "an order came twice"
    assert [order_id for order_id in seen if order_id in set(existing)] == sorted(
        existing, key=lambda order_id: (existing.index(order_id) // 3, order_id), reverse=True
    )


def largest_order(order_id: str) -> dict[str, Any]:
    """3,000 items, each of its own 13-digit id, and 20 additional-information values."""
    body = order_body(order_id)
    order = body["customerOrder"]
    template = order["items"][0]
    order["items"] = [{**template, "itemId": f"{7310865000000 + index}"} for index in range(3000)]
    information = order["invoicePaymentInstructions"]["additionalInformation"]
    order["invoicePaymentInstructions"]["additionalInformation"] = [
        {**information[0], "id": f"info-{index}", "value": f"VALUE-{index}"} for index in range(20)
    ]
    return body


def test_the_largest_order_has_bounded_index_entries_is_stored_and_found(
    store: FirestoreOrderStore,
) -> None:
    business_unit_id, order_id = unique_id("BU-LARGE"), unique_id("CO")
    body = largest_order(order_id)
    raw = dump_json(body)
    document = validate_body(json.loads(raw), business_unit_id, order_id, body_bytes=len(raw))
    message = order_message(business_unit_id, order_id, T0, copy.deepcopy(body))
    store_message(store, message)
    stored = store.get(business_unit_id, order_id)
    assert stored is not None
    assert len(stored.search_fields.item_ids) == len(document.customer_order.items) == 3000
    cost = index_cost(
        business_unit_id,
        order_id,
        customer_id=stored.customer_id,
        status=stored.status,
        search_fields=stored.search_fields,
    )
    # One entry per distinct value, and one for receivedAt: not 8 per item.
    assert cost.entries == 1 + 2 + 1 + 3000 + 20
    assert cost.entries * 10 < FIRESTORE_MAX_INDEX_ENTRIES
    last = SearchCriteria(item_id="7310865002999", customer_id=stored.customer_id)
    assert [
        order.customer_order_id
        for order in store.search(business_unit_id, last, limit=5, after=None)
    ] == [order_id]
    info = replace(SearchCriteria(), additional_information_value="VALUE-19")
    assert len(store.search(business_unit_id, info, limit=5, after=None)) == 1


def test_orders_stored_before_the_search_fields_get_them_from_orders_reindex(
    store: FirestoreOrderStore,
    firestore_client: firestore.Client,
    stack: LocalStack,
    capsys: pytest.CaptureFixture[str],
) -> None:
    business_unit_id = unique_id("BU-REINDEX")
    old, picked = unique_id("CO-OLD"), unique_id("CO-OLD")
    for order_id in (old, picked):
        write_stored_fixture(
            firestore_client, "stored-order-before-search.json", business_unit_id, order_id
        )
    store_message(store, order_message(business_unit_id, unique_id("CO-NEW"), T0))
    by_item = SearchCriteria(item_id="7310865004703")
    # Found by what the release before stored, not yet by the body's fields...
    assert (
        len(
            store.search(
                business_unit_id, SearchCriteria(customer_id="C-5521"), limit=9, after=None
            )
        )
        == 3
    )
    assert len(store.search(business_unit_id, by_item, limit=9, after=None)) == 1
    # ...which the store reads from the body. A store update writes the store's fields
    # alone (and keeps every other): the search fields wait for orders-reindex.
    stored = store.get(business_unit_id, old)
    assert stored is not None
    assert stored.search_fields.customer_account_id == "ACC-778"
    assert record_store_update(store, business_unit_id, picked).verdict.writes
    assert len(store.search(business_unit_id, by_item, limit=9, after=None)) == 1

    assert (
        reindex.main(
            ["--project", stack.config.project_id, "--business-unit", business_unit_id, "--dry-run"]
        )
        == 0
    )
    assert "read 3, would write 2, already had them 1" in capsys.readouterr().out
    assert len(store.search(business_unit_id, by_item, limit=9, after=None)) == 1
    assert (
        reindex.main(["--project", stack.config.project_id, "--business-unit", business_unit_id])
        == 0
    )
    assert f"{business_unit_id}: read 3, wrote 2, already had them 1" in capsys.readouterr().out
    found = store.search(
        business_unit_id,
        SearchCriteria(customer_account_id="ACC-778", additional_information_value="REQ-2026-0042"),
        limit=9,
        after=None,
    )
    assert {order.customer_order_id for order in found} >= {old, picked}
    reindexed = store.get(business_unit_id, old)
    assert reindexed is not None
    assert (reindexed.body, reindexed.received_at, reindexed.status) == (
        stored.body,
        stored.received_at,
        stored.status,
    )
    assert (
        reindex.main(["--project", stack.config.project_id, "--business-unit", business_unit_id])
        == 0
    )
    assert "wrote 0, already had them 3" in capsys.readouterr().out


# The search by fulfillment status: what is waiting for pickup at a store, whoever sold it.


def post(api: ApiService, path: str, body: dict[str, Any]) -> HttpResponse:
    raw = json.dumps(body).encode()
    return api.handle(HttpRequest("POST", path, "application/json", len(raw), io.BytesIO(raw)))


def waiting(api: ApiService, store: str, *statuses: str) -> list[tuple[str, str]]:
    answer = search(api, store, {"fulfillmentStatus": list(statuses)})
    return [
        (order["businessUnitId"], order["customerOrderId"]) for order in answer["customerOrders"]
    ]


def test_a_store_to_store_order_readied_at_its_store_is_found_there_and_only_there(
    store: FirestoreOrderStore, api: ApiService
) -> None:
    sold_at, pickup_at = unique_id("BU-SOLD"), unique_id("BU-PICK")
    order_id = unique_id("CO-S2S")
    store_message(store, order_message(sold_at, order_id, T0, with_pickup(order_id, pickup_at)))
    pos = pos_api(InMemoryOrderPublisher(), store, statuses=Statuses(), retry_after_seconds=1)
    assert waiting(api, pickup_at, READY_FOR_PICKUP) == []
    ready = post(pos, ready_location(sold_at, order_id), {"updateId": unique_id("ready")})
    assert ready.status == 200, ready.body
    # Waiting at the store it is to be picked up at, stored under the one that sold it...
    assert waiting(api, pickup_at, READY_FOR_PICKUP) == [(sold_at, order_id)]
    answer = search(pos, pickup_at, {"fulfillmentStatus": READY_FOR_PICKUP})
    [summary] = answer["customerOrders"]
    assert summary == {
        "businessUnitId": sold_at,
        "customerOrderId": order_id,
        "customerId": "C-5521",
        "status": "CREATED",
        "receivedAt": format_timestamp(T0),
    }
    # ...and not at the one that sold it, whose own search still finds it as its order.
    assert waiting(api, sold_at, READY_FOR_PICKUP) == []
    assert found_ids(api, sold_at, {"customerId": "C-5521"}) == [order_id]
    assert found_ids(api, pickup_at, {"customerId": "C-5521"}) == []
    # Handed out, it is found fulfilled, no longer waiting.
    pickup = post(pos, pickup_location(sold_at, order_id), {"updateId": unique_id("pickup")})
    assert pickup.status == 200, pickup.body
    assert waiting(api, pickup_at, READY_FOR_PICKUP) == []
    assert waiting(api, pickup_at, READY_FOR_PICKUP, FULFILLED) == [(sold_at, order_id)]


def test_pages_of_a_fulfillment_search_cross_business_units_in_firestore_s_order(
    store: FirestoreOrderStore, api: ApiService
) -> None:
    pickup_at, prefix = unique_id("BU-PICK"), unique_id("BU")
    # Ties on receivedAt across business units whose ids sort differently as whole paths
    # ("-" < "/") than segment by segment: the in-memory store claims Firestore's order.
    units = (f"{prefix}-A", f"{prefix}-A-B", f"{prefix}-B", f"{prefix}-ø")
    memory = InMemoryOrderStore()
    expected = []
    for second in range(3):
        for unit in units:
            for order_id in (f"CO-{second}-1", f"CO-{second}-2"):
                at = T0 + timedelta(seconds=second)
                body = with_pickup(order_id, pickup_at, READY_FOR_PICKUP)
                for target in (store, memory):
                    store_message(target, order_message(unit, order_id, at, body))
                expected.append((unit, order_id))
    # Orders of another store and status, everywhere, which the search must skip.
    for unit in units:
        body = with_pickup("CO-other", unique_id("BU-ELSEWHERE"), READY_FOR_PICKUP)
        store_message(store, order_message(unit, "CO-other", T0, body))
    in_firestore = every_page(api, pickup_at, {"fulfillmentStatus": READY_FOR_PICKUP})
    assert sorted(in_firestore) == sorted(expected)
    assert len(set(in_firestore)) == len(in_firestore) == 24
    in_memory = oms_api(InMemoryOrderPublisher(), memory, retry_after_seconds=1)
    assert every_page(in_memory, pickup_at, {"fulfillmentStatus": READY_FOR_PICKUP}) == in_firestore


def every_page(
    api: ApiService, business_unit_id: str, body: dict[str, Any]
) -> list[tuple[str, str]]:
    """Every order found, page after page of 5, with the business unit each is stored under."""
    seen: list[tuple[str, str]] = []
    request = {**body, "pageSize": 5}
    while True:
        answer = search(api, business_unit_id, request)
        seen.extend(
            (order["businessUnitId"], order["customerOrderId"])
            for order in answer["customerOrders"]
        )
        if "nextPageToken" not in answer:
            return seen
        request["pageToken"] = answer["nextPageToken"]


def test_the_fulfillment_search_finds_what_it_should_and_terraform_has_its_index(
    store: FirestoreOrderStore,
) -> None:
    pickup_at = unique_id("BU-PICK")
    statuses = (READY_FOR_PICKUP, FULFILLED, "PICKING")
    placed = []
    for index in range(12):
        unit = f"BU-SELLER-{index % 3}-{pickup_at}"
        order_id = f"CO-{index:02d}"
        at = T0 + timedelta(minutes=index // 2)
        status = statuses[index % 3]
        body = with_pickup(order_id, pickup_at, status)
        store_message(store, order_message(unit, order_id, at, body))
        placed.append((at, unit, order_id, status))
    tf = load()
    created = composite_indexes(tf) | single_field_indexes(tf)
    ranges: list[dict[str, Any]] = [
        {},
        {"received_from": T0 + timedelta(minutes=2)},
        {"received_before": T0 + timedelta(minutes=4)},
        {"received_from": T0 + timedelta(minutes=1), "received_before": T0 + timedelta(minutes=5)},
    ]
    runs = 0
    for wanted_statuses in ((READY_FOR_PICKUP,), (READY_FOR_PICKUP, "PICKING"), ("NONE",)):
        for window in ranges:
            criteria = SearchCriteria(
                fulfillment_states=tuple(f"{pickup_at}/{status}" for status in wanted_statuses),
                **window,
            )
            found = store.search(pickup_at, criteria, limit=100, after=None)
            frm, before = window.get("received_from"), window.get("received_before")
            wanted = sorted(
                (
                    (at, unit.encode(), order_id.encode(), unit, order_id)
                    for at, unit, order_id, status in placed
                    if status in wanted_statuses
                    and (frm is None or at >= frm)
                    and (before is None or at < before)
                ),
                reverse=True,
            )
            assert [(o.business_unit_id, o.customer_order_id) for o in found] == [
                (unit, order_id) for *_, unit, order_id in wanted
            ], criteria
            serving = set(indexes_serving(criteria))
            assert serving == {FULFILLMENT_STATES_INDEX}
            assert not serving - created, f"no index in terraform/ serves {criteria}"
            runs += 1
    assert runs == 12


def test_orders_of_the_release_before_fulfillments_get_their_states_from_orders_reindex(
    store: FirestoreOrderStore,
    api: ApiService,
    firestore_client: firestore.Client,
    stack: LocalStack,
    capsys: pytest.CaptureFixture[str],
) -> None:
    unit = unique_id("BU-REINDEX")
    picked, waiting_id, oldest = unique_id("CO-PICKED"), unique_id("CO-OPEN"), unique_id("CO-OLD")
    write_stored_fixture(
        firestore_client, "stored-order-picked-up-before-fulfillments.json", unit, picked
    )
    write_stored_fixture(firestore_client, "stored-order-before-search.json", unit, waiting_id)
    write_stored_fixture(firestore_client, "stored-order-before-pickups.json", unit, oldest)
    new_id = unique_id("CO-NEW")
    store_message(store, order_message(unit, new_id, T0, with_pickup(new_id, unit, FULFILLED)))
    # GET shows the order the release before picked up as fulfilled; the search does not
    # find it so until its document has the field.
    stored = store.get(unit, picked)
    assert stored is not None
    assert stored.fulfillment_states == (f"{unit}/{FULFILLED}",)
    assert waiting(api, unit, FULFILLED) == [(unit, new_id)]
    argv = ["--project", stack.config.project_id, "--business-unit", unit]
    assert reindex.main([*argv, "--dry-run"]) == 0
    assert f"{unit}: read 4, would write 3, already had them 1" in capsys.readouterr().out
    assert waiting(api, unit, FULFILLED) == [(unit, new_id)]
    before = firestore_client.document(document_path(unit, picked)).get().to_dict()
    assert reindex.main(argv) == 0
    assert f"{unit}: read 4, wrote 3, already had them 1" in capsys.readouterr().out
    assert sorted(waiting(api, unit, FULFILLED)) == sorted([(unit, new_id), (unit, picked)])
    after = firestore_client.document(document_path(unit, picked)).get().to_dict()
    assert after is not None
    assert before is not None
    # The one field written, the rest as the release before left it.
    assert after.pop("fulfillmentStates") == [f"{unit}/{FULFILLED}"]
    assert after == before
    for order_id in (waiting_id, oldest):
        document = firestore_client.document(document_path(unit, order_id)).get().to_dict()
        assert document is not None
        assert document["fulfillmentStates"] == []
        assert document["itemIds"] == ["7310865004703", "7310865071231"]
    assert reindex.main(argv) == 0
    assert f"{unit}: read 4, wrote 0, already had them 4" in capsys.readouterr().out
