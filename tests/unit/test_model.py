from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from shared.domain.model import validate_document
from tests.support import SAMPLE_BODY, order_body


def _errors(body: Any) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(ValidationError) as caught:
        validate_document(body)
    return [(tuple(error["loc"]), error["type"]) for error in caught.value.errors()]


def _without(path: tuple[str | int, ...]) -> dict[str, Any]:
    body = copy.deepcopy(SAMPLE_BODY)
    parent: Any = body
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    return body


def _with(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(SAMPLE_BODY)
    parent: Any = body
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return body


def test_the_sample_order_is_valid() -> None:
    document = validate_document(SAMPLE_BODY)
    assert document.customer_order.customer_order_id == "CO-100234"
    assert document.customer_order.items[0].quantity_ordered == 2


def test_unknown_order_fields_are_kept_as_sent() -> None:
    body = order_body("CO-1", channel={"name": "web", "tags": ["a"]})
    body["customerOrder"]["items"][0]["colour"] = "red"
    document = validate_document(body)
    dumped = document.model_dump(mode="json")
    assert dumped["customerOrder"]["channel"] == {"name": "web", "tags": ["a"]}
    assert dumped["customerOrder"]["items"][0]["colour"] == "red"


def test_optional_fields_may_be_absent() -> None:
    body = copy.deepcopy(SAMPLE_BODY)
    for name in ("minimumDownPaymentAmount", "isLocked", "invoicePaymentInstructions"):
        del body["customerOrder"][name]
    validate_document(body)


@pytest.mark.parametrize(
    "path",
    [
        ("customerOrder", "customerOrderId"),
        ("customerOrder", "customerId"),
        ("customerOrder", "status"),
        ("customerOrder", "items"),
        ("customerOrder", "items", 0, "itemId"),
        ("customerOrder", "items", 0, "quantityOrdered"),
        ("customerOrder", "items", 0, "unitPrice"),
        ("customerOrder", "invoicePaymentInstructions", "customerAccountId"),
        ("customerOrder", "invoicePaymentInstructions", "invoicingAmount"),
        ("customerOrder", "invoicePaymentInstructions", "additionalInformation", 0, "id"),
        ("customerOrder", "invoicePaymentInstructions", "additionalInformation", 0, "value"),
        ("customerOrder", "invoicePaymentInstructions", "additionalInformation", 0, "displayText"),
        ("customerOrder", "invoicePaymentInstructions", "additionalInformation", 0, "receiptLabel"),
    ],
)
def test_each_required_field_is_required(path: tuple[str | int, ...]) -> None:
    assert (path, "missing") in _errors(_without(path))


@pytest.mark.parametrize(
    ("path", "value", "error_type"),
    [
        (("customerOrder", "items"), [], "too_short"),
        (("customerOrder", "items", 0, "quantityOrdered"), 0, "greater_than"),
        (("customerOrder", "items", 0, "quantityOrdered"), -1, "greater_than"),
        (("customerOrder", "items", 0, "quantityOrdered"), "2", "float_type"),
        (("customerOrder", "items", 0, "unitPrice"), float("inf"), "finite_number"),
        (("customerOrder", "items", 0, "unitPrice"), float("nan"), "finite_number"),
        (("customerOrder", "items", 0, "unitPrice"), True, "float_type"),
        (("customerOrder", "minimumDownPaymentAmount"), "250", "float_type"),
        (("customerOrder", "isLocked"), "false", "bool_type"),
        (("customerOrder", "isLocked"), 0, "bool_type"),
        (("customerOrder", "customerId"), 5521, "string_type"),
        (("customerOrder", "customerId"), "", "string_too_short"),
        (("customerOrder", "status"), None, "string_type"),
        (("customerOrder", "items", 0), "item", "model_type"),
        (("customerOrder", "invoicePaymentInstructions"), [], "model_type"),
        (("customerOrder", "customerOrderId"), "a/b", "value_error"),
        (("customerOrder", "customerOrderId"), "__id__", "value_error"),
    ],
)
def test_each_kind_of_invalid_value_is_reported_where_it_is(
    path: tuple[str | int, ...], value: Any, error_type: str
) -> None:
    errors = _errors(_with(path, value))
    assert any(loc[: len(path)] == path and kind == error_type for loc, kind in errors), errors


def test_the_envelope_rejects_unknown_members_and_non_objects() -> None:
    assert (("extra",), "extra_forbidden") in _errors({**SAMPLE_BODY, "extra": 1})
    assert ((), "model_type") in _errors([SAMPLE_BODY])
    assert (("customerOrder",), "missing") in _errors({})
