"""The JSON nesting limit on the real stack: at it, an order goes every way byte for byte.

A PUT body nested exactly :data:`MAX_JSON_NESTING` deep is accepted, stored by the
processor, answered by GET on ingest and pos, and carried by its event, each byte for
byte, and a store update of it is shown and announced with it whole; one level deeper
is 400 naming the limit, and nothing is published. Each later
step reads the order the door accepted (issue 29: a body accepted at one depth could
fail at another). The same in memory, with most of the stack used, and for the
dead-letter and export tools: tests/unit/test_nesting_limit.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import requests

from shared.domain.addresses import order_location
from shared.domain.jsonbody import nesting_depth, parse_json
from shared.domain.limits import MAX_JSON_NESTING
from shared.tools.devstack import LocalStack
from tests.support import (
    ReceivedEvent,
    create_pull_subscription,
    create_topic,
    order_body,
    pull_all,
    received_events,
    running_function,
    stored_document,
    unique_id,
    wait_for,
)

if TYPE_CHECKING:
    from google.cloud import firestore

pytestmark = pytest.mark.integration

JSON = {"Content-Type": "application/json"}
# The stack's webhook, which every event reaches (shared/tools/devstack.py).
WEBHOOK = "local"


def nested_body(customer_order_id: str, depth: int) -> bytes:
    """The sample order nested ``depth`` deep by a member of its own, which the schema keeps."""
    deep: Any = "innermost"
    # The body's object and customerOrder are two levels; the member's arrays the rest.
    for _ in range(depth - 2):
        deep = [deep]
    raw = json.dumps(order_body(customer_order_id, deep=deep)).encode()
    assert nesting_depth(json.loads(raw)) == depth
    return raw


@dataclass(frozen=True)
class Accepted:
    business_unit_id: str
    customer_order_id: str
    body: bytes
    document: dict[str, Any]

    @property
    def path(self) -> str:
        return order_location(self.business_unit_id, self.customer_order_id)


@pytest.fixture(scope="module")
def at_the_limit(stack: LocalStack, firestore_client: firestore.Client) -> Accepted:
    """An order nested exactly at the limit, PUT to the stack's ingest and stored."""
    business_unit_id, customer_order_id = unique_id("BU"), unique_id()
    body = nested_body(customer_order_id, MAX_JSON_NESTING)
    answer = requests.put(
        stack.config.ingest_url + order_location(business_unit_id, customer_order_id),
        data=body,
        headers=JSON,
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    document = wait_for(
        lambda: stored_document(firestore_client, business_unit_id, customer_order_id),
        timeout=30,
    )
    return Accepted(business_unit_id, customer_order_id, body, document)


def test_the_processor_stores_a_body_at_the_limit_byte_for_byte(at_the_limit: Accepted) -> None:
    stored = at_the_limit.document["body"]
    assert (stored if isinstance(stored, bytes) else stored.encode("utf-8")) == at_the_limit.body
    assert nesting_depth(parse_json(at_the_limit.body)) == MAX_JSON_NESTING


@pytest.mark.parametrize("function", ["ingest", "pos"])
def test_get_answers_a_body_at_the_limit_byte_for_byte(
    stack: LocalStack, at_the_limit: Accepted, function: str
) -> None:
    url = {"ingest": stack.config.ingest_url, "pos": stack.config.pos_url}[function]
    answer = requests.get(url + at_the_limit.path, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.content == at_the_limit.body


def test_the_event_of_a_body_at_the_limit_carries_it_byte_for_byte(
    stack: LocalStack, at_the_limit: Accepted
) -> None:
    def its_events() -> list[ReceivedEvent] | None:
        found = [
            event
            for event in received_events(stack.config.receiver_url, WEBHOOK)
            if event.order == (at_the_limit.business_unit_id, at_the_limit.customer_order_id)
        ]
        return found or None

    [event] = wait_for(its_events, timeout=30)
    assert event.type == "customer-order.created"
    assert event.data == at_the_limit.body


@pytest.fixture(scope="module")
def tapped_ingest(stack: LocalStack) -> Iterator[tuple[str, str]]:
    """An ingest instance publishing to a topic of its own, and its pull subscription."""
    topic = unique_id("nesting")
    create_topic(stack, topic)
    create_pull_subscription(stack, topic, f"{topic}-tap")
    with running_function("ingest", stack, ORDERS_TOPIC=topic) as url:
        yield url, f"{topic}-tap"


def test_one_level_past_the_limit_is_400_naming_it_and_nothing_is_published(
    stack: LocalStack, tapped_ingest: tuple[str, str]
) -> None:
    url, tap = tapped_ingest
    customer_order_id = unique_id()
    path = order_location("BU1", customer_order_id)
    at_limit = requests.put(
        url + path, data=nested_body(customer_order_id, MAX_JSON_NESTING), headers=JSON, timeout=30
    )
    assert at_limit.status_code == 202, at_limit.text
    assert [m["messageId"] for m in pull_all(stack, tap)] == [at_limit.json()["messageId"]]

    deeper = requests.put(
        url + path,
        data=nested_body(customer_order_id, MAX_JSON_NESTING + 1),
        headers=JSON,
        timeout=30,
    )
    assert deeper.status_code == 400, deeper.text
    assert deeper.headers["Content-Type"] == "application/problem+json"
    problem = deeper.json()
    assert problem["type"].endswith(":malformed-json")
    assert f"deeper than the {MAX_JSON_NESTING} levels" in problem["detail"]
    assert pull_all(stack, tap) == []


def test_a_store_update_of_a_body_at_the_limit_is_shown_and_announced_with_it(
    stack: LocalStack, at_the_limit: Accepted
) -> None:
    # The store's record is merged into the order as shown (shared/domain/order_view.py):
    # the OMS's members, the deep one included, are parsed and written again.
    ready = requests.post(
        stack.config.pos_url + at_the_limit.path + ":ready",
        json={"updateId": unique_id("ready")},
        timeout=30,
    )
    assert ready.status_code == 200, ready.text
    deep = json.loads(at_the_limit.body)["customerOrder"]["deep"]
    assert ready.json()["customerOrder"]["deep"] == deep
    got = requests.get(stack.config.pos_url + at_the_limit.path, timeout=30)
    assert got.status_code == 200, got.text
    assert got.content == ready.content
    assert nesting_depth(parse_json(got.content)) == MAX_JSON_NESTING

    def ready_event() -> ReceivedEvent | None:
        return next(
            (
                event
                for event in received_events(stack.config.receiver_url, WEBHOOK)
                if event.order == (at_the_limit.business_unit_id, at_the_limit.customer_order_id)
                and event.type == "customer-order.ready-for-pickup"
            ),
            None,
        )

    assert wait_for(ready_event, timeout=30).data == got.content
