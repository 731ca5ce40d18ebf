"""Pickup beats cancellation, on the real emulators and the real functions.

The race: an OMS cancellation and a POS pickup of the same order sent at the same
moment, over hundreds of orders. Every order must end one way or the other, never both
and never neither: cancelled with the pickup refused (409), or picked up with the
cancellation refused and the OMS told by a cancellation-refused event.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest
import requests

from shared.domain import events
from shared.domain.addresses import order_location, pickup_location
from shared.domain.timestamps import parse_timestamp
from shared.tools.devstack import LocalStack, free_ports, http_request
from tests.support import (
    ReceivedEvent,
    create_push_subscription,
    create_topic,
    order_body,
    pubsub_base,
    received_events,
    running_function,
    stored_document,
    unique_id,
    wait_for,
)

if TYPE_CHECKING:
    from google.cloud import firestore

pytestmark = pytest.mark.integration

BUSINESS_UNIT = "BU-PICKUP"
ROUNDS = 200
THREADS = 16


def put(
    http: requests.Session, base: str, order_id: str, version: int, status: str
) -> requests.Response:
    return http.put(
        base + order_location(BUSINESS_UNIT, order_id),
        json=order_body(order_id, status=status),
        headers={"Source-Version": str(version)},
        timeout=30,
    )


def pickup(http: requests.Session, base: str, order_id: str) -> requests.Response:
    return http.post(base + pickup_location(BUSINESS_UNIT, order_id), timeout=30)


def events_of(stack: LocalStack) -> dict[str, list[ReceivedEvent]]:
    by_order: dict[str, list[ReceivedEvent]] = {}
    for event in received_events(stack.config.receiver_url, "local"):
        business_unit_id, order_id = event.order
        if business_unit_id == BUSINESS_UNIT:
            by_order.setdefault(order_id, []).append(event)
    return by_order


def test_a_cancellation_and_a_pickup_raced_end_one_way_or_the_other(
    stack: LocalStack, firestore_client: firestore.Client
) -> None:
    orders = [unique_id("RACE") for _ in range(ROUNDS)]
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "http"):
            local.http = requests.Session()
        http: requests.Session = local.http
        return http

    with ThreadPoolExecutor(THREADS) as pool:
        created = list(
            pool.map(
                lambda order: put(session(), stack.config.ingest_url, order, 1, "CREATED"), orders
            )
        )
        assert {answer.status_code for answer in created} == {202}
        wait_for(
            lambda: all(stored_document(firestore_client, BUSINESS_UNIT, o) for o in orders),
            timeout=60,
        )
        rng = random.Random(20)
        delays = {order: rng.uniform(0, 0.04) for order in orders}

        def cancel(order: str) -> int:
            return put(session(), stack.config.ingest_url, order, 2, "CANCELLED").status_code

        def pick(order: str) -> int:
            # Sometimes the cancellation is stored first, sometimes not.
            time.sleep(delays[order])
            return pickup(session(), stack.config.pos_url, order).status_code

        cancels = {order: pool.submit(cancel, order) for order in orders}
        picks = {order: pool.submit(pick, order) for order in orders}
        cancelled = {order: future.result() for order, future in cancels.items()}
        picked = {order: future.result() for order, future in picks.items()}
    assert set(cancelled.values()) == {202}
    assert set(picked.values()) <= {200, 409}, Counter(picked.values())
    won = [order for order in orders if picked[order] == 200]

    def settled() -> dict[str, list[ReceivedEvent]] | None:
        received = events_of(stack)
        for order in won:
            types = {event.type for event in received.get(order, [])}
            if not {events.CANCELLATION_REFUSED, events.PICKED_UP} <= types:
                return None
        return received

    received = wait_for(settled, timeout=120, interval=0.5)
    outcomes: Counter[str] = Counter()
    for order in orders:
        document = stored_document(firestore_client, BUSINESS_UNIT, order)
        assert document is not None
        types = [event.type for event in received.get(order, [])]
        if picked[order] == 200:
            # Picked up; the cancellation refused, and the OMS told.
            assert document["status"] == "PICKED_UP", order
            assert document["pickedUpAt"] is not None, order
            refusal = next(e for e in received[order] if e.type == events.CANCELLATION_REFUSED)
            assert refusal.attributes["sourceversion"] == "2"
            assert refusal.data == document["body"]
            outcomes["picked up, cancellation refused"] += 1
        else:
            # Cancelled; the pickup refused, nothing picked up anywhere.
            assert document["status"] == "CANCELLED", order
            assert document.get("pickedUpAt") is None, order
            assert events.PICKED_UP not in types, order
            assert events.CANCELLATION_REFUSED not in types, order
            outcomes["cancelled, pickup refused (409)"] += 1
    print(f"\n{ROUNDS} rounds of a cancellation raced with a pickup: {dict(outcomes)}")
    assert sum(outcomes.values()) == ROUNDS


def test_a_pickup_wins_over_a_cancellation_still_in_the_topic(
    stack: LocalStack, firestore_client: firestore.Client
) -> None:
    """A pipeline of the test's own, whose processor is held off while the cancellation
    waits in the topic: the pickup is recorded, and the cancellation refused when it arrives."""
    topic = unique_id("pickup-paused")
    subscription = f"{topic}-processor"
    create_topic(stack, topic)
    order = unique_id("PAUSED")
    nowhere = f"http://127.0.0.1:{free_ports(1)[0]}/"

    def push_to(endpoint: str) -> None:
        status, body = http_request(
            "POST",
            f"{pubsub_base(stack)}/subscriptions/{subscription}:modifyPushConfig",
            {"pushConfig": {"pushEndpoint": endpoint}},
        )
        assert status == 200, body

    with (
        requests.Session() as http,
        running_function("processor", stack) as processor,
        running_function("ingest", stack, ORDERS_TOPIC=topic) as ingest,
        running_function("pos", stack, ORDERS_TOPIC=topic) as pos,
    ):
        create_push_subscription(stack, topic, subscription, f"{processor}/")
        try:
            assert put(http, ingest, order, 1, "CREATED").status_code == 202
            wait_for(lambda: stored_document(firestore_client, BUSINESS_UNIT, order), timeout=30)
            # The processor paused: the cancellation is accepted and stays in the topic.
            push_to(nowhere)
            assert put(http, ingest, order, 2, "CANCELLED").status_code == 202
            answer = pickup(http, pos, order)
            assert answer.status_code == 200, answer.text
            assert answer.json()["customerOrder"]["status"] == "PICKED_UP"
            push_to(f"{processor}/")

            def told() -> list[Any] | None:
                types = [event.type for event in events_of(stack).get(order, [])]
                wanted = {events.CANCELLATION_REFUSED, events.PICKED_UP}
                return types if wanted <= set(types) else None

            types = wait_for(told, timeout=60, interval=0.5)
        finally:
            http_request("DELETE", f"{pubsub_base(stack)}/subscriptions/{subscription}")
    document = stored_document(firestore_client, BUSINESS_UNIT, order)
    assert document is not None
    assert document["status"] == "PICKED_UP"
    assert document["sourceVersion"] == 1
    assert document["pickedUpAt"] == parse_timestamp(answer.headers["Picked-Up-At"])
    assert types[0] == events.CREATED
    assert events.UPDATED not in types
    print(f"\npickup while the cancellation waited in the topic: events {types}")
