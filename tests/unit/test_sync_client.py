"""The sync client against a scripted HTTP server: retries, backoff, tokens, outcomes."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict

import pytest

from shared.errors import InvalidId
from shared.tools.devstack import free_ports
from shared.tools.sync.client import (
    Accepted,
    Failed,
    Found,
    NotFound,
    OrdersClient,
    Rejected,
    Stored,
    order_bytes,
)
from shared.tools.sync.ratelimit import RateLimiter
from shared.tools.sync.retrying import RetryPolicy
from tests.support import order_body
from tests.unit.sync_fakes import (
    DROP,
    Answer,
    ScriptedServer,
    SeenRequest,
    accepted,
    problem,
    sequence,
)

FAST = RetryPolicy(initial_delay=0.01, max_delay=0.05, deadline=5.0)


def order(customer_order_id: str = "CO-1", **changes: object) -> dict[str, object]:
    body: dict[str, object] = order_body(customer_order_id, **changes)["customerOrder"]
    return body


def test_accepted_put_sends_the_body_to_the_order_path() -> None:
    with (
        ScriptedServer(accepted) as server,
        OrdersClient(server.url, retry=FAST) as client,
    ):
        outcome = client.put_order("BU 1", order("CO 1?#"))

    assert isinstance(outcome, Accepted)
    assert outcome.attempts == 1
    assert outcome.received_at == "2026-11-29T10:00:00.000001Z"
    (request,) = server.requests
    assert request.method == "PUT"
    assert request.path == "/business-units/BU%201/customer-orders/CO%201%3F%23"
    assert json.loads(request.body) == {"customerOrder": order("CO 1?#")}
    assert request.headers["Content-Type"] == "application/json"
    assert "Authorization" not in request.headers


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retryable_statuses_are_retried_until_accepted(status: int) -> None:
    script = sequence(problem(status, "publish-unavailable"), problem(status), accepted_answer())
    with ScriptedServer(script) as server, OrdersClient(server.url, retry=FAST) as client:
        outcome = client.put_order("BU1", order())

    assert isinstance(outcome, Accepted)
    assert outcome.attempts == 3
    assert len(server.requests) == 3


@pytest.mark.parametrize("status", [400, 409, 413, 415, 422])
def test_other_client_errors_are_final_and_keep_the_problem(status: int) -> None:
    answer = problem(status, detail="the customer order cannot be accepted as sent")
    with ScriptedServer(sequence(answer)) as server, OrdersClient(server.url, retry=FAST) as c:
        outcome = c.put_order("BU1", order())

    assert isinstance(outcome, Rejected)
    assert outcome.status == status
    assert outcome.problem["detail"] == "the customer order cannot be accepted as sent"
    assert len(server.requests) == 1


def test_retry_after_is_honoured_over_a_shorter_backoff() -> None:
    script = sequence(problem(503, headers={"Retry-After": "1"}), accepted_answer())
    with ScriptedServer(script) as server, OrdersClient(server.url, retry=FAST) as client:
        outcome = client.put_order("BU1", order())

    assert isinstance(outcome, Accepted)
    first, second = server.requests
    assert second.at - first.at >= 0.95


def test_waits_grow_exponentially_between_attempts() -> None:
    policy = RetryPolicy(initial_delay=0.2, max_delay=10.0, multiplier=2.0, deadline=30.0)
    waits = list(zip(range(200), policy.delays(), strict=False))
    caps = [min(0.2 * 2**n, 10.0) for n in range(200)]
    assert all(0 <= wait <= cap for (_, wait), cap in zip(waits, caps, strict=True))
    late = [wait for n, wait in waits if n >= 10]
    # Full jitter: late waits spread over [0, 10], so their mean is near 5, far above 0.2.
    assert 3.0 < sum(late) / len(late) < 7.0


def test_gives_up_as_failed_when_the_deadline_would_pass() -> None:
    policy = RetryPolicy(initial_delay=0.05, max_delay=0.1, deadline=0.5)
    with (
        ScriptedServer(sequence(problem(503))) as server,
        OrdersClient(server.url, retry=policy) as client,
    ):
        started = time.monotonic()
        outcome = client.put_order("BU1", order())
        elapsed = time.monotonic() - started

    assert isinstance(outcome, Failed)
    assert "HTTP 503" in outcome.reason
    assert outcome.may_have_been_accepted is False
    assert outcome.attempts == len(server.requests) > 1
    assert elapsed < 1.0


def test_a_refused_connection_is_retried_and_known_not_to_have_arrived() -> None:
    closed_port = free_ports(1)[0]
    policy = RetryPolicy(initial_delay=0.01, max_delay=0.02, deadline=0.3)
    with OrdersClient(f"http://127.0.0.1:{closed_port}", retry=policy) as client:
        outcome = client.put_order("BU1", order())

    assert isinstance(outcome, Failed)
    assert outcome.attempts > 1
    assert "ConnectionError" in outcome.reason
    assert outcome.may_have_been_accepted is False


def test_a_dropped_connection_is_retried_and_may_have_arrived() -> None:
    with (
        ScriptedServer(sequence(DROP, accepted_answer())) as server,
        OrdersClient(server.url, retry=FAST) as client,
    ):
        outcome = client.put_order("BU1", order())
        assert isinstance(outcome, Accepted)
        assert len(server.requests) == 2

    with (
        ScriptedServer(sequence(DROP)) as server,
        OrdersClient(server.url, retry=RetryPolicy(0.01, 0.02, deadline=0.2)) as client,
    ):
        failed = client.put_order("BU1", order())
    assert isinstance(failed, Failed)
    assert failed.may_have_been_accepted is True


def test_stop_ends_the_wait_between_retries() -> None:
    stop = threading.Event()
    slow = RetryPolicy(initial_delay=30.0, max_delay=30.0, multiplier=1.0, deadline=300.0)
    with (
        ScriptedServer(sequence(problem(503))) as server,
        OrdersClient(server.url, retry=slow) as client,
    ):
        threading.Timer(0.3, stop.set).start()
        started = time.monotonic()
        outcome = client.put_order("BU1", order(), stop=stop)

    assert isinstance(outcome, Failed)
    assert outcome.stopped
    assert time.monotonic() - started < 5


def test_an_audience_puts_a_bearer_token_on_every_request() -> None:
    class Tokens:
        calls = 0

        def token(self) -> str:
            self.calls += 1
            return "id-token-1"

    with (
        ScriptedServer(sequence(problem(503), accepted_answer())) as server,
        OrdersClient(server.url, token_source=Tokens(), retry=FAST) as client,
    ):
        client.put_order("BU1", order())

    assert [r.headers["Authorization"] for r in server.requests] == ["Bearer id-token-1"] * 2


def test_invalid_ids_raise_before_any_request() -> None:
    with ScriptedServer(accepted) as server, OrdersClient(server.url, retry=FAST) as client:
        with pytest.raises(InvalidId):
            client.put_order("BU/1", order())
        with pytest.raises(InvalidId):
            client.put_order("BU1", order("__x__"))
        with pytest.raises(InvalidId):
            client.put_order("BU1", {"customerOrderId": 7})
    assert server.requests == []


def test_get_order_tells_found_from_not_found() -> None:
    stored = order("CO-7")

    def script(request: SeenRequest) -> Answer:
        if request.path.endswith("/CO-7"):
            return Answer(
                200,
                {"customerOrder": stored},
                headers={"Received-At": "2026-11-29T10:00:00.000001Z", "ETag": f'"{"a" * 64}"'},
            )
        return problem(404, "not-found")

    with ScriptedServer(script) as server, OrdersClient(server.url, retry=FAST) as client:
        found = client.get_order("BU1", "CO-7")
        missing = client.get_order("BU1", "CO-8")

    assert found == Found(stored, "2026-11-29T10:00:00.000001Z", 1, "a" * 64)
    assert missing == NotFound(1)


def test_a_404_that_is_not_the_api_is_not_mistaken_for_a_missing_order() -> None:
    html = Answer(404, "no such page", content_type="text/html")
    with ScriptedServer(sequence(html)) as server, OrdersClient(server.url, retry=FAST) as c:
        outcome = c.get_order("BU1", "CO-1")

    assert isinstance(outcome, Rejected)
    assert outcome.status == 404
    assert "text/html" in outcome.problem["detail"]


def test_put_orders_keeps_each_orders_versions_in_order() -> None:
    def slow_accept(request: SeenRequest) -> Answer:
        time.sleep(0.002)
        return accepted(request)

    orders = [("BU1", order(f"CO-{n % 10}", status=f"v{n // 10}")) for n in range(100)]
    with (
        ScriptedServer(slow_accept) as server,
        OrdersClient(server.url, concurrency=8, retry=FAST) as client,
    ):
        outcomes = client.put_orders(orders)

    assert len(outcomes) == 100
    assert all(isinstance(outcome, Accepted) for outcome in outcomes)
    statuses: dict[str, list[str]] = defaultdict(list)
    for request in sorted(server.requests, key=lambda r: r.at):
        sent = json.loads(request.body)["customerOrder"]
        statuses[sent["customerOrderId"]].append(sent["status"])
    assert statuses == {f"CO-{n}": [f"v{v}" for v in range(10)] for n in range(10)}


def test_put_orders_reports_an_invalid_id_as_rejected_and_sends_the_rest() -> None:
    with ScriptedServer(accepted) as server, OrdersClient(server.url, retry=FAST) as client:
        outcomes = client.put_orders([("BU/1", order("CO-1")), ("BU1", order("CO-2"))])

    assert isinstance(outcomes[0], Rejected)
    assert outcomes[0].status == 400
    assert isinstance(outcomes[1], Accepted)
    assert len(server.requests) == 1


def test_a_rate_limit_spaces_the_requests() -> None:
    with (
        ScriptedServer(accepted) as server,
        OrdersClient(
            server.url, concurrency=4, retry=FAST, rate_limiter=RateLimiter(50.0)
        ) as client,
    ):
        started = time.monotonic()
        client.put_orders([("BU1", order(f"CO-{n}")) for n in range(21)])
        elapsed = time.monotonic() - started

    # 21 requests at 50/s: the last starts 20 intervals (0.4 s) after the first.
    assert elapsed >= 0.39


def accepted_answer() -> Answer:
    return Answer(202, {"messageId": "1", "receivedAt": "2026-11-29T10:00:00.000001Z"})


def test_what_a_put_sends_is_what_order_bytes_says() -> None:
    with (
        ScriptedServer(sequence(Answer(202, {"messageId": "1"}))) as server,
        OrdersClient(server.url, retry=FAST) as client,
    ):
        client.put_order("BU1", order("CO-1"))
    [request] = server.requests
    assert request.body == order_bytes(order("CO-1"))


def test_a_source_version_travels_as_the_header_and_only_when_given() -> None:
    with ScriptedServer(accepted) as server, OrdersClient(server.url, retry=FAST) as client:
        client.put_order("BU1", order("CO-1"), source_version=2**63 - 1)
        client.put_order("BU1", order("CO-2"))

    versioned, plain = server.requests
    assert versioned.headers["Source-Version"] == "9223372036854775807"
    assert "Source-Version" not in plain.headers
    # The version is a header, never part of the body the store keeps.
    assert versioned.body == order_bytes(order("CO-1"))


def stored_answer(request: SeenRequest) -> Answer:
    if request.path.endswith("/CO-8"):
        return problem(404, "not-found")
    headers = {"Received-At": "2026-11-29T10:00:00.000001Z", "ETag": f'"{"b" * 64}"'}
    if request.path.endswith("/CO-5"):
        headers["Source-Version"] = "5"
    return Answer(200, {"customerOrder": order(request.path.rsplit("/", 1)[1])}, headers=headers)


def test_head_order_reads_the_stored_version_without_the_body() -> None:
    with ScriptedServer(stored_answer) as server, OrdersClient(server.url, retry=FAST) as client:
        versioned = client.head_order("BU1", "CO-5")
        plain = client.head_order("BU1", "CO-6")
        missing = client.head_order("BU1", "CO-8")
        # The connection is still usable after an answer without a body.
        found = client.get_order("BU1", "CO-5")

    assert versioned == Stored(5, 1)
    assert plain == Stored(None, 1)
    assert missing == NotFound(1)
    assert [r.method for r in server.requests] == ["HEAD", "HEAD", "HEAD", "GET"]
    assert isinstance(found, Found)
    assert found.source_version == 5


@pytest.mark.parametrize("method", ["get_order", "head_order"])
def test_a_stored_version_that_is_not_one_is_an_unexpected_answer(method: str) -> None:
    garbled = Answer(200, {"customerOrder": order()}, headers={"Source-Version": "-1"})
    with ScriptedServer(sequence(garbled)) as server, OrdersClient(server.url, retry=FAST) as c:
        outcome = getattr(c, method)("BU1", "CO-1")

    assert isinstance(outcome, Rejected)
    assert outcome.status == 200
    assert outcome.problem["title"] == "Unexpected answer"
    assert "Source-Version must be" in outcome.problem["detail"]


def test_get_order_takes_the_oms_body_digest_from_its_header_and_else_from_the_etag() -> None:
    """Once a store recorded something, the ETag is the digest of the order as shown; the
    OMS's body has its own header. A service of the release before had only the ETag."""
    stored = order("CO-7")

    def script(request: SeenRequest) -> Answer:
        headers = {"Received-At": "2026-11-29T10:00:00.000001Z", "ETag": f'"{"e" * 64}"'}
        if request.path.endswith("/CO-7"):
            headers["OMS-Body-SHA256"] = "b" * 64
        return Answer(200, {"customerOrder": stored}, headers=headers)

    with ScriptedServer(script) as server, OrdersClient(server.url, retry=FAST) as client:
        current = client.get_order("BU1", "CO-7")
        before = client.get_order("BU1", "CO-8")

    assert isinstance(current, Found)
    assert isinstance(before, Found)
    assert (current.body_sha256, before.body_sha256) == ("b" * 64, "e" * 64)
