"""The order store as production enforces it, through the API on the real stack.

Every order Google's limits make realistic is either refused at the door with
its 4xx, or stored and read back byte for byte; the largest body the API
accepts, built to be as costly as possible for the stored shape, is stored.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import requests
from google.cloud import firestore

from shared.domain import stored_order
from shared.domain.addresses import order_location, search_location
from shared.domain.limits import MAX_BODY_BYTES, MAX_ID_BYTES, MAX_PROJECTED_BYTES
from shared.tools.devstack import LocalStack
from tests.support import (
    create_pull_subscription,
    create_topic,
    order_body,
    pull_all,
    running_function,
    stored_document,
    unique_id,
    wait_for,
)

pytestmark = pytest.mark.integration

JSON = {"Content-Type": "application/json"}


def put_raw(
    http: requests.Session, base_url: str, business_unit_id: str, order_id: str, raw: bytes
) -> requests.Response:
    return http.put(
        base_url + order_location(business_unit_id, order_id), data=raw, headers=JSON, timeout=60
    )


def stored_exactly(
    http: requests.Session, ingest_url: str, business_unit_id: str, order_id: str, raw: bytes
) -> requests.Response:
    """Wait until GET answers the order, and check it answers the bytes that were sent."""
    location = ingest_url + order_location(business_unit_id, order_id)
    wait_for(lambda: http.get(location, timeout=30).status_code == 200, timeout=60)
    served = http.get(location, timeout=30)
    assert served.content == raw
    assert served.headers["ETag"] == f'"{hashlib.sha256(raw).hexdigest()}"'
    return served


def _body_with(order_id: str, raw_members: str) -> bytes:
    return (json.dumps(order_body(order_id))[:-2] + f", {raw_members}}}}}").encode()


SHAPES: dict[str, str] = {
    # In Firestore each integer of a map costs 8 bytes: 140,000 zeros made a 1.1 MB entity.
    "140000-zeros": '"zeros": [' + ",".join(["0"] * 140_000) + "]",
    "member-name-1600-bytes": f'"{"n" * 1600}": "Firestore refuses such a name in a map"',
    "arrays-of-arrays": '"matrix": [[1, 2], [3, [4, [5]]]]',
    "integers-beyond-64-bits": '"huge": 18446744073709551616, "tiny": -9223372036854775809',
    "nested-40-deep": '"deep": ' + "[" * 40 + "]" * 40,
    "number-spellings": '"total": 10.10, "ratio": 1e2, "exact": 0.1000000000000000055511151231257827',
    "unpaired-surrogate-escape": '"note": "\\ud800"',
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_legal_json_of_any_shape_is_stored_and_read_back_byte_for_byte(
    http: requests.Session, ingest_url: str, shape: str
) -> None:
    order_id = unique_id()
    raw = _body_with(order_id, SHAPES[shape])
    accepted = put_raw(http, ingest_url, "BU-SHAPES", order_id, raw)
    assert accepted.status_code == 202, accepted.text
    assert accepted.headers["ETag"] == f'"{hashlib.sha256(raw).hexdigest()}"'
    stored_exactly(http, ingest_url, "BU-SHAPES", order_id, raw)


def test_a_b2b_order_of_3000_lines_is_one_document_of_the_stored_shape(
    http: requests.Session, ingest_url: str, firestore_client: firestore.Client
) -> None:
    order_id = unique_id()
    body = order_body(order_id)
    body["customerOrder"]["items"] = [
        {
            "itemId": f"SKU-{line:05d}",
            "quantityOrdered": line % 7 + 1,
            "unitPrice": 12.5,
            "lineNumber": line,
            "warehouse": "WH-NORTH",
            "unit": "EA",
            "discount": 0.0,
            "taxCode": "S",
        }
        for line in range(3000)
    ]
    raw = json.dumps(body).encode()
    assert put_raw(http, ingest_url, "BU-B2B", order_id, raw).status_code == 202
    stored_exactly(http, ingest_url, "BU-B2B", order_id, raw)
    document = stored_document(firestore_client, "BU-B2B", order_id)
    assert document is not None
    # 24,000 fields as a map (at least 48,000 index entries, over production's 40,000);
    # as stored, the fields of the stored order, the store's record not yet among them.
    assert set(document) == set(stored_order.FIELDS) - {stored_order.STORE_STATE}


def _largest(order_id: str) -> bytes:
    """A body of exactly MAX_BODY_BYTES whose projections are as large as allowed."""
    body = order_body(
        order_id,
        customerId="é" * (MAX_PROJECTED_BYTES // 2),
        status="€" * (MAX_PROJECTED_BYTES // 3) + "s",
        padding="",
    )
    raw = json.dumps(body, ensure_ascii=False).encode()
    filler = MAX_BODY_BYTES - len(raw)
    return json.dumps(
        order_body(
            order_id,
            customerId=body["customerOrder"]["customerId"],
            status=body["customerOrder"]["status"],
            padding="x" * filler,
        ),
        ensure_ascii=False,
    ).encode()


def test_the_largest_body_accepted_with_the_largest_ids_and_projections_is_stored(
    http: requests.Session, ingest_url: str
) -> None:
    # ASCII: a business unit of multi-byte characters this long would not fit its events'
    # percent-encoded source attribute (1,024 bytes), and is refused at the door.
    business_unit_id = "B" * MAX_ID_BYTES
    order_id = "ø" * (MAX_ID_BYTES // 2) + "o"
    assert len(business_unit_id.encode()) == len(order_id.encode()) == MAX_ID_BYTES
    raw = _largest(order_id)
    assert len(raw) == MAX_BODY_BYTES
    order = json.loads(raw)["customerOrder"]
    assert len(order["customerId"].encode()) == len(order["status"].encode()) == 1024
    accepted = put_raw(http, ingest_url, business_unit_id, order_id, raw)
    assert accepted.status_code == 202, accepted.text
    stored_exactly(http, ingest_url, business_unit_id, order_id, raw)

    one_more = raw[:-2] + b" }}"
    assert len(one_more) == MAX_BODY_BYTES + 1
    refused = put_raw(http, ingest_url, business_unit_id, order_id, one_more)
    assert refused.status_code == 413
    assert f"at most {MAX_BODY_BYTES} bytes" in refused.json()["detail"]


@pytest.fixture(scope="module")
def tapped_ingest(stack: LocalStack) -> Any:
    """An ingest instance publishing to a topic of its own, and the pull that sees it."""
    topic = unique_id("store-limits")
    create_topic(stack, topic)
    create_pull_subscription(stack, topic, f"{topic}-tap")
    with running_function("ingest", stack, ORDERS_TOPIC=topic) as url:
        yield url, f"{topic}-tap"


@pytest.mark.parametrize(
    ("business_unit_id", "order_id", "changes", "status", "pointer"),
    [
        pytest.param("😀" * 256, "CO-1", {}, 400, "/businessUnitId", id="bu-id-1024-bytes"),
        pytest.param("BU1", "😀" * 128, {}, 400, "/customerOrderId", id="order-id-512-bytes"),
        pytest.param(
            "BU1", "CO-1", {"customerId": "😀" * 257}, 422, "/customerOrder/customerId",
            id="customer-id-1028-bytes",
        ),
        pytest.param(
            "BU1", "CO-1", {"status": "s" * 1025}, 422, "/customerOrder/status",
            id="status-1025-bytes",
        ),
    ],
)  # fmt: skip
def test_what_pubsub_would_refuse_is_refused_at_the_door_and_never_published(
    http: requests.Session,
    stack: LocalStack,
    tapped_ingest: tuple[str, str],
    business_unit_id: str,
    order_id: str,
    changes: dict[str, Any],
    status: int,
    pointer: str,
) -> None:
    url, tap = tapped_ingest
    raw = json.dumps(order_body(order_id, **changes)).encode()
    answer = put_raw(http, url, business_unit_id, order_id, raw)
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert [error["pointer"] for error in answer.json()["errors"]] == [pointer]
    assert pull_all(stack, tap, settle=0.5) == []


# --- the search, on the real store -----------------------------------------------------------


@pytest.fixture(scope="module")
def customers(http: requests.Session, ingest_url: str) -> dict[str, Any]:
    """Orders of two customers in one business unit, and one in another, all stored."""
    business_unit_id, other_unit = unique_id("BU-SEARCH"), unique_id("BU-SEARCH")
    customer, other = unique_id("C"), unique_id("C")
    mine = sorted(f"CO-{index:02d}-{unique_id('x')}" for index in range(12))
    placed = [(business_unit_id, order_id, customer) for order_id in mine]
    placed += [(business_unit_id, unique_id(), other), (other_unit, unique_id(), customer)]
    for unit, order_id, owner in placed:
        body = order_body(order_id, customerId=owner, status=f"S-{order_id}")
        # One at a time, so that receivedAt follows the ids.
        assert put_raw(http, ingest_url, unit, order_id, json.dumps(body).encode()).ok
    for unit, order_id, _ in placed:
        wait_for(
            lambda unit=unit, order_id=order_id: (
                http.get(  # type: ignore[misc]
                    ingest_url + order_location(unit, order_id), timeout=30
                ).status_code
                == 200
            ),
            timeout=60,
        )
    return {
        "unit": business_unit_id,
        "other_unit": other_unit,
        "customer": customer,
        "mine": mine,
    }


def search(
    http: requests.Session, ingest_url: str, business_unit_id: str, body: Any
) -> requests.Response:
    return http.post(
        ingest_url + search_location(business_unit_id), json=body, headers=JSON, timeout=30
    )


def test_the_search_pages_through_every_order_of_the_customer_once(
    http: requests.Session, ingest_url: str, customers: dict[str, Any]
) -> None:
    found: list[dict[str, str]] = []
    request: dict[str, Any] = {"customerId": customers["customer"], "pageSize": 5}
    pages = 0
    while True:
        answer = search(http, ingest_url, customers["unit"], request)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        pages += 1
        found.extend(page["customerOrders"])
        if "nextPageToken" not in page:
            break
        request["pageToken"] = page["nextPageToken"]
    assert pages == 3
    # Newest first: they were stored in id order.
    assert [
        (order["customerOrderId"], order["customerId"], order["status"]) for order in found
    ] == [
        (order_id, customers["customer"], f"S-{order_id}")
        for order_id in reversed(customers["mine"])
    ]
    received = [order["receivedAt"] for order in found]
    assert received == sorted(received, reverse=True)


def test_the_search_sees_only_its_business_unit_and_nothing_for_an_unknown_customer(
    http: requests.Session, ingest_url: str, customers: dict[str, Any]
) -> None:
    elsewhere = search(
        http, ingest_url, customers["other_unit"], {"customerId": customers["customer"]}
    )
    assert [order["customerId"] for order in elsewhere.json()["customerOrders"]] == [
        customers["customer"]
    ]
    unknown = search(http, ingest_url, customers["unit"], {"customerId": unique_id("nobody")})
    assert unknown.status_code == 200
    assert unknown.json() == {"customerOrders": []}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"customerId": ""}, 422),
        ({"customerId": "C", "pageSize": 1000}, 422),
        ({"customerId": "C", "pageToken": "forged"}, 422),
        (b"{not json", 400),
    ],
)
def test_bad_searches_are_problems(
    http: requests.Session, ingest_url: str, body: Any, status: int
) -> None:
    url = ingest_url + search_location("BU1")
    answer = (
        http.post(url, data=body, headers=JSON, timeout=30)
        if isinstance(body, bytes)
        else http.post(url, json=body, timeout=30)
    )
    assert answer.status_code == status
    assert answer.headers["Content-Type"] == "application/problem+json"


def test_an_order_put_through_the_stack_is_found_by_its_item_account_and_requisition(
    http: requests.Session, ingest_url: str
) -> None:
    business_unit_id, order_id = unique_id("BU-FIELDS"), unique_id("CO")
    body = order_body(order_id)
    order = body["customerOrder"]
    item, account, requisition = unique_id("ITEM"), unique_id("ACC"), unique_id("REQ")
    order["items"][1]["itemId"] = item
    order["invoicePaymentInstructions"]["customerAccountId"] = account
    order["invoicePaymentInstructions"]["additionalInformation"][0]["value"] = requisition
    raw = json.dumps(body).encode()
    assert put_raw(http, ingest_url, business_unit_id, order_id, raw).status_code == 202
    stored_exactly(http, ingest_url, business_unit_id, order_id, raw)
    for criteria in (
        {"itemId": item},
        {"customerAccountId": account, "status": order["status"]},
        {"additionalInformationValue": requisition, "customerId": order["customerId"]},
    ):
        answer = search(http, ingest_url, business_unit_id, criteria)
        assert answer.status_code == 200, answer.text
        assert [found["customerOrderId"] for found in answer.json()["customerOrders"]] == [
            order_id
        ], criteria
