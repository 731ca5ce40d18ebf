"""Every class of bad input over real HTTP: its status, a problem document, nothing published."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from shared.domain.limits import MAX_BODY_BYTES
from shared.tools.devstack import LocalStack
from tests.support import (
    create_pull_subscription,
    create_topic,
    order_body,
    pull_all,
    running_function,
    unique_id,
)

pytestmark = pytest.mark.integration

ORDER = "CO-1"
PATH = f"/business-units/BU1/customer-orders/{ORDER}"
VALID = json.dumps(order_body(ORDER)).encode()


@pytest.fixture(scope="module")
def tapped_ingest(stack: LocalStack) -> Iterator[tuple[str, str]]:
    """An ingest instance publishing to its own topic, and a pull subscription that sees it all."""
    topic = unique_id("bad-input")
    create_topic(stack, topic)
    create_pull_subscription(stack, topic, f"{topic}-tap")
    with running_function("ingest", stack, ORDERS_TOPIC=topic) as url:
        yield url, f"{topic}-tap"


def _chunks(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), 64 * 1024):
        yield data[start : start + 64 * 1024]


CASES: list[tuple[str, str, str, Any, dict[str, str], int, str]] = [
    # (case, method, path, body, headers, status, problem slug)
    ("truncated json", "PUT", PATH, b'{"customerOrder": {', {}, 400, "malformed-json"),
    ("NaN literal", "PUT", PATH, VALID.replace(b"250.0", b"NaN"), {}, 400, "malformed-json"),
    ("duplicate keys", "PUT", PATH, b'{"customerOrder":{},"customerOrder":{}}', {}, 400, "malformed-json"),
    ("invalid utf-8", "PUT", PATH, VALID.replace(b"C-5521", b"C-\xff"), {}, 400, "malformed-json"),
    ("reserved id", "PUT", "/business-units/__x__/customer-orders/CO-1", VALID, {}, 400, "invalid-id"),
    ("dot-dot id", "PUT", "/business-units/BU1/customer-orders/%2E%2E", VALID, {}, 400, "invalid-id"),
    ("encoded slash", "PUT", "/business-units/BU1/customer-orders/a%2Fb", VALID, {}, 400, "invalid-id"),
    ("control character", "PUT", "/business-units/B%07U/customer-orders/CO-1", VALID, {}, 400, "invalid-id"),
    ("id too long", "PUT", "/business-units/BU1/customer-orders/" + "x" * 1500, VALID, {}, 400, "invalid-id"),
    ("empty items", "PUT", PATH, order_body(ORDER, items=[]), {}, 422, "validation-failed"),
    ("wrong type", "PUT", PATH, order_body(ORDER, isLocked="no"), {}, 422, "validation-failed"),
    ("missing field", "PUT", PATH, {"customerOrder": {"customerOrderId": ORDER}}, {}, 422, "validation-failed"),
    ("huge number", "PUT", PATH, VALID.replace(b"250.0", b"1e400"), {}, 422, "validation-failed"),
    ("body id differs", "PUT", PATH, order_body("CO-2"), {}, 422, "validation-failed"),
    ("unknown path", "PUT", "/customer-orders/CO-1", VALID, {}, 404, "not-found"),
    ("root", "GET", "/", None, {}, 404, "not-found"),
    ("POST", "POST", PATH, VALID, {}, 405, "method-not-allowed"),
    ("DELETE", "DELETE", PATH, None, {}, 405, "method-not-allowed"),
    ("over 1 MiB", "PUT", PATH, b" " * MAX_BODY_BYTES + VALID, {}, 413, "payload-too-large"),
    ("chunked over 1 MiB", "PUT", PATH, "chunked", {}, 413, "payload-too-large"),
    ("xml", "PUT", PATH, b"<order/>", {"Content-Type": "application/xml"}, 415, "unsupported-media-type"),
    ("text", "PUT", PATH, VALID, {"Content-Type": "text/plain"}, 415, "unsupported-media-type"),
    ("form that is not json", "PUT", PATH, b"a=1&b=2", {"Content-Type": "application/x-www-form-urlencoded"}, 415, "unsupported-media-type"),
]  # fmt: skip


def _send(
    url: str, method: str, path: str, body: Any, headers: dict[str, str]
) -> requests.Response:
    if body == "chunked":
        data: Any = _chunks(b" " * MAX_BODY_BYTES + VALID)
    elif isinstance(body, bytes) or body is None:
        data = body
    else:
        data = json.dumps(body).encode()
    sent_headers = {"Content-Type": "application/json", **headers} if data is not None else {}
    return requests.request(method, url + path, data=data, headers=sent_headers, timeout=30)


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "slug"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_input_gets_its_status_and_a_problem_document(
    tapped_ingest: tuple[str, str],
    method: str,
    path: str,
    body: Any,
    headers: dict[str, str],
    status: int,
    slug: str,
) -> None:
    url, _ = tapped_ingest
    response = _send(url, method, path, body, headers)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    assert problem["type"].endswith(slug)
    assert problem["title"]
    assert problem["detail"]
    assert "Traceback" not in response.text
    if status == 405:
        assert response.headers["Allow"] == "GET, HEAD, PUT"
    if status in (400, 422) and slug != "malformed-json":
        assert problem["errors"], problem


def test_nothing_bad_reached_the_topic_and_a_good_put_did(
    tapped_ingest: tuple[str, str], stack: LocalStack
) -> None:
    url, tap = tapped_ingest
    for case, method, path, body, headers, status, _ in CASES:
        assert _send(url, method, path, body, headers).status_code == status, case
    good = requests.put(
        url + PATH, data=VALID, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert good.status_code == 202
    # Ingest answers only after its publish is done, so whatever any bad case (here or
    # in the tests before) published is on the tap by now, beside the good PUT's message.
    published = [message["messageId"] for message in pull_all(stack, tap)]
    assert published == [good.json()["messageId"]]
