from __future__ import annotations

import json

import pytest

from shared.domain.http import HttpResponse
from shared.domain.jsonbody import FieldViolation
from shared.domain.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TITLES, problem


def test_a_problem_document_has_the_rfc9457_members() -> None:
    document = problem(422, "validation-failed", "2 fields", errors=[FieldViolation("/a", "bad")])
    assert document.to_json() == {
        "type": "urn:customer-order-events:problem:validation-failed",
        "title": PROBLEM_TITLES["validation-failed"],
        "status": 422,
        "detail": "2 fields",
        "errors": [{"pointer": "/a", "detail": "bad"}],
    }


def test_errors_are_left_out_when_there_are_none() -> None:
    assert "errors" not in problem(404, "not-found", "no").to_json()


def test_as_a_response_it_is_problem_json_with_its_headers() -> None:
    response = HttpResponse.from_problem(
        problem(503, "publish-unavailable", "later", headers={"Retry-After": "5"})
    )
    assert response.status == 503
    assert response.headers == {"Content-Type": PROBLEM_CONTENT_TYPE, "Retry-After": "5"}
    assert json.loads(response.body)["status"] == 503


def test_unknown_problem_types_are_a_programming_error() -> None:
    with pytest.raises(KeyError):
        problem(400, "no-such-type", "x")
