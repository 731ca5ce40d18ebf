"""Both ``main.py`` files served in-process by functions-framework's own app, on the real emulators.

The other integration tests run the functions as processes; these reach the
code paths of the adapters themselves (the raw path, requests the router never
routes, the drained body) the way functions-framework's and python-docs-samples'
tests do, with ``create_app(...).test_client()``.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import flask.testing
import functions_framework
import pytest
from google.cloud import firestore

from shared.domain.jsonbody import dump_json
from shared.domain.limits import MAX_BODY_BYTES
from shared.domain.messages import OrderMessage
from shared.domain.problems import PROBLEM_CONTENT_TYPE
from shared.domain.timestamps import ReceivedAtClock
from shared.tools.devstack import LocalStack
from shared.tools.functions import FUNCTIONS, main_py
from tests.support import (
    order_body,
    order_message,
    recorded_logs,
    stored_body,
    stored_document,
    unique_id,
    wait_for,
)

pytestmark = pytest.mark.integration


def _client(function: str, stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in {
        **stack.config.emulator_env(),
        "ORDERS_TOPIC": stack.config.orders_topic,
        # create_app writes these into the environment; restored after the test.
        "FUNCTION_TARGET": FUNCTIONS[function],
        "FUNCTION_SIGNATURE_TYPE": "",
    }.items():
        monkeypatch.setenv(name, value)
    app = functions_framework.create_app(  # type: ignore[no-untyped-call]
        FUNCTIONS[function], str(main_py(function))
    )
    return app.test_client()


@pytest.fixture
def ingest(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> flask.testing.FlaskClient:
    client: flask.testing.FlaskClient = _client("ingest", stack, monkeypatch)
    return client


@pytest.fixture
def processor(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> flask.testing.FlaskClient:
    client: flask.testing.FlaskClient = _client("processor", stack, monkeypatch)
    return client


def _problem(response: Any) -> dict[str, Any]:
    assert response.headers["Content-Type"] == PROBLEM_CONTENT_TYPE
    document: dict[str, Any] = json.loads(response.data)
    assert document["status"] == response.status_code
    return document


def test_a_put_is_published_and_the_order_is_then_served(
    ingest: flask.testing.FlaskClient,
) -> None:
    order_id = unique_id()
    path = f"/business-units/BU1/customer-orders/{order_id}"
    accepted = ingest.put(path, json=order_body(order_id))
    assert accepted.status_code == 202, accepted.data
    assert accepted.json is not None
    assert accepted.json["customerOrderId"] == order_id
    wait_for(lambda: ingest.get(path).status_code == 200, timeout=30)
    assert ingest.get(path).json == order_body(order_id)


@pytest.mark.parametrize("path", ["/robots.txt", "/favicon.ico", "/business-units/a%0Ab/x"])
def test_paths_the_router_never_routes_answer_problem_json(
    ingest: flask.testing.FlaskClient, path: str
) -> None:
    assert _problem(ingest.get(path))["status"] == 404


def test_an_encoded_slash_in_an_id_is_an_invalid_id_not_another_path(
    ingest: flask.testing.FlaskClient,
) -> None:
    response = ingest.put("/business-units/a%2Fb/customer-orders/CO-1", json=order_body("CO-1"))
    document = _problem(response)
    assert document["status"] == 400
    assert document["errors"][0]["pointer"] == "/businessUnitId"


class RecordingBody(io.BytesIO):
    """A request body that records the largest single read of it."""

    largest_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.largest_read = max(self.largest_read, len(chunk))
        return chunk

    def readinto(self, buffer: Any) -> int:
        count = super().readinto(buffer)
        self.largest_read = max(self.largest_read, count)
        return count

    def read1(self, size: int | None = -1) -> bytes:
        return self.read(size)


def test_a_refused_body_is_drained_in_chunks_not_buffered(
    ingest: flask.testing.FlaskClient,
) -> None:
    size = 4 * MAX_BODY_BYTES
    body = RecordingBody(b" " * size)
    response = ingest.put(
        "/business-units/BU1/customer-orders/CO-1",
        input_stream=body,
        content_type="application/json",
        content_length=size,
    )
    assert _problem(response)["status"] == 413
    assert body.tell() == size
    assert 0 < body.largest_read <= 64 * 1024


def _push(message: OrderMessage, message_id: str) -> dict[str, Any]:
    return {
        "subscription": "projects/p/subscriptions/s",
        "message": {
            "data": base64.b64encode(message.data).decode(),
            "attributes": message.attributes,
            "messageId": message_id,
            "publishTime": "2026-12-01T00:00:00Z",
        },
    }


def test_a_pushed_order_is_stored_and_acknowledged(
    processor: flask.testing.FlaskClient, firestore_client: firestore.Client
) -> None:
    order_id = unique_id()
    body = order_body(order_id)
    message = order_message("BU1", order_id, ReceivedAtClock().now(), body)
    response = processor.post("/", json=_push(message, "in-process-1"))
    assert response.status_code in (200, 204)
    document = stored_document(firestore_client, "BU1", order_id)
    assert document is not None
    assert stored_body(document) == body
    assert document["messageId"] == "in-process-1"


def test_an_undecodable_push_is_refused_so_pubsub_redelivers_it(
    processor: flask.testing.FlaskClient,
) -> None:
    envelope = {
        "subscription": "projects/p/subscriptions/s",
        "message": {
            "data": base64.b64encode(dump_json({"customerOrder": {}})).decode(),
            "attributes": {"businessUnitId": "BU1", "customerOrderId": "CO-1"},
            "messageId": "in-process-2",
            "publishTime": "2026-12-01T00:00:00Z",
        },
    }
    # Any answer but 102, 200, 201, 202 and 204 is a nack; 422 says it will never do.
    assert processor.post("/", json=envelope).status_code == 422


def test_clients_that_cannot_be_built_answer_problem_json_without_internals(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    ingest = _client("ingest", stack, monkeypatch)
    for name in ("PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    response = ingest.get("/business-units/BU1/customer-orders/CO-1")
    document = _problem(response)
    assert document["status"] == 500
    assert "missing.json" not in response.data.decode()


def test_a_message_that_can_never_be_stored_is_one_line_and_a_nack(
    processor: flask.testing.FlaskClient,
) -> None:
    order_id = unique_id()
    # Only a hand-made message can be this large: ingest refuses such a body with 413.
    body = b'{"customerOrder": {"customerOrderId": "%s", "pad": "%s"}}' % (
        order_id.encode(),
        b"x" * 1_048_576,
    )
    message = OrderMessage.accepted(
        "BU1", order_id, ReceivedAtClock().now(), body, customer_id="C", status="S"
    )
    with recorded_logs() as logged:
        response = processor.post("/", json=_push(message, "in-process-3"))
    assert response.status_code == 422
    [record] = [record for record in logged.records if "in-process-3" in record.getMessage()]
    assert "refused for good" in record.getMessage()
    assert "over Firestore's" in record.getMessage()
    assert record.levelname == "ERROR"
    assert record.exc_info is None
    assert getattr(record, "json_fields", {})["customerOrderId"] == order_id
