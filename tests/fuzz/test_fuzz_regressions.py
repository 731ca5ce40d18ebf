"""Every input the fuzzers found a 5xx (or another broken promise) for, against the real functions.

Each is a file of tests/fuzz/corpus/<target>/ (the fuzzer's own input, replayed here
as it was found) sent over HTTP to an instance of the real function on the emulators,
whose topics are its own with a pull subscription: each is answered with a 4xx
problem document, and nothing is published. The first two are issue 29's, found by
hand before the fuzzer existed; ``make fuzz`` adds the ones it finds
(tests/fuzz/run.py). The in-memory targets replay the whole corpus in
tests/fuzz/test_corpus.py.
"""

from __future__ import annotations

import hashlib
import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
import requests

from shared.domain.addresses import order_location, pickup_location
from shared.tools.devstack import LocalStack
from tests.fuzz.cases import HttpCase, PubSubCase, parse_http_case, parse_pubsub_case
from tests.fuzz.oracle import LEAK_MARKERS
from tests.fuzz.targets import corpus_dir
from tests.integration.sync_support import orders_sync, stored_orders
from tests.support import (
    create_pull_subscription,
    create_topic,
    pull_all,
    running_function,
    stored_document,
    unique_id,
    wait_for,
)

if TYPE_CHECKING:
    from google.cloud import firestore

pytestmark = pytest.mark.integration

PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def problem(self) -> dict[str, Any]:
        """The problem document, checked to be one of ours that leaks nothing."""
        assert self.headers.get("content-type", "").split(";")[0] == PROBLEM_JSON, self
        text = self.body.decode("utf-8")
        for marker in LEAK_MARKERS:
            assert marker.lower() not in text.lower(), text
        document: dict[str, Any] = json.loads(text)
        assert document["status"] == self.status
        assert document["type"].startswith("urn:customer-order-events:problem:")
        return document


@dataclass(frozen=True)
class Function:
    """A real function of the stack's code, publishing only to topics the test pulls."""

    stack: LocalStack
    url: str
    taps: tuple[str, ...]

    def send(self, case: HttpCase) -> Answer:
        """The case as written: method, target, headers and body, over one connection."""
        location = urlsplit(self.url)
        host = location.hostname or "127.0.0.1"
        connection = http.client.HTTPConnection(host, location.port, timeout=60)
        try:
            connection.putrequest(case.method, case.target, skip_accept_encoding=True)
            for name, value in case.headers.items():
                connection.putheader(name, value.encode("utf-8"))
            connection.putheader("Content-Length", str(len(case.body)))
            connection.endheaders(case.body)
            response = connection.getresponse()
            return Answer(
                response.status,
                {name.lower(): value for name, value in response.getheaders()},
                response.read(),
            )
        finally:
            connection.close()

    def published(self) -> list[dict[str, Any]]:
        return [message for tap in self.taps for message in pull_all(self.stack, tap, settle=0.5)]


def _tapped(stack: LocalStack, name: str) -> Iterator[Function]:
    """``name`` publishing to topics of its own, each with a pull subscription (its tap)."""
    orders, store_updates = unique_id("fuzz-orders"), unique_id("fuzz-store-updates")
    for topic in (orders, store_updates):
        create_topic(stack, topic)
        create_pull_subscription(stack, topic, f"{topic}-tap")
    with running_function(
        name, stack, ORDERS_TOPIC=orders, STORE_UPDATES_TOPIC=store_updates
    ) as url:
        yield Function(stack, url, (f"{orders}-tap", f"{store_updates}-tap"))


@pytest.fixture(scope="module")
def ingest(stack: LocalStack) -> Iterator[Function]:
    yield from _tapped(stack, "ingest")


@pytest.fixture(scope="module")
def pos(stack: LocalStack) -> Iterator[Function]:
    yield from _tapped(stack, "pos")


def corpus_case(target: str, name: str) -> HttpCase:
    return parse_http_case((corpus_dir(target) / name).read_bytes())


def refused(function: Function, case: HttpCase, status: int, slug: str) -> dict[str, Any]:
    answer = function.send(case)
    assert answer.status == status, answer
    document = answer.problem()
    assert document["type"].endswith(f":{slug}"), document
    assert function.published() == []
    return document


# --- issue 29: the two 500s of the search, on both functions ------------------------------


@pytest.mark.parametrize("function", ["ingest", "pos"])
def test_a_search_from_year_1_in_an_offset_east_of_utc_is_422_not_an_overflow_500(
    function: str, request: pytest.FixtureRequest
) -> None:
    # {"receivedAt": {"from": "0001-01-01T00:00:00+01:00"}}: its UTC is before year 1.
    case = corpus_case("ingest", "seed-issue-29-search-year-1")
    document = refused(request.getfixturevalue(function), case, 422, "invalid-search")
    assert "/receivedAt/from" in {error["pointer"] for error in document["errors"]}


@pytest.mark.parametrize("function", ["ingest", "pos"])
def test_a_page_token_of_3000_brackets_is_422_not_a_recursion_500(
    function: str, request: pytest.FixtureRequest
) -> None:
    case = corpus_case("ingest", "seed-issue-29-search-page-token-brackets")
    document = refused(request.getfixturevalue(function), case, 422, "invalid-search")
    assert [error["pointer"] for error in document["errors"]] == ["/pageToken"]


# --- found by make fuzz -------------------------------------------------------------------


def _own_order(case: HttpCase, order_id: str) -> HttpCase:
    """The case about an order of this run's own (the corpus names CO-NEW)."""
    return HttpCase(
        case.method,
        case.path.replace("CO-NEW", order_id),
        case.headers,
        case.body.replace(b'"CO-NEW"', json.dumps(order_id).encode()),
    )


def _picked_up(stack: LocalStack, business_unit_id: str, order_id: str) -> dict[str, Any]:
    """The pos function's pickup of a stored order, checked to be recorded (200)."""
    pos = Function(stack, stack.config.pos_url, ())
    answer = pos.send(HttpCase("POST", pickup_location(business_unit_id, order_id)))
    assert answer.status == 200, answer
    document: dict[str, Any] = json.loads(answer.body)
    return document


def test_an_order_with_a_lone_surrogate_escape_accepted_at_the_door_can_be_picked_up(
    stack: LocalStack, firestore_client: firestore.Client
) -> None:
    # ingest target: "note": "\ud800" is JSON (an escape), kept as sent in a member no rule
    # checks; the pickup's view of the order wrote it as UTF-8, which it has none: a 500.
    order_id = unique_id()
    case = _own_order(corpus_case("ingest", "crash-lone-surrogate-escape-then-picked-up"), order_id)
    ingest = Function(stack, stack.config.ingest_url, ())
    assert ingest.send(case).status == 202
    wait_for(lambda: stored_document(firestore_client, "BU1", order_id), timeout=30)
    shown = _picked_up(stack, "BU1", order_id)
    assert shown["customerOrder"]["note"] == "\ud800"


@pytest.fixture(scope="module")
def processor(stack: LocalStack) -> Iterator[str]:
    """A processor of the stack's code, pushed to by the test alone."""
    with running_function("processor", stack) as url:
        yield url


def pushed(processor: str, name: str, order_id: str) -> int:
    """The corpus message ``name``, about an order of this run's own, pushed as Pub/Sub does."""
    message = parse_pubsub_case((corpus_dir("processor") / name).read_bytes())
    data = message.data.replace(b'"CO-NEW"', json.dumps(order_id).encode())
    attributes = {
        **message.attributes,
        "customerOrderId": order_id,
        "bodySha256": hashlib.sha256(data).hexdigest(),
    }
    case = PubSubCase(data, attributes, unique_id("m"), ordering_key=f"BU1/{order_id}")
    answer = requests.post(
        processor + case.push_path,
        json=case.push_envelope("projects/p/subscriptions/customer-orders-processor"),
        timeout=60,
    )
    return answer.status_code


def test_a_hand_made_message_of_a_surrogate_in_invalid_utf8_is_stored_and_can_be_picked_up(
    stack: LocalStack, processor: str
) -> None:
    # processor target: such a body only comes by hand (the door refuses invalid UTF-8);
    # json.loads reads it with surrogatepass, and the pickup's view failed as above.
    order_id = unique_id()
    assert pushed(processor, "crash-stored-surrogate-then-picked-up", order_id) == 200
    shown = _picked_up(stack, "BU1", order_id)
    assert shown["customerOrder"]["note"] == "\udf4f"


def test_a_hand_made_message_whose_items_are_a_number_is_stored_not_a_500(
    stack: LocalStack, processor: str
) -> None:
    # processor target: {"items": 1.5} (the door refuses it, 422) made the implicit
    # fulfillment iterate a float: a TypeError, a 500 on every delivery until dead-lettered.
    order_id = unique_id()
    assert pushed(processor, "crash-items-not-a-list", order_id) == 200
    got = Function(stack, stack.config.pos_url, ()).send(
        HttpCase("GET", order_location("BU1", order_id))
    )
    assert got.status == 200, got
    assert json.loads(got.body)["customerOrder"]["items"] == 1.5


def test_an_export_record_holding_a_number_past_a_double_is_rejected_not_a_crash(
    ingest_url: str, firestore_client: firestore.Client, tmp_path: Path
) -> None:
    # sync target: 1e400 parses as infinity, which the body sent could not hold: writing
    # it raised ValueError in orders-sync's worker. Now the record is a reject with a reason.
    business_unit_id = unique_id("BU")
    export = tmp_path / "export.ndjson"
    export.write_bytes(
        (corpus_dir("sync") / "crash-number-beyond-a-double")
        .read_bytes()
        .replace(b'"BU1"', json.dumps(business_unit_id).encode())
    )
    rejects = tmp_path / "rejects.ndjson"
    pushed = orders_sync(
        "push", str(export), "--url", ingest_url, "--rejects", str(rejects),
        "--checkpoint", str(tmp_path / "cp"),
    )  # fmt: skip
    assert pushed.code == 1, pushed.err
    assert "Traceback" not in pushed.err
    counts = pushed.counts()
    assert (counts["accepted"], counts["rejected"], counts["failed"]) == (1, 1, 0), pushed.out
    [reject] = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert reject["line"] == 2
    assert reject["problem"]["status"] == 422
    assert reject["problem"]["errors"][0]["pointer"] == "/customerOrder"
    wait_for(lambda: set(stored_orders(firestore_client, business_unit_id)) == {"CO-S1"})
