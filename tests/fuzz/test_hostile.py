"""Hand-written hostile requests against a real ingest function, on the wire.

Each case must get the right 4xx as ``application/problem+json`` that leaks no
internals, and must publish nothing: the instance has a topic of its own with a
pull subscription, drained after every case. Requests go through
``http.client`` or a raw socket, so that odd framing (chunked bodies without a
length, invalid UTF-8, bytes a client library would refuse) reaches the server
as written.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from shared.domain.limits import MAX_BODY_BYTES
from shared.domain.messages import decode_message
from shared.tools.devstack import LocalStack, free_ports
from tests.fuzz.oracle import LEAK_MARKERS
from tests.reliability.processes import rss_bytes
from tests.support import (
    SAMPLE_BODY,
    create_pull_subscription,
    create_topic,
    pull_all,
    unique_id,
)

pytestmark = pytest.mark.integration

PROBLEM_JSON = "application/problem+json"
# The sample order's id; paths use it unless a case is about the path.
ORDER_ID = SAMPLE_BODY["customerOrder"]["customerOrderId"]
PATH = f"/business-units/BU1/customer-orders/{ORDER_ID}"
TEN_MB = 10 * 1024 * 1024
HUGE_BODY_MB = 200


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def problem(self) -> dict[str, Any]:
        """The problem document, after checking everything every error answer must satisfy."""
        assert self.headers.get("content-type", "").split(";")[0] == PROBLEM_JSON, self
        text = self.body.decode("utf-8")
        for marker in LEAK_MARKERS:
            assert marker.lower() not in text.lower(), text
        document: dict[str, Any] = json.loads(text)
        assert document["status"] == self.status
        assert document["type"].startswith("urn:customer-order-events:problem:")
        assert {"title", "detail"} <= document.keys()
        return document


@dataclass(frozen=True)
class Target:
    stack: LocalStack
    url: str
    subscription: str
    pid: int

    @property
    def port(self) -> int:
        port = urlsplit(self.url).port
        assert port is not None
        return port

    def send(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        headers: dict[str, str] | None = None,
        chunked: bool = False,
    ) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            all_headers = {"Content-Type": "application/json", **(headers or {})}
            if chunked:
                connection.putrequest(method, path, skip_accept_encoding=True)
                for name, value in all_headers.items():
                    connection.putheader(name, value)
                connection.putheader("Transfer-Encoding", "chunked")
                connection.endheaders()
                for start in range(0, len(body or b""), 65536):
                    chunk = (body or b"")[start : start + 65536]
                    connection.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                connection.send(b"0\r\n\r\n")
            else:
                connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            return Answer(
                response.status,
                {name.lower(): value for name, value in response.getheaders()},
                response.read(),
            )
        finally:
            connection.close()

    def put(self, body: Any, path: str = PATH, **options: Any) -> Answer:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        return self.send("PUT", path, raw, **options)

    def published(self, settle: float = 0.1) -> list[dict[str, Any]]:
        return pull_all(self.stack, self.subscription, settle=settle)


@pytest.fixture(scope="module")
def target(stack: LocalStack) -> Iterator[Target]:
    topic, subscription = unique_id("hostile-orders"), unique_id("hostile-orders-pull")
    create_topic(stack, topic)
    create_pull_subscription(stack, topic, subscription)
    ports = free_ports(2)
    own = LocalStack(
        dataclasses.replace(
            stack.config, ingest_port=ports[0], processor_port=ports[1], orders_topic=topic
        )
    )
    try:
        own.start_function("ingest")
        target = Target(stack, own.config.ingest_url, subscription, own.pid("ingest"))
        yield target
        # The publish is confirmed before any answer, so each case's own check finds a
        # stray message at once; this longer wait is for anything slower than that.
        assert target.published(settle=2.0) == []
    finally:
        own.stop()


@pytest.fixture
def hostile(target: Target) -> Iterator[Target]:
    """The target, checked afterwards to have published nothing at all."""
    yield target
    assert target.published() == []


def sample(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(SAMPLE_BODY)
    body["customerOrder"].update(changes)
    return body


def with_value(pointer: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(SAMPLE_BODY)
    parent: Any = body
    for part in pointer[:-1]:
        parent = parent[part]
    parent[pointer[-1]] = value
    return body


# --- the harness itself -------------------------------------------------------------------


def test_a_valid_put_is_published_so_the_empty_topic_checks_mean_something(
    target: Target,
) -> None:
    answer = target.put(SAMPLE_BODY)
    assert answer.status == 202, answer
    messages = target.published()
    assert [message["messageId"] for message in messages] == [json.loads(answer.body)["messageId"]]
    decode_message(
        base64.b64decode(messages[0]["data"]), messages[0]["attributes"], messages[0]["messageId"]
    )


def test_a_valid_chunked_put_without_a_length_is_published(target: Target) -> None:
    answer = target.put(SAMPLE_BODY, chunked=True)
    assert answer.status == 202, answer
    assert len(target.published()) == 1


# --- malformed JSON: 400 ------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(
            b'{"customerOrder": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", id="deep-100k"
        ),
        pytest.param(b"[" * 500_000, id="deep-unclosed"),
        pytest.param(b'{"customerOrder": {"customerOrderId": NaN}}', id="NaN"),
        pytest.param(b'{"customerOrder": {"x": Infinity}}', id="Infinity"),
        pytest.param(b'{"customerOrder": {"x": -Infinity}}', id="minus-Infinity"),
        pytest.param(b'{"customerOrder": {"x": 1' + b"0" * 5000 + b"}}", id="5000-digit-int"),
        pytest.param(b'{"customerOrder": {}, "customerOrder": {}}', id="duplicate-top"),
        pytest.param(
            json.dumps(SAMPLE_BODY)[:-2].encode() + b', "status": "X"}}', id="duplicate-nested"
        ),
        pytest.param(b'{"customerOrder": {"customerId": "\xff\xfe"}}', id="invalid-utf8"),
        pytest.param(b'{"customerOrder": {"customerId": "\xc0\xaf"}}', id="overlong-utf8"),
        pytest.param(b'{"customerOrder": {"customerId": "\xed\xa0\x80"}}', id="utf8-surrogate"),
        pytest.param(b"\xef\xbb\xbf" + json.dumps(SAMPLE_BODY).encode(), id="bom"),
        pytest.param(b"", id="empty"),
        pytest.param(b"   \r\n ", id="whitespace"),
        pytest.param(b'{"customerOrder": {}', id="truncated"),
        pytest.param(json.dumps(SAMPLE_BODY).encode() + b" {}", id="two-documents"),
        pytest.param(b"{'customerOrder': {}}", id="single-quotes"),
        pytest.param(b'{"customerOrder": {"x": 0x10}}', id="hex-number"),
        pytest.param(b'{"customerOrder": {"x": "a\x00b"}}', id="raw-control-in-string"),
    ],
)
def test_malformed_json_is_400(hostile: Target, raw: bytes) -> None:
    answer = hostile.put(raw)
    assert answer.status == 400, answer
    assert answer.problem()["type"].endswith(":malformed-json")


# --- too large: 413, with and without a length --------------------------------------------


def _padded(size: int) -> bytes:
    body = sample(padding="x" * size)
    return json.dumps(body).encode()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("size", [MAX_BODY_BYTES + 1, TEN_MB], ids=["1MiB+1", "10MB"])
def test_a_body_over_one_mib_is_413(hostile: Target, size: int, chunked: bool) -> None:
    raw = _padded(size)
    answer = hostile.put(raw, chunked=chunked)
    assert answer.status == 413, answer
    assert answer.problem()["type"].endswith(":payload-too-large")


def test_a_huge_chunked_body_is_refused_without_being_held_in_memory(hostile: Target) -> None:
    # functions-framework buffered the unread rest of every body before answering:
    # 300 MB sent cost 300 MB of RSS. Now the rest is discarded as it arrives.
    before = rss_bytes(hostile.pid)
    connection = http.client.HTTPConnection("127.0.0.1", hostile.port, timeout=120)
    try:
        connection.putrequest("PUT", PATH)
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.endheaders()
        chunk = b" " * (1024 * 1024)
        peak = before
        for sent in range(HUGE_BODY_MB):
            connection.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            if sent % 20 == 0:
                peak = max(peak, rss_bytes(hostile.pid))
        connection.send(b"0\r\n\r\n")
        response = connection.getresponse()
        assert response.status == 413
        response.read()
    finally:
        connection.close()
    growth_mb = (peak - before) / 2**20
    assert growth_mb < HUGE_BODY_MB / 4, f"RSS grew {growth_mb:.0f} MB for a {HUGE_BODY_MB} MB body"


# --- schema and storability: 422 ----------------------------------------------------------

WRONG_VALUES: list[Any] = [None, True, 0, 1.5, "", "x", [], {}, [1], {"a": 1}]
# Each field of the sample order, and the JSON types it accepts.
FIELDS: dict[tuple[str | int, ...], set[str]] = {
    ("customerOrder",): {"object"},
    ("customerOrder", "customerOrderId"): {"string"},
    ("customerOrder", "customerId"): {"string"},
    ("customerOrder", "status"): {"string"},
    ("customerOrder", "items"): {"array"},
    ("customerOrder", "items", 0): {"object"},
    ("customerOrder", "items", 0, "itemId"): {"string"},
    ("customerOrder", "items", 0, "quantityOrdered"): {"number"},
    ("customerOrder", "items", 0, "unitPrice"): {"number"},
    ("customerOrder", "minimumDownPaymentAmount"): {"number", "null"},
    ("customerOrder", "isLocked"): {"boolean", "null"},
    ("customerOrder", "invoicePaymentInstructions"): {"object", "null"},
    ("customerOrder", "invoicePaymentInstructions", "customerAccountId"): {"string"},
    ("customerOrder", "invoicePaymentInstructions", "invoicingAmount"): {"number"},
    ("customerOrder", "invoicePaymentInstructions", "additionalInformation"): {"array", "null"},
    ("customerOrder", "invoicePaymentInstructions", "additionalInformation", 0): {"object"},
    ("customerOrder", "invoicePaymentInstructions", "additionalInformation", 0, "id"): {"string"},
    ("customerOrder", "invoicePaymentInstructions", "additionalInformation", 0, "value"): {
        "string"
    },
}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _pointer(path: tuple[str | int, ...]) -> str:
    return "".join(f"/{part}" for part in path)


@pytest.mark.parametrize("path", list(FIELDS), ids=[_pointer(path) for path in FIELDS])
def test_every_wrong_type_at_any_level_is_422_naming_the_field(
    hostile: Target, path: tuple[str | int, ...]
) -> None:
    wrong = [value for value in WRONG_VALUES if _json_type(value) not in FIELDS[path]]
    assert wrong
    for value in wrong:
        answer = hostile.put(with_value(path, value))
        assert answer.status == 422, (value, answer)
        problem = answer.problem()
        assert problem["type"].endswith(":validation-failed")
        pointers = [error["pointer"] for error in problem["errors"]]
        assert any(pointer.startswith(_pointer(path)) for pointer in pointers), (value, pointers)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param([SAMPLE_BODY], id="array"),
        pytest.param("order", id="string"),
        pytest.param(42, id="number"),
        pytest.param(None, id="null"),
        pytest.param({}, id="empty-object"),
        pytest.param({**SAMPLE_BODY, "extra": 1}, id="unknown-envelope-member"),
        pytest.param(sample(items=[]), id="empty-items"),
        pytest.param(sample(customerOrderId="CO-other"), id="body-id-differs-from-path"),
        pytest.param(sample(customerOrderId="a/b"), id="body-id-with-slash"),
        pytest.param(sample(customerId=""), id="empty-customer-id"),
        pytest.param(with_value(("customerOrder", "items", 0, "quantityOrdered"), 0), id="qty-0"),
        pytest.param(sample(customerId="é" * 513), id="customer-id-over-1024-bytes"),
        pytest.param(sample(status="s" * 1025), id="status-over-1024-bytes"),
        pytest.param(sample(customerId=True), id="bool-for-string"),
        pytest.param(sample(isLocked=1), id="int-for-bool"),
        pytest.param(sample(isLocked="false"), id="string-for-bool"),
        pytest.param(
            with_value(("customerOrder", "items", 0, "quantityOrdered"), "2"), id="string-for-num"
        ),
    ],
)
def test_a_body_the_schema_or_the_topic_refuses_is_422(hostile: Target, body: Any) -> None:
    answer = hostile.put(body)
    assert answer.status == 422, answer
    assert answer.problem()["type"].endswith(":validation-failed")


@pytest.mark.parametrize(
    "literal", ["1e400", "-1e400", "1" + "0" * 400], ids=["1e400", "minus-1e400", "401-digits"]
)
def test_a_price_beyond_a_double_is_422(hostile: Target, literal: str) -> None:
    raw = json.dumps(SAMPLE_BODY).replace("499.75", literal, 1)
    answer = hostile.put(raw.encode())
    assert answer.status == 422, answer
    pointers = [error["pointer"] for error in answer.problem()["errors"]]
    assert any(p.startswith("/customerOrder/items/0/unitPrice") for p in pointers), pointers


def test_an_unpaired_surrogate_in_the_customer_id_is_422(hostile: Target) -> None:
    raw = json.dumps(SAMPLE_BODY).replace('"customerId": "', '"customerId": "\\ud800', 1)
    answer = hostile.put(raw.encode())
    assert answer.status == 422, answer
    assert [error["pointer"] for error in answer.problem()["errors"]] == [
        "/customerOrder/customerId"
    ]


def _with_member(raw_member: str) -> bytes:
    """The sample body with one more member, written exactly as given."""
    return (json.dumps(SAMPLE_BODY)[:-2] + f", {raw_member}}}}}").encode()


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(_with_member('"huge": 18446744073709551616'), id="int-over-64-bits"),
        pytest.param(_with_member('"digits": 1' + "0" * 400), id="401-digits"),
        pytest.param(_with_member('"far": 1e400'), id="1e400"),
        pytest.param(_with_member('"__reserved__": 1'), id="member-__name__"),
        pytest.param(_with_member('"": 1'), id="empty-member-name"),
        pytest.param(_with_member('"matrix": [[1, 2], [3, [4]]]'), id="array-in-array"),
        pytest.param(_with_member('"deep": ' + '{"a":' * 25 + "1" + "}" * 25), id="25-deep"),
        pytest.param(_with_member('"note": "\\ud800"'), id="unpaired-surrogate-escape"),
        pytest.param(_with_member('"total": 10.10, "ratio": 1e2'), id="number-spelling"),
        pytest.param(json.dumps(SAMPLE_BODY, indent=4).encode(), id="pretty-printed"),
    ],
)
def test_legal_json_is_published_byte_for_byte_whatever_its_shape(
    target: Target, raw: bytes
) -> None:
    answer = target.put(raw)
    assert answer.status == 202, answer
    [message] = target.published()
    assert base64.b64decode(message["data"]) == raw


# --- ids in the path: 400, or 404 when the path no longer has the shape ---------------------


@pytest.mark.parametrize(
    ("order_segment", "status"),
    [
        pytest.param("a%2Fb", 400, id="%2F"),
        pytest.param("a%2fb", 400, id="%2f"),
        pytest.param("..", 400, id="dotdot"),
        pytest.param("%2E%2E", 400, id="encoded-dotdot"),
        pytest.param(".", 400, id="dot"),
        pytest.param("__x__", 400, id="__x__"),
        pytest.param("%5F%5Fx%5F%5F", 400, id="encoded-__x__"),
        pytest.param("a%00b", 400, id="NUL"),
        pytest.param("a%0Ab", 400, id="LF"),
        pytest.param("a%0D%0Ab", 400, id="CRLF"),
        pytest.param("a%09b", 400, id="TAB"),
        pytest.param("a%7Fb", 400, id="DEL"),
        pytest.param("a%C2%85b", 400, id="NEL"),
        pytest.param("a%E2%80%A8b", 400, id="LINE-SEPARATOR"),
        pytest.param("x" * 1500, 400, id="1500-bytes"),
        pytest.param("x" * 512, 400, id="512-bytes"),
        pytest.param("%F0%9F%98%80" * 128, 400, id="128-four-byte-chars"),
        pytest.param(quote("é" * 700), 400, id="1400-bytes-of-e-acute"),
        pytest.param("%FF", 400, id="invalid-utf8-escape"),
        pytest.param("%C0%AF", 400, id="overlong-escape"),
        pytest.param("a/b", 404, id="slash"),
        pytest.param("", 404, id="empty"),
    ],
)
def test_an_invalid_order_id_in_the_path_is_rejected(
    hostile: Target, order_segment: str, status: int
) -> None:
    path = f"/business-units/BU1/customer-orders/{order_segment}"
    answer = hostile.put(SAMPLE_BODY, path=path)
    assert answer.status == status, answer
    problem = answer.problem()
    if status == 400:
        assert problem["type"].endswith(":invalid-id")
        assert [error["pointer"] for error in problem["errors"]] == ["/customerOrderId"]


@pytest.mark.parametrize("segment", ["..", "a%2Fb", "__x__", "a%00b", "x" * 1500])
def test_an_invalid_business_unit_id_is_400(hostile: Target, segment: str) -> None:
    answer = hostile.put(SAMPLE_BODY, path=f"/business-units/{segment}/customer-orders/{ORDER_ID}")
    assert answer.status == 400, answer
    assert [error["pointer"] for error in answer.problem()["errors"]] == ["/businessUnitId"]


def test_the_body_id_must_match_even_a_valid_unusual_path_id(hostile: Target) -> None:
    answer = hostile.put(SAMPLE_BODY, path=f"/business-units/BU1/customer-orders/{quote('CO 1é')}")
    assert answer.status == 422, answer
    pointers = [error["pointer"] for error in answer.problem()["errors"]]
    assert pointers == ["/customerOrder/customerOrderId"]


# --- media types: 415 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        pytest.param("text/plain", json.dumps(SAMPLE_BODY).encode(), id="text-plain"),
        pytest.param("application/xml", b"<customerOrder/>", id="xml"),
        pytest.param("multipart/form-data; boundary=x", b"--x--", id="multipart"),
        pytest.param("application/octet-stream", b"\x00\x01", id="octet-stream"),
        pytest.param("application/json; charset=latin-1", b"{}", id="latin-1"),
        pytest.param("application/json; charset=utf-16", b"{}", id="utf-16"),
        pytest.param("application/x-www-form-urlencoded", b"a=1&b=2", id="form-not-json"),
        pytest.param("", b"a=1", id="no-type-not-json"),
    ],
)
def test_a_body_that_is_not_json_is_415(hostile: Target, content_type: str, raw: bytes) -> None:
    answer = hostile.put(raw, headers={"Content-Type": content_type})
    assert answer.status == 415, answer
    assert answer.problem()["type"].endswith(":unsupported-media-type")


# --- methods and paths: 405 and 404 --------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE", "OPTIONS", "TRACE", "BREW"])
def test_another_method_is_405_with_allow(hostile: Target, method: str) -> None:
    answer = hostile.send(method, PATH, json.dumps(SAMPLE_BODY).encode())
    assert answer.status == 405, answer
    assert answer.headers["allow"] == "GET, HEAD, PUT"
    answer.problem()


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/business-units/BU1",
        "/business-units/BU1/customer-orders",
        "/business-units/BU1/customer-orders/CO-1/extra",
        "/business-units//customer-orders/CO-1",
        "/BUSINESS-UNITS/BU1/customer-orders/CO-1",
        "/robots.txt",
        "/favicon.ico",
        "/%0A",
    ],
)
def test_another_path_is_404(hostile: Target, path: str) -> None:
    answer = hostile.put(SAMPLE_BODY, path=path)
    assert answer.status == 404, answer
    answer.problem()
