"""The ingest API's decisions, with the in-memory adapters: one fixture per scenario."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.adapters.memory import InMemoryOrderPublisher, InMemoryOrderStore
from shared.api.oms import oms_api
from shared.api.service import ApiService
from shared.domain.http import HttpRequest, HttpResponse
from shared.domain.limits import MAX_BODY_BYTES
from shared.domain.messages import PublishedMessage
from shared.domain.stored_order import StoredOrder
from shared.errors import StoreUnavailable
from tests.support import order_body, order_message, problem_of, recorded_logs, store_message

PATH = "/business-units/BU1/customer-orders/CO-1"


@pytest.fixture
def publisher() -> InMemoryOrderPublisher:
    return InMemoryOrderPublisher()


@pytest.fixture
def store() -> InMemoryOrderStore:
    return InMemoryOrderStore()


@pytest.fixture
def service(publisher: InMemoryOrderPublisher, store: InMemoryOrderStore) -> ApiService:
    return oms_api(publisher, store, retry_after_seconds=7)


def put(
    service: ApiService,
    body: bytes | Any,
    *,
    path: str = PATH,
    content_type: str | None = "application/json",
    content_length: int | None = None,
) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return service.handle(HttpRequest("PUT", path, content_type, content_length, io.BytesIO(raw)))


def test_a_valid_put_is_published_and_accepted(
    service: ApiService, publisher: InMemoryOrderPublisher
) -> None:
    response = put(service, order_body("CO-1"))
    assert response.status == 202
    answer = json.loads(response.body)
    assert answer["businessUnitId"] == "BU1"
    assert answer["customerOrderId"] == "CO-1"
    assert answer["messageId"] == "1"
    assert response.headers["Location"] == PATH
    [message] = publisher.orders
    assert json.loads(message.body) == order_body("CO-1")
    assert message.attributes["receivedAt"] == answer["receivedAt"]
    assert message.ordering_key == "BU1/CO-1"
    assert message.customer_id == order_body("CO-1")["customerOrder"]["customerId"]
    assert response.headers["ETag"] == f'"{message.body_sha256}"'


def test_the_body_is_published_byte_for_byte(
    service: ApiService, publisher: InMemoryOrderPublisher
) -> None:
    sent = json.dumps(order_body("CO-1", total=10.10, ratio=1e2), indent=3).encode()
    assert put(service, sent).status == 202
    assert publisher.orders[0].body == sent


def test_the_body_is_published_as_sent_not_as_the_model_dumps_it(
    service: ApiService, publisher: InMemoryOrderPublisher
) -> None:
    body = order_body("CO-1", extension={"k": [1, "x"]})
    body["customerOrder"]["items"][0]["quantityOrdered"] = 2
    assert put(service, body).status == 202
    published = json.loads(publisher.orders[0].data)
    assert published == body
    assert isinstance(published["customerOrder"]["items"][0]["quantityOrdered"], int)


def test_each_put_gets_a_later_received_at(
    service: ApiService, publisher: InMemoryOrderPublisher
) -> None:
    for _ in range(3):
        assert put(service, order_body("CO-1")).status == 202
    stamps = [message.received_at for message in publisher.orders]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 3


@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded"])
def test_json_sent_without_a_json_content_type_is_accepted(
    service: ApiService, content_type: str | None
) -> None:
    assert put(service, order_body("CO-1"), content_type=content_type).status == 202


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 404),
        ("/business-units/BU1/customer-orders", 404),
        ("/business-units/BU1/customer-orders/CO-1/extra", 404),
        ("/business-units/BU1/customer-orders/CO-1/", 404),
        ("/business-units/BU1/customer-orders/a%2Fb", 400),
        ("/business-units/%2E%2E/customer-orders/CO-1", 400),
        ("/business-units/__x__/customer-orders/CO-1", 400),
        ("/business-units/BU1/customer-orders/a%0Ab", 400),
        ("/business-units/BU1/customer-orders/%FF", 400),
        ("/business-units/BU1/customer-orders/" + "x" * 512, 400),
        ("/business-units/BU1/customer-orders/" + "%F0%9F%98%80" * 128, 400),
    ],
)
def test_paths_outside_the_api_or_with_invalid_ids_are_refused(
    service: ApiService, publisher: InMemoryOrderPublisher, path: str, status: int
) -> None:
    response = put(service, order_body("CO-1"), path=path)
    assert response.status == status
    document = problem_of(response)
    if status == 400:
        assert document["errors"][0]["pointer"] in ("/businessUnitId", "/customerOrderId")
    assert publisher.published == []


def test_a_query_string_does_not_change_the_route(service: ApiService) -> None:
    assert put(service, order_body("CO-1"), path=PATH + "?source=oms").status == 202


@pytest.mark.parametrize(
    ("body", "content_type", "status", "slug"),
    [
        (b'{"customerOrder": ', "application/json", 400, "malformed-json"),
        (b"", "application/json", 400, "malformed-json"),
        (b'{"customerOrder": {}, "customerOrder": {}}', "application/json", 400, "malformed-json"),
        (b"<order/>", "application/xml", 415, "unsupported-media-type"),
        (b"<order/>", None, 415, "unsupported-media-type"),
        (b"{}", "text/plain", 415, "unsupported-media-type"),
        (b"{}", "application/json; charset=latin-1", 415, "unsupported-media-type"),
        (b"{}", "application/json", 422, "validation-failed"),
        (b"[]", "application/json", 422, "validation-failed"),
    ],
)
def test_bad_bodies_get_their_status(
    service: ApiService,
    publisher: InMemoryOrderPublisher,
    body: bytes,
    content_type: str | None,
    status: int,
    slug: str,
) -> None:
    response = put(service, body, content_type=content_type)
    assert response.status == status
    assert problem_of(response)["type"].endswith(slug)
    assert publisher.published == []


def test_too_large_bodies_are_refused_by_length_and_by_reading(
    service: ApiService, publisher: InMemoryOrderPublisher
) -> None:
    assert put(service, b"{}", content_length=MAX_BODY_BYTES + 1).status == 413
    chunked = b" " * MAX_BODY_BYTES + b"{}"
    assert put(service, chunked, content_length=None).status == 413
    assert publisher.published == []


def test_schema_violations_list_every_field(service: ApiService) -> None:
    body = order_body("CO-1", status=7, items=[{"itemId": "i", "quantityOrdered": 0}])
    document = problem_of(put(service, body))
    assert document["status"] == 422
    pointers = {error["pointer"] for error in document["errors"]}
    assert pointers == {
        "/customerOrder/status",
        "/customerOrder/items/0/quantityOrdered",
        "/customerOrder/items/0/unitPrice",
    }


def test_a_body_id_different_from_the_path_id_is_refused(
    service: ApiService, publisher: InMemoryOrderPublisher
) -> None:
    document = problem_of(put(service, order_body("CO-2")))
    assert document["status"] == 422
    assert document["errors"][0]["pointer"] == "/customerOrder/customerOrderId"
    assert publisher.published == []


@pytest.mark.parametrize(
    "extra",
    [
        {"matrix": [[1, 2], [3, [4]]]},
        {"big": 2**80, "small": -(2**70)},
        {"deep": json.loads("[" * 40 + "]" * 40)},
        {"x" * 1600: "a member name longer than Firestore allows in a map"},
        {"__reserved__": True, "": "empty name"},
    ],
)
def test_legal_json_the_schema_allows_is_accepted_whatever_its_shape(
    service: ApiService, publisher: InMemoryOrderPublisher, extra: dict[str, Any]
) -> None:
    assert put(service, order_body("CO-1", **extra)).status == 202
    assert json.loads(publisher.orders[0].body)["customerOrder"].items() >= extra.items()


@pytest.mark.parametrize("member", ["customerId", "status"])
def test_projections_over_the_attribute_limit_are_refused(
    service: ApiService, publisher: InMemoryOrderPublisher, member: str
) -> None:
    document = problem_of(put(service, order_body("CO-1", **{member: "é" * 513})))
    assert document["status"] == 422
    assert document["errors"][0]["pointer"] == f"/customerOrder/{member}"
    assert "1024 bytes" in document["errors"][0]["detail"]
    assert publisher.published == []


def test_a_projection_with_an_unpaired_surrogate_is_refused(
    service: ApiService, publisher: InMemoryOrderPublisher
) -> None:
    body = json.dumps(order_body("CO-1", customerId="\ud800")).encode()
    assert b"\\ud800" in body
    document = problem_of(put(service, body))
    assert document["errors"][0]["pointer"] == "/customerOrder/customerId"
    assert publisher.published == []


def test_an_unconfirmed_publish_is_a_503_with_retry_after(
    service: ApiService, publisher: InMemoryOrderPublisher
) -> None:
    publisher.fail_with = TimeoutError("no confirmation")
    response = put(service, order_body("CO-1"))
    assert response.status == 503
    assert response.headers["Retry-After"] == "7"
    assert "no confirmation" not in response.body.decode()
    publisher.fail_with = None
    assert put(service, order_body("CO-1")).status == 202


@pytest.mark.parametrize("method", ["POST", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_405_with_allow(service: ApiService, method: str) -> None:
    response = service.handle(HttpRequest(method, PATH))
    assert response.status == 405
    assert response.headers["Allow"] == "GET, HEAD, PUT"
    problem_of(response)


def test_get_returns_the_stored_body_byte_for_byte_with_its_digest(
    service: ApiService, store: InMemoryOrderStore
) -> None:
    received_at = datetime(2026, 11, 29, 22, 0, 1, 500000, tzinfo=UTC)
    message = order_message("BU1", "CO-1", received_at)
    store_message(store, message)
    response = service.handle(HttpRequest("GET", PATH))
    assert response.status == 200
    assert response.body == message.body
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Last-Modified"] == "Sun, 29 Nov 2026 22:00:01 GMT"
    assert response.headers["Received-At"] == "2026-11-29T22:00:01.500000Z"
    assert response.headers["ETag"] == f'"{hashlib.sha256(message.body).hexdigest()}"'


@pytest.mark.parametrize(
    ("if_none_match", "status"),
    [("{etag}", 304), ('"other", {etag}', 304), ("*", 304), ('"other"', 200), ("", 200)],
)
def test_get_with_if_none_match_answers_304_for_the_stored_version(
    service: ApiService, store: InMemoryOrderStore, if_none_match: str, status: int
) -> None:
    message = order_message("BU1", "CO-1", datetime(2026, 11, 29, tzinfo=UTC))
    store_message(store, message)
    etag = f'"{message.body_sha256}"'
    request = HttpRequest("GET", PATH, headers={"if-none-match": if_none_match.format(etag=etag)})
    response = service.handle(request)
    assert response.status == status
    assert response.headers["ETag"] == etag
    assert (response.body == b"") is (status == 304)


def test_get_of_an_unknown_order_is_404(service: ApiService) -> None:
    assert problem_of(service.handle(HttpRequest("GET", PATH)))["status"] == 404


def test_get_while_firestore_is_down_is_503(publisher: InMemoryOrderPublisher) -> None:
    class DownStore(InMemoryOrderStore):
        def get(self, business_unit_id: str, customer_order_id: str) -> StoredOrder | None:
            raise StoreUnavailable("connection refused")

    service = oms_api(publisher, DownStore(), retry_after_seconds=3)
    response = service.handle(HttpRequest("GET", PATH))
    assert response.status == 503
    assert response.headers["Retry-After"] == "3"


def test_an_unexpected_error_is_a_500_problem_without_the_traceback(
    store: InMemoryOrderStore,
) -> None:
    class BrokenPublisher(InMemoryOrderPublisher):
        def publish(self, message: PublishedMessage) -> str:
            raise RuntimeError("secret internals")

    service = oms_api(BrokenPublisher(), store, retry_after_seconds=1)
    response = put(service, order_body("CO-1"))
    assert response.status == 500
    assert "secret internals" not in response.body.decode()
    assert "Traceback" not in response.body.decode()
    problem_of(response)


def _put_with(service: ApiService, headers: dict[str, str], order_id: str = "CO-1") -> HttpResponse:
    raw = json.dumps(order_body(order_id)).encode()
    return service.handle(
        HttpRequest(
            "PUT", f"/business-units/BU1/customer-orders/{order_id}", "application/json",
            len(raw), io.BytesIO(raw), headers,
        )
    )  # fmt: skip


def test_a_source_version_travels_with_the_message_and_get_answers_it(
    service: ApiService, publisher: InMemoryOrderPublisher, store: InMemoryOrderStore
) -> None:
    assert _put_with(service, {"Source-Version": "17"}).status == 202
    [message] = publisher.orders
    assert message.source_version == 17
    assert message.attributes["sourceVersion"] == "17"
    store_message(store, message)
    assert service.handle(HttpRequest("GET", PATH)).headers["Source-Version"] == "17"


def test_an_unversioned_order_has_no_source_version_anywhere(
    service: ApiService, publisher: InMemoryOrderPublisher, store: InMemoryOrderStore
) -> None:
    assert _put_with(service, {}).status == 202
    [message] = publisher.orders
    assert "sourceVersion" not in message.attributes
    store_message(store, message)
    assert "Source-Version" not in service.handle(HttpRequest("GET", PATH)).headers


@pytest.mark.parametrize("value", ["-1", str(2**63), "1.5", "abc", "", "1, 2", "9" * 30])
def test_a_malformed_source_version_is_400_and_nothing_is_published(
    service: ApiService, publisher: InMemoryOrderPublisher, value: str
) -> None:
    document = problem_of(_put_with(service, {"source-version": value}))
    assert document["status"] == 400
    assert document["type"].endswith(":invalid-header")
    assert "Source-Version" in document["detail"]
    assert publisher.published == []


def test_a_correlation_id_is_answered_back_and_travels_with_the_order(
    service: ApiService, publisher: InMemoryOrderPublisher
) -> None:
    response = _put_with(service, {"Correlation-Id": "oms-42/a"})
    assert response.headers["Correlation-Id"] == "oms-42/a"
    assert publisher.orders[0].correlation_id == "oms-42/a"
    assert publisher.orders[0].attributes["correlationId"] == "oms-42/a"


def test_without_a_correlation_id_each_request_gets_its_own(
    service: ApiService, publisher: InMemoryOrderPublisher
) -> None:
    first = _put_with(service, {}).headers["Correlation-Id"]
    second = _put_with(service, {}).headers["Correlation-Id"]
    assert first != second
    assert [message.correlation_id for message in publisher.orders] == [first, second]
    assert len(first) == 36


@pytest.mark.parametrize("value", ["", "has space", "x" * 129, "é"])
def test_a_malformed_correlation_id_is_400_answered_with_a_fresh_one(
    service: ApiService, publisher: InMemoryOrderPublisher, value: str
) -> None:
    response = _put_with(service, {"Correlation-Id": value})
    document = problem_of(response)
    assert document["status"] == 400
    assert document["type"].endswith(":invalid-header")
    assert response.headers["Correlation-Id"] not in ("", value)
    assert publisher.published == []


def test_every_answer_carries_the_correlation_id(service: ApiService) -> None:
    for request in (
        HttpRequest("GET", PATH, headers={"Correlation-Id": "c-1"}),
        HttpRequest("DELETE", PATH, headers={"Correlation-Id": "c-1"}),
        HttpRequest("GET", "/nowhere", headers={"Correlation-Id": "c-1"}),
    ):
        assert service.handle(request).headers["Correlation-Id"] == "c-1"


def test_every_request_ends_in_one_line_with_its_outcome(
    service: ApiService, publisher: InMemoryOrderPublisher
) -> None:
    with recorded_logs() as logged:
        _put_with(service, {"Correlation-Id": "c-7"})
        _put_with(service, {"Correlation-Id": "c-8", "Source-Version": "v2"})
        publisher.fail_with = TimeoutError("no confirmation")
        _put_with(service, {"Correlation-Id": "c-9"})
    fields = [getattr(record, "json_fields", {}) for record in logged.records]
    assert [(f["correlationId"], f["event"], f["outcome"], f["httpStatus"]) for f in fields] == [
        ("c-7", "put", "accepted", 202),
        ("c-8", "put", "refused", 400),
        ("c-9", "put", "unavailable", 503),
    ]
    assert fields[1]["problemType"] == "invalid-header"
    assert fields[2]["problemType"] == "publish-unavailable"
    assert "no confirmation" in logged.records[2].getMessage()


def test_a_business_unit_whose_events_could_not_name_their_source_is_400(
    service: ApiService, publisher: InMemoryOrderPublisher
) -> None:
    # 170 two-byte characters: 340 bytes, a valid id, but 1,020 bytes percent-encoded.
    unit = "é" * 170
    response = put(service, order_body("CO-1"), path=f"/business-units/{unit}/customer-orders/CO-1")
    assert response.status == 400
    [error] = problem_of(response)["errors"]
    assert error["pointer"] == "/businessUnitId"
    assert "1024 bytes of the Pub/Sub attribute" in error["detail"]
    assert publisher.published == []
    shorter = put(
        service, order_body("CO-1"), path=f"/business-units/{'é' * 160}/customer-orders/CO-1"
    )
    assert shorter.status == 202
