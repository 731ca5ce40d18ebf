"""The committed OpenAPI document is the one the models generate, and it is valid OpenAPI 3.1."""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis.core.result import Ok

from shared.domain.addresses import (
    ORDER_PATH_TEMPLATE,
    PICKUP_PATH_TEMPLATE,
    READY_PATH_TEMPLATE,
    SEARCH_PATH_TEMPLATE,
)
from shared.domain.ids import id_violation
from shared.domain.model import MAX_STATUSES, SEARCH_CRITERIA
from shared.domain.problems import PROBLEM_TITLES
from shared.tools.openapi import (
    ID_SCHEMA,
    OPENAPI_PATH,
    POS_OPENAPI_PATH,
    PROBLEM_SLUGS_BY_STATUS,
    build_document,
    build_pos_document,
    render,
)


def test_the_committed_document_is_up_to_date() -> None:
    assert OPENAPI_PATH.read_text(encoding="utf-8") == render(), (
        f"{OPENAPI_PATH} is stale: run `make openapi` and commit it"
    )


def test_the_document_is_valid_openapi_3_1() -> None:
    schema = schemathesis.openapi.from_dict(build_document())
    schema.validate()
    results = list(schema.get_all_operations())
    labels = sorted(result.ok().label for result in results if isinstance(result, Ok))
    assert len(labels) == len(results)
    assert labels == [
        f"GET {ORDER_PATH_TEMPLATE}",
        f"POST {SEARCH_PATH_TEMPLATE}",
        f"PUT {ORDER_PATH_TEMPLATE}",
    ]


def test_an_invalid_document_is_caught_by_that_validation() -> None:
    document = build_document()
    document["paths"][ORDER_PATH_TEMPLATE]["put"]["responses"]["202"] = {"content": 17}
    with pytest.raises(Exception, match="content"):
        schemathesis.openapi.from_dict(document).validate()


@pytest.mark.parametrize("status", [400, 404, 405, 413, 415, 422, 503])
def test_every_error_status_of_the_put_is_described_as_problem_json(status: int) -> None:
    document = build_document()
    response = document["paths"][ORDER_PATH_TEMPLATE]["put"]["responses"][str(status)]
    component = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema = component["content"]["application/problem+json"]["schema"]
    assert schema["allOf"][0] == {"$ref": "#/components/schemas/Problem"}
    assert schema["allOf"][1]["properties"]["status"] == {"const": status}
    problem = document["components"]["schemas"]["Problem"]
    assert problem["properties"]["errors"]["items"] == {
        "$ref": "#/components/schemas/FieldViolation"
    }


def test_the_success_bodies_are_described() -> None:
    operations = build_document()["paths"][ORDER_PATH_TEMPLATE]
    accepted = operations["put"]["responses"]["202"]["content"]["application/json"]["schema"]
    stored = operations["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert accepted == {"$ref": "#/components/schemas/Accepted"}
    assert stored == {"$ref": "#/components/schemas/CustomerOrderDocument"}


def test_the_search_is_described_with_its_request_and_answer() -> None:
    search = build_document()["paths"][SEARCH_PATH_TEMPLATE]["post"]
    request = search["requestBody"]["content"]["application/json"]["schema"]
    answer = search["responses"]["200"]["content"]["application/json"]["schema"]
    assert request == {"$ref": "#/components/schemas/SearchRequest"}
    assert answer == {"$ref": "#/components/schemas/SearchResult"}
    result = build_document()["components"]["schemas"]["SearchResult"]
    assert result["required"] == ["customerOrders"]
    summary = build_document()["components"]["schemas"]["CustomerOrderSummary"]
    assert sorted(summary["required"]) == [
        "businessUnitId",
        "customerId",
        "customerOrderId",
        "receivedAt",
        "status",
    ]
    criteria = build_document()["components"]["schemas"]["SearchRequest"]["properties"]
    assert set(criteria) == {*SEARCH_CRITERIA, "pageSize", "pageToken"}
    assert criteria["status"]["anyOf"][0]["maxItems"] == MAX_STATUSES
    assert criteria["fulfillmentStatus"]["anyOf"][0]["maxItems"] == MAX_STATUSES


def test_every_problem_type_but_the_internal_error_belongs_to_a_status() -> None:
    described = {slug for slugs in PROBLEM_SLUGS_BY_STATUS.values() for slug in slugs}
    assert described == set(PROBLEM_TITLES) - {"internal-error"}


def _matches_id_schema(value: str) -> bool:
    import jsonschema_rs

    validator: Any = jsonschema_rs.validator_for(json.loads(json.dumps(ID_SCHEMA)))
    return bool(validator.is_valid(value))


@given(st.text(max_size=600) | st.sampled_from([".", "..", "__x__", "a/b", "é" * 257]))
def test_every_valid_id_matches_the_id_schema(value: str) -> None:
    # The schema may be looser than the rule, never stricter: a generated request the
    # document calls invalid must really be invalid, or the negative fuzzing lies.
    if id_violation(value) is None:
        assert _matches_id_schema(value)


@pytest.mark.parametrize("value", ["", ".", "..", "__x__", "a/b", "a\x00b", "x" * 512])
def test_the_id_schema_rejects_what_json_schema_can_express(value: str) -> None:
    assert not _matches_id_schema(value)


def test_the_pos_document_is_committed_valid_and_has_no_put() -> None:
    assert POS_OPENAPI_PATH.read_text(encoding="utf-8") == render(build_pos_document), (
        f"{POS_OPENAPI_PATH} is stale: run `make openapi` and commit it"
    )
    schema = schemathesis.openapi.from_dict(build_pos_document())
    schema.validate()
    labels = sorted(
        result.ok().label for result in schema.get_all_operations() if isinstance(result, Ok)
    )
    assert labels == sorted(
        [
            f"GET {ORDER_PATH_TEMPLATE}",
            f"POST {PICKUP_PATH_TEMPLATE}",
            f"POST {READY_PATH_TEMPLATE}",
            f"POST {SEARCH_PATH_TEMPLATE}",
        ]
    )
    paths = build_pos_document()["paths"]
    for template in (READY_PATH_TEMPLATE, PICKUP_PATH_TEMPLATE):
        assert set(paths[template]["post"]["responses"]) == {
            "200", "400", "401", "403", "404", "405", "409", "413", "415", "422", "503"
        }  # fmt: skip
