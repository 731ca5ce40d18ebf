"""The store's updates on the real emulators and the real functions.

A partial pickup and the rest on Saturday; retries of one update from two tills and
after a 503 whose publish landed; the pos function killed after its publish and
after its write; and the race of store pickups with OMS cancellations and item
removals, per item, over hundreds of orders. Every order ends one way or the other.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest
import requests

from shared.domain import events
from shared.domain.addresses import document_path, order_location, pickup_location, ready_location
from shared.domain.store_state import FULFILLED
from shared.tools.devstack import LocalStack, free_ports, http_request, is_listening
from shared.tools.functions import LOOPBACK, function_command
from tests.reliability.tcp_proxy import tcp_proxy
from tests.support import (
    FORMATS,
    ReceivedEvent,
    pubsub_base,
    received_events,
    stored_document,
    unique_id,
    wait_for,
)
from tests.support import (
    fulfilled_body as fulfilled_order,
)

if TYPE_CHECKING:
    from google.cloud import firestore

pytestmark = pytest.mark.integration

BU = "BU-STORE"
ITEM_A, ITEM_B = "7310865004703", "7310865071231"  # ordered 2 and 1 in the sample
ROUNDS = 200
THREADS = 16


def fulfilled_body(order_id: str, **changes: Any) -> dict[str, Any]:
    """The sample with both items picked up at BU-STORE and a sofa from the warehouse."""
    return fulfilled_order(order_id, BU, **changes)


def put(
    http: requests.Session, base: str, order_id: str, version: int, body: dict[str, Any] | str
) -> requests.Response:
    return http.put(
        base + order_location(BU, order_id),
        data=body if isinstance(body, str) else json.dumps(body),
        headers={"Source-Version": str(version), "Content-Type": "application/json"},
        timeout=30,
    )


def post(
    http: requests.Session, base: str, location: str, payload: dict[str, Any] | None = None
) -> requests.Response:
    return http.post(base + location, json=payload, timeout=30)


def store_fulfillment(view: dict[str, Any]) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        f for f in view["customerOrder"]["fulfillments"] if f["fulfillmentId"] == "F-STORE"
    ]
    assert len(found) == 1
    return found[0]


def quantities(view: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {
        item["itemId"]: (item.get("readyQuantity"), item.get("pickedUpQuantity"))
        for item in store_fulfillment(view)["items"]
    }


def events_of(stack: LocalStack, order_id: str) -> list[ReceivedEvent]:
    return [
        event
        for event in received_events(stack.config.receiver_url, "local")
        if event.order == (BU, order_id)
    ]


def recorded_updates(client: firestore.Client, order_id: str) -> list[str]:
    """The store updates recorded of an order: their ids."""
    collection = client.document(document_path(BU, order_id)).collection("store-updates")
    return sorted(snapshot.id for snapshot in collection.stream())


def stored_order(stack: LocalStack, firestore_client: firestore.Client, order_id: str) -> None:
    wait_for(lambda: stored_document(firestore_client, BU, order_id), timeout=30)


def test_a_partial_pickup_then_the_rest_with_an_oms_version_between(
    stack: LocalStack, http: requests.Session, firestore_client: firestore.Client
) -> None:
    order = unique_id("PARTIAL")
    ingest, pos = stack.config.ingest_url, stack.config.pos_url
    sent = json.dumps(fulfilled_body(order)).replace("499.75", "499.750")
    assert put(http, ingest, order, 1, sent).status_code == 202
    stored_order(stack, firestore_client, order)

    ready = post(
        http,
        pos,
        ready_location(BU, order),
        {"updateId": "r1", "items": [{"itemId": ITEM_A, "quantity": 1}]},
    )
    assert ready.status_code == 200, ready.text
    assert quantities(ready.json())[ITEM_A] == (1, 0)
    first = post(
        http,
        pos,
        pickup_location(BU, order),
        {
            "updateId": "p1",
            "items": [{"itemId": ITEM_A, "quantity": 1}],
            "tenders": [{"tenderId": "T-1", "amount": 250.00, "method": "CARD"}],
        },
    )
    assert first.status_code == 200, first.text
    assert quantities(first.json()) == {ITEM_A: (0, 1), ITEM_B: (0, 0)}

    # The OMS changes its own data in between: the store's record is kept.
    changed = json.dumps(fulfilled_body(order, isLocked=True)).replace("499.75", "499.750")
    assert put(http, ingest, order, 2, changed).status_code == 202
    wait_for(
        lambda: (
            (document := stored_document(firestore_client, BU, order))
            and document["sourceVersion"] == 2
        ),
        timeout=30,
    )
    between = http.get(pos + order_location(BU, order), timeout=30).json()
    assert between["customerOrder"]["isLocked"] is True
    assert quantities(between) == {ITEM_A: (0, 1), ITEM_B: (0, 0)}
    assert between["customerOrder"]["tenders"] == [
        {"tenderId": "T-1", "amount": 250.0, "method": "CARD"}
    ]

    rest = post(http, pos, pickup_location(BU, order), {"updateId": "p2"})
    assert rest.status_code == 200, rest.text
    view = rest.json()
    assert store_fulfillment(view)["status"] == FULFILLED
    assert quantities(view) == {ITEM_A: (0, 2), ITEM_B: (0, 1)}
    # The OMS's status is the OMS's: it learns of the pickup from the event.
    assert view["customerOrder"]["status"] == "CREATED"

    wanted = [
        events.CREATED,
        events.READY_FOR_PICKUP,
        events.PICKED_UP,
        events.UPDATED,
        events.PICKED_UP,
    ]

    def all_told() -> list[ReceivedEvent] | None:
        received = {event.id: event for event in events_of(stack, order)}
        types = sorted(event.type for event in received.values())
        return list(received.values()) if types == sorted(wanted) else None

    told = wait_for(all_told, timeout=60, interval=0.5)
    for event in told:
        data = event.data.decode()
        # The OMS's members as it sent them, numbers spelled as sent.
        assert '"unitPrice": 499.750' in data or '"unitPrice":499.750' in data, event.type
        if event.type != events.CREATED:
            assert "pickedUpQuantity" in data, event.type
    updates = {event.attributes.get("updateid") for event in told}
    assert {"r1", "p1", "p2"} <= updates
    assert recorded_updates(firestore_client, order) == ["p1", "p2", "r1"]
    print(f"\npartial pickup: events {[event.type for event in told]}")


def test_the_same_update_from_two_tills_and_after_a_lost_answer_is_recorded_once(
    stack: LocalStack, http: requests.Session, firestore_client: firestore.Client
) -> None:
    order = unique_id("RETRY")
    assert put(http, stack.config.ingest_url, order, 1, fulfilled_body(order)).status_code == 202
    stored_order(stack, firestore_client, order)
    payload = {"updateId": "same", "items": [{"itemId": ITEM_A, "quantity": 1}]}
    barrier = threading.Barrier(2)

    def till() -> requests.Response:
        with requests.Session() as own:
            barrier.wait()
            return post(own, stack.config.pos_url, pickup_location(BU, order), payload)

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: till(), range(2)))
    assert [answer.status_code for answer in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    assert quantities(answers[0].json())[ITEM_A] == (0, 1)

    # A publish that lands but whose answer never comes: the pos answers 503, and the
    # processor completes the update on the state it was decided on.
    lost = {"updateId": "lost", "items": [{"itemId": ITEM_A, "quantity": 1}]}
    with (
        tcp_proxy(_port(stack.config.pubsub_host)) as pubsub,
        _pos(stack, PUBSUB_EMULATOR_HOST=pubsub.host, PUBLISH_TIMEOUT_SECONDS="1") as pos,
    ):
        _connect(http, pos, firestore_client)
        pubsub.hold_answers()
        answer = post(http, pos.url, pickup_location(BU, order), lost)
        assert answer.status_code == 503, answer.text
    wait_for(lambda: "lost" in recorded_updates(firestore_client, order), timeout=30)
    retry = post(http, stack.config.pos_url, pickup_location(BU, order), lost)
    assert retry.status_code == 200, retry.text
    assert quantities(retry.json())[ITEM_A] == (0, 2)
    assert recorded_updates(firestore_client, order) == ["lost", "same"]

    def announced() -> Counter[str] | None:
        ids = {
            event.id: event.attributes.get("updateid", "")
            for event in events_of(stack, order)
            if event.type == events.PICKED_UP
        }
        counted = Counter(ids.values())
        return counted if set(counted) == {"same", "lost"} else None

    # One event per update, however many times each was delivered.
    assert wait_for(announced, timeout=60, interval=0.5) == Counter({"same": 1, "lost": 1})


def test_a_pos_killed_after_its_publish_or_after_its_write_leaves_what_the_retry_is_told(
    stack: LocalStack, http: requests.Session, firestore_client: firestore.Client
) -> None:
    order = unique_id("KILLED")
    assert put(http, stack.config.ingest_url, order, 1, fulfilled_body(order)).status_code == 202
    stored_order(stack, firestore_client, order)
    outcomes = {}

    # Killed after its publish, before its write: the publish's answer is held, so it
    # never writes. The processor completes the update on the state it was decided on.
    published = {"updateId": "after-publish", "items": [{"itemId": ITEM_A, "quantity": 1}]}
    with (
        tcp_proxy(_port(stack.config.pubsub_host)) as pubsub,
        _pos(stack, PUBSUB_EMULATOR_HOST=pubsub.host) as pos,
    ):
        _connect(http, pos, firestore_client)
        pubsub.hold_answers()
        pending = _send_in_background(pos.url, pickup_location(BU, order), published)
        # The message landed (the processor completed it): the pos still waits for its answer.
        wait_for(lambda: "after-publish" in recorded_updates(firestore_client, order), timeout=30)
        pos.kill()
        assert pending.answer() is None
    retry = post(http, stack.config.pos_url, pickup_location(BU, order), published)
    assert retry.status_code == 200, retry.text
    outcomes["after its publish"] = quantities(retry.json())[ITEM_A]

    # Killed after its write, before its answer: the answer is held on the way to the POS.
    written = {"updateId": "after-write", "items": [{"itemId": ITEM_B, "quantity": 1}]}
    with _pos(stack) as pos, tcp_proxy(pos.port) as front:
        front.hold_answers()
        pending = _send_in_background(f"http://{front.host}", pickup_location(BU, order), written)
        wait_for(lambda: "after-write" in recorded_updates(firestore_client, order), timeout=30)
        pos.kill()
        assert pending.answer() is None
    retry = post(http, stack.config.pos_url, pickup_location(BU, order), written)
    assert retry.status_code == 200, retry.text
    outcomes["after its write"] = quantities(retry.json())[ITEM_B]
    assert outcomes == {"after its publish": (0, 1), "after its write": (0, 1)}
    assert recorded_updates(firestore_client, order) == ["after-publish", "after-write"]
    # Nothing is recorded twice, and nothing the retry was not told.
    assert quantities(
        http.get(stack.config.pos_url + order_location(BU, order), timeout=30).json()
    ) == {
        ITEM_A: (0, 1),
        ITEM_B: (0, 1),
    }
    print(f"\npos killed: the retries were told {outcomes}")


@pytest.mark.parametrize("oms_change", ["cancellation", "item removal"])
def test_store_pickups_raced_with_oms_changes_end_one_way_or_the_other(
    stack: LocalStack, firestore_client: firestore.Client, oms_change: str
) -> None:
    rounds = ROUNDS // 2
    orders = [unique_id("RACE") for _ in range(rounds)]
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "http"):
            local.http = requests.Session()
        http: requests.Session = local.http
        return http

    def second_version(order: str) -> dict[str, Any]:
        body = fulfilled_body(order)
        if oms_change == "cancellation":
            body["customerOrder"]["status"] = "CANCELLED"
        else:
            # ITEM_A removed from the order and from its fulfillment.
            body["customerOrder"]["items"] = [
                item for item in body["customerOrder"]["items"] if item["itemId"] != ITEM_A
            ]
            body["customerOrder"]["fulfillments"][0]["items"] = [{"itemId": ITEM_B, "quantity": 1}]
        return body

    ingest, pos = stack.config.ingest_url, stack.config.pos_url
    with ThreadPoolExecutor(THREADS) as pool:
        created = list(pool.map(lambda o: put(session(), ingest, o, 1, fulfilled_body(o)), orders))
        assert {answer.status_code for answer in created} == {202}
        wait_for(lambda: all(stored_document(firestore_client, BU, o) for o in orders), timeout=60)
        rng = random.Random(27)
        delays = {order: rng.uniform(0, 0.1) for order in orders}

        def change(order: str) -> int:
            return put(session(), ingest, order, 2, second_version(order)).status_code

        def pick(order: str) -> requests.Response:
            # Sometimes the OMS's change is stored first, sometimes not.
            threading.Event().wait(delays[order])
            payload = {"updateId": f"pick-{order}", "items": [{"itemId": ITEM_A, "quantity": 1}]}
            return post(session(), pos, pickup_location(BU, order), payload)

        changes = {order: pool.submit(change, order) for order in orders}
        picks = {order: pool.submit(pick, order) for order in orders}
        changed = {order: future.result() for order, future in changes.items()}
        picked = {order: future.result() for order, future in picks.items()}
    assert set(changed.values()) == {202}
    statuses = Counter(answer.status_code for answer in picked.values())
    assert set(statuses) <= {200, 409}, statuses
    won = [order for order in orders if picked[order].status_code == 200]

    def settled() -> dict[str, list[ReceivedEvent]] | None:
        received: dict[str, list[ReceivedEvent]] = {}
        for event in received_events(stack.config.receiver_url, "local"):
            if event.order[0] == BU:
                received.setdefault(event.order[1], []).append(event)
        for order in won:
            types = {event.type for event in received.get(order, [])}
            if not {events.CANCELLATION_REFUSED, events.PICKED_UP} <= types:
                return None
        for order in orders:
            document = stored_document(firestore_client, BU, order)
            if order not in won and (document is None or document["sourceVersion"] != 2):
                return None
        return received

    received = wait_for(settled, timeout=180, interval=0.5)
    outcomes: Counter[str] = Counter()
    for order in orders:
        document = stored_document(firestore_client, BU, order)
        assert document is not None
        types = [event.type for event in received.get(order, [])]
        body = json.loads(document["body"])
        if picked[order].status_code == 200:
            # The pickup recorded; the OMS's change refused, and the OMS told.
            assert document["sourceVersion"] == 1, order
            assert body == fulfilled_body(order), order
            assert document["pickedUpAt"] is not None, order
            refusal = next(e for e in received[order] if e.type == events.CANCELLATION_REFUSED)
            assert refusal.attributes["sourceversion"] == "2"
            assert quantities(json.loads(refusal.data))[ITEM_A] == (0, 1)
            outcomes["picked up, the OMS's change refused"] += 1
        else:
            # The OMS's change stored; the pickup refused (409), nothing handed out.
            slug = picked[order].json()["type"].rsplit(":", 1)[1]
            assert slug == ("order-cancelled" if oms_change == "cancellation" else "unknown-item")
            assert document["sourceVersion"] == 2, order
            assert document.get("pickedUpAt") is None, order
            assert events.PICKED_UP not in types, order
            assert events.CANCELLATION_REFUSED not in types, order
            assert recorded_updates(firestore_client, order) == [], order
            outcomes["the OMS's change stored, the pickup refused (409)"] += 1
    print(f"\n{rounds} rounds of a pickup raced with an OMS {oms_change}: {dict(outcomes)}")
    assert sum(outcomes.values()) == rounds


def test_a_pickup_message_of_the_release_before_in_flight_is_completed(
    stack: LocalStack, http: requests.Session, firestore_client: firestore.Client
) -> None:
    """The fixture of that release's pickup message, published to the orders topic as its pos
    function did and pushed to the real processor: the whole order is handed out, and told."""
    order = unique_id("LEGACY")
    assert put(http, stack.config.ingest_url, order, 1, fulfilled_body(order)).status_code == 202
    stored_order(stack, firestore_client, order)
    fixture = json.loads((FORMATS / "pickup-message.json").read_text())
    attributes = {**fixture["attributes"], "businessUnitId": BU, "customerOrderId": order}
    status, body = http_request(
        "POST",
        f"{pubsub_base(stack)}/topics/{stack.config.orders_topic}:publish",
        {
            "messages": [
                {"data": fixture["data"], "attributes": attributes, "orderingKey": f"{BU}/{order}"}
            ]
        },
    )
    assert status == 200, body

    def handed_out() -> dict[str, Any] | None:
        view: dict[str, Any] = http.get(
            stack.config.pos_url + order_location(BU, order), timeout=30
        ).json()
        return view if store_fulfillment(view).get("status") == FULFILLED else None

    view = wait_for(handed_out, timeout=60, interval=0.5)
    assert quantities(view) == {ITEM_A: (0, 2), ITEM_B: (0, 1)}
    picked = wait_for(
        lambda: [e for e in events_of(stack, order) if e.type == events.PICKED_UP] or None,
        timeout=60,
        interval=0.5,
    )
    assert picked[0].attributes["time"] == fixture["attributes"]["pickedUpAt"]


def _port(host: str) -> int:
    return int(host.rsplit(":", 1)[1])


def _connect(http: requests.Session, pos: _Pos, firestore_client: firestore.Client) -> None:
    """One store update of an order of its own through ``pos``: its clients are connected
    (a held answer would stop a connection being made at all)."""
    order = unique_id("WARM")
    assert put(http, _ingest_of(pos), order, 1, fulfilled_body(order)).status_code == 202
    wait_for(lambda: stored_document(firestore_client, BU, order), timeout=30)
    answer = post(http, pos.url, ready_location(BU, order), {"updateId": "warm"})
    assert answer.status_code == 200, answer.text


class _Pos:
    def __init__(self, process: subprocess.Popen[bytes], port: int, ingest_url: str) -> None:
        self.process = process
        self.port = port
        self.ingest_url = ingest_url

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def kill(self) -> None:
        """SIGKILL to the function and its workers, as a crash: no answer, nothing more written."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def _ingest_of(pos: _Pos) -> str:
    return pos.ingest_url


class _Pending:
    def __init__(self) -> None:
        self._done = threading.Event()
        self._answer: requests.Response | None = None

    def answer(self) -> requests.Response | None:
        self._done.wait(timeout=30)
        return self._answer


def _send_in_background(base: str, location: str, payload: dict[str, Any]) -> _Pending:
    pending = _Pending()

    def send() -> None:
        try:
            with requests.Session() as own:
                pending._answer = own.post(base + location, json=payload, timeout=20)
        except requests.RequestException:
            pending._answer = None
        finally:
            pending._done.set()

    threading.Thread(target=send, daemon=True).start()
    return pending


@contextlib.contextmanager
def _pos(stack: LocalStack, **env: str) -> Iterator[_Pos]:
    """One more pos function against the stack, killable, with extra env."""
    port = free_ports(1)[0]
    process = subprocess.Popen(
        function_command("pos", port=port),
        env={**stack.function_env(), **env},
        start_new_session=True,
    )
    pos = _Pos(process, port, stack.config.ingest_url)
    try:
        wait_for(lambda: process.poll() is None and is_listening(port), timeout=30)
        yield pos
    finally:
        if process.poll() is None:
            pos.kill()
