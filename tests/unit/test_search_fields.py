"""The search fields of a body, and what the PUT refuses so that no stored order is unsearchable."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from shared.adapters.memory import InMemoryOrderPublisher, InMemoryOrderStore
from shared.api.oms import oms_api
from shared.domain.http import HttpRequest
from shared.domain.jsonbody import dump_json
from shared.domain.limits import MAX_ID_BYTES
from shared.domain.search_fields import (
    NO_SEARCH_FIELDS,
    SearchFields,
    search_fields_of,
    search_fields_of_body,
)
from shared.domain.search_index import MAX_INDEX_ENTRIES
from tests.support import SAMPLE_BODY, order_body, problem_of


def test_the_sample_s_fields_are_its_account_items_and_additional_information() -> None:
    assert search_fields_of_body(dump_json(SAMPLE_BODY)) == SearchFields(
        "ACC-778", ("7310865004703", "7310865071231"), ("REQ-2026-0042",)
    )


def test_values_are_distinct_in_first_seen_order_and_what_is_missing_is_empty() -> None:
    order = order_body("CO-1")["customerOrder"]
    template = order["items"][0]
    order["items"] = [{**template, "itemId": item} for item in ("B", "A", "B", "C", "A")]
    del order["invoicePaymentInstructions"]
    assert search_fields_of(order) == SearchFields(None, ("B", "A", "C"), ())


@pytest.mark.parametrize(
    "body",
    [b"", b"[]", b"{", b'{"customerOrder": 1}', b"\xff", b'{"customerOrder": {"a": ' + b"[" * 5000],
)
def test_a_body_that_is_no_order_has_no_search_fields(body: bytes) -> None:
    assert search_fields_of_body(body) == NO_SEARCH_FIELDS


def put(
    body: Any, business_unit: str = "BU1"
) -> tuple[int, dict[str, Any], InMemoryOrderPublisher]:
    publisher = InMemoryOrderPublisher()
    service = oms_api(publisher, InMemoryOrderStore(), retry_after_seconds=1)
    order_id = body["customerOrder"]["customerOrderId"]
    raw = json.dumps(body).encode()
    answer = service.handle(
        HttpRequest(
            "PUT",
            f"/business-units/{business_unit}/customer-orders/{order_id}",
            "application/json",
            len(raw),
            io.BytesIO(raw),
        )
    )
    return answer.status, problem_of(answer) if answer.status >= 400 else {}, publisher


def test_a_searched_value_over_an_index_entry_is_refused_naming_it() -> None:
    body = order_body("CO-1")
    order = body["customerOrder"]
    order["items"][1]["itemId"] = "x" * 1501
    order["invoicePaymentInstructions"]["additionalInformation"][0]["value"] = "é" * 751
    order["invoicePaymentInstructions"]["customerAccountId"] = "a" * 1500
    status, problem, publisher = put(body)
    assert status == 422
    assert [error["pointer"] for error in problem["errors"]] == [
        "/customerOrder/items/1/itemId",
        "/customerOrder/invoicePaymentInstructions/additionalInformation/0/value",
    ]
    assert "1500 bytes" in problem["errors"][0]["detail"]
    assert publisher.published == []


def test_an_order_whose_search_fields_pass_the_document_size_is_refused() -> None:
    body = order_body("CO-1")
    template = body["customerOrder"]["items"][0]
    # 640 items of 1,400-byte ids: 0.9 MB of body, and as much again stored beside it.
    body["customerOrder"]["items"] = [
        {**template, "itemId": f"{index:04d}" + "x" * 1396} for index in range(640)
    ]
    status, problem, publisher = put(body)
    assert status == 422
    [error] = problem["errors"]
    assert error["pointer"] == "/customerOrder"
    assert "over Firestore's 1048576 for a document" in error["detail"]
    assert publisher.published == []


def test_an_order_of_more_index_entries_than_the_cap_is_refused() -> None:
    body = order_body("CO-1")
    template = {"itemId": "", "quantityOrdered": 1, "unitPrice": 1}
    body["customerOrder"]["items"] = [
        {**template, "itemId": str(index)} for index in range(MAX_INDEX_ENTRIES)
    ]
    _from_the_warehouse(body)
    status, problem, _ = put(body)
    assert status == 422
    assert f"over this service's {MAX_INDEX_ENTRIES}" in problem["errors"][0]["detail"]


def test_an_order_whose_index_entries_pass_8_mib_is_refused() -> None:
    # The longest ids make each entry 1,110 bytes: 7,604 entries are 8.4 MB.
    longest = "b" * MAX_ID_BYTES
    body = order_body(longest)
    template = {"itemId": "", "quantityOrdered": 1, "unitPrice": 1}
    body["customerOrder"]["items"] = [{**template, "itemId": str(index)} for index in range(7600)]
    _from_the_warehouse(body)
    status, problem, _ = put(body, business_unit="a" * MAX_ID_BYTES)
    assert status == 422
    assert "over Firestore's 8388608 for one document" in problem["errors"][0]["detail"]


def _from_the_warehouse(body: dict[str, Any]) -> None:
    """Every item delivered from the warehouse: no store's record to keep room for.

    An order of a store pickup keeps room for the store's record of each of its items,
    and that many items pass the document's size first (the next test but one).
    """
    order = body["customerOrder"]
    order["fulfillments"] = [
        {
            "fulfillmentId": "W",
            "deliveryType": "HOME_DELIVERY_WAREHOUSE",
            "items": [{"itemId": item["itemId"], "quantity": 1} for item in order["items"]],
        }
    ]


def test_an_order_of_thousands_of_store_items_keeps_room_for_their_record() -> None:
    body = order_body("CO-1")
    template = {"itemId": "", "quantityOrdered": 1, "unitPrice": 1}
    body["customerOrder"]["items"] = [{**template, "itemId": str(index)} for index in range(7600)]
    status, problem, _ = put(body)
    assert status == 422
    assert "room for the stores' record" in problem["errors"][0]["detail"]
