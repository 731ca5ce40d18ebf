"""Pickups with the in-memory adapters: the POS's API, and the processor meeting a pickup.

The race itself (a cancellation and a pickup at the same moment) runs on the emulators:
tests/integration/test_pickups.py.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.memory import (
    InMemoryEventPublisher,
    InMemoryOrderPublisher,
    InMemoryOrderStore,
)
from shared.api.oms import oms_api
from shared.api.pos import pos_api
from shared.api.service import ApiService
from shared.domain import events
from shared.domain.addresses import order_location, pickup_location
from shared.domain.conflict import Decision, Statuses
from shared.domain.http import HttpRequest, HttpResponse
from shared.domain.messages import PickupMessage
from shared.domain.timestamps import format_timestamp
from shared.processor import Processor
from tests.support import order_body, order_message, push_data

T0 = datetime(2026, 12, 6, 9, 0, 0, tzinfo=UTC)
BU, ORDER = "BU1", "CO-1"
STATUSES = Statuses()


class Stack:
    """The POS's API and the processor over one store, as deployed but in memory."""

    def __init__(self, statuses: Statuses = STATUSES) -> None:
        self.store = InMemoryOrderStore()
        self.topic = InMemoryOrderPublisher()
        self.events = InMemoryEventPublisher()
        self.pos = pos_api(self.topic, self.store, statuses=statuses, retry_after_seconds=1)
        self.processor = Processor(self.store, self.events, statuses=statuses)

    def oms_version(self, minutes: float, *, source: int | None = None, **changes: Any) -> Decision:
        message = order_message(BU, ORDER, T0 + timedelta(minutes=minutes), **changes)
        if source is not None:
            message = order_message(BU, ORDER, T0 + timedelta(minutes=minutes), **changes)
            message = type(message)(**{**_fields(message), "source_version": source})
        return self.processor.process(push_data(message), f"m-{minutes}").decision

    def pickup(self, body: bytes | None = None, **headers: str) -> HttpResponse:
        return self.pos.handle(
            HttpRequest(
                "POST",
                pickup_location(BU, ORDER),
                "application/json" if body is not None else None,
                None if body is None else len(body),
                io.BytesIO(body or b""),
                headers,
            )
        )

    def deliver_pickups(self) -> list[Decision]:
        """The processor receives the pickup messages the POS function published."""
        return [
            self.processor.process(push_data(message), f"p-{index}").decision
            for index, message in enumerate(self.topic.pickups)
        ]

    def types(self) -> list[str]:
        return [event.type for event in self.events.published]


def _fields(message: Any) -> dict[str, Any]:
    return {name: getattr(message, name) for name in message.__dataclass_fields__}


def problem_of(response: HttpResponse) -> dict[str, Any]:
    assert response.headers["Content-Type"] == "application/problem+json"
    answer: dict[str, Any] = json.loads(response.body)
    return answer


@pytest.fixture
def stack() -> Stack:
    return Stack()


def test_a_pickup_is_recorded_as_a_version_with_its_status_and_time(stack: Stack) -> None:
    assert stack.oms_version(0) is Decision.WRITE
    response = stack.pickup()
    assert response.status == 200
    stored = stack.store.get(BU, ORDER)
    assert stored is not None
    assert stored.picked_up_at is not None
    assert response.body == stored.body
    order = json.loads(response.body)["customerOrder"]
    assert order["status"] == "PICKED_UP"
    assert order["pickedUpAt"] == format_timestamp(stored.picked_up_at)
    assert response.headers["Picked-Up-At"] == order["pickedUpAt"]
    assert response.headers["Received-At"] == order["pickedUpAt"]
    # Everything else of the order as the OMS sent it.
    sent = order_body(ORDER)["customerOrder"]
    assert {key: order[key] for key in sent if key != "status"} == {
        key: value for key, value in sent.items() if key != "status"
    }
    [message] = stack.topic.pickups
    assert message.picked_up_at == stored.picked_up_at
    assert message.ordering_key == f"{BU}/{ORDER}"
    # GET and search show it.
    got = stack.pos.handle(HttpRequest("GET", order_location(BU, ORDER)))
    assert got.status == 200
    assert got.body == stored.body
    assert got.headers["Picked-Up-At"] == order["pickedUpAt"]


def test_the_processor_announces_the_pickup_once_its_message_arrives(stack: Stack) -> None:
    stack.oms_version(0)
    assert stack.pickup().status == 200
    assert stack.deliver_pickups() == [Decision.SKIP_DUPLICATE]
    assert stack.types() == [events.CREATED, events.PICKED_UP]
    stored = stack.store.get(BU, ORDER)
    assert stored is not None
    picked_up = stack.events.published[-1]
    assert picked_up.data == stored.body
    assert picked_up.picked_up_at == stored.picked_up_at
    assert picked_up.attributes[events.PICKED_UP_AT_ATTRIBUTE] == format_timestamp(
        stored.picked_up_at  # type: ignore[arg-type]
    )


def test_a_repeated_pickup_answers_the_same_and_changes_nothing(stack: Stack) -> None:
    stack.oms_version(0)
    first = stack.pickup()
    stored = stack.store.get(BU, ORDER)
    again = stack.pickup()
    assert (again.status, again.body) == (200, first.body)
    assert again.headers["Picked-Up-At"] == first.headers["Picked-Up-At"]
    assert stack.store.get(BU, ORDER) == stored
    assert len(stack.topic.pickups) == 1


def test_a_pickup_of_a_cancelled_order_is_refused_with_409(stack: Stack) -> None:
    stack.oms_version(0, status="CANCELLED")
    response = stack.pickup()
    assert response.status == 409
    assert problem_of(response)["type"].endswith(":order-cancelled")
    assert stack.topic.published == []
    stored = stack.store.get(BU, ORDER)
    assert stored is not None
    assert stored.picked_up_at is None


def test_a_pickup_of_an_unknown_order_is_404(stack: Stack) -> None:
    response = stack.pickup()
    assert response.status == 404
    assert problem_of(response)["type"].endswith(":not-found")
    assert stack.topic.published == []


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        (b'{"associate": "A-1"}', 422, "invalid-pickup"),
        (b"[]", 422, "invalid-pickup"),
        (b"{not json", 400, "malformed-json"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_recorded(
    stack: Stack, body: bytes, status: int, slug: str
) -> None:
    stack.oms_version(0)
    response = stack.pickup(body)
    assert response.status == status
    assert problem_of(response)["type"].endswith(f":{slug}")
    assert stack.topic.published == []
    stored = stack.store.get(BU, ORDER)
    assert stored is not None
    assert stored.picked_up_at is None


def test_an_empty_json_object_is_a_pickup(stack: Stack) -> None:
    stack.oms_version(0)
    assert stack.pickup(b"{}").status == 200


def test_an_invalid_id_is_400(stack: Stack) -> None:
    response = stack.pos.handle(
        HttpRequest("POST", "/business-units/BU1/customer-orders/__x__:pickup")
    )
    assert response.status == 400
    assert problem_of(response)["type"].endswith(":invalid-id")


def test_the_pos_cannot_put_orders_and_the_oms_has_no_pickup(stack: Stack) -> None:
    put = stack.pos.handle(
        HttpRequest("PUT", order_location(BU, ORDER), "application/json", 2, io.BytesIO(b"{}"))
    )
    assert put.status == 405
    assert put.headers["Allow"] == "GET, HEAD"
    oms: ApiService = oms_api(InMemoryOrderPublisher(), stack.store, retry_after_seconds=1)
    # On the OMS's API the suffix is part of an order id, as it always was.
    answer = oms.handle(HttpRequest("POST", pickup_location(BU, ORDER)))
    assert answer.status == 405


def test_a_failed_publish_is_503_and_nothing_is_stored(stack: Stack) -> None:
    stack.oms_version(0)
    stack.topic.fail_with = TimeoutError("no confirmation")
    response = stack.pickup()
    assert response.status == 503
    assert response.headers["Retry-After"] == "1"
    stored = stack.store.get(BU, ORDER)
    assert stored is not None
    assert stored.picked_up_at is None


def test_a_cancellation_after_the_pickup_is_refused_and_the_oms_told(stack: Stack) -> None:
    stack.oms_version(0, source=3)
    assert stack.pickup().status == 200
    stack.deliver_pickups()
    picked_up = stack.store.get(BU, ORDER)
    # Sent after the pickup, and with a higher Source-Version.
    assert stack.oms_version(10, source=9, status="CANCELLED") is Decision.REFUSE_CANCELLATION
    assert stack.store.get(BU, ORDER) == picked_up
    refusal = stack.events.published[-1]
    assert refusal.type == events.CANCELLATION_REFUSED
    assert picked_up is not None
    assert refusal.data == picked_up.body
    assert refusal.source_version == 9
    assert refusal.time == T0 + timedelta(minutes=10)


def test_a_cancellation_sent_before_the_pickup_and_still_in_flight_is_refused(
    stack: Stack,
) -> None:
    stack.oms_version(0)
    assert stack.pickup().status == 200
    # Received by ingest before the pickup, delivered after it.
    assert stack.oms_version(0.001, status="CANCELLED") is Decision.REFUSE_CANCELLATION
    assert stack.types()[-1] == events.CANCELLATION_REFUSED


def test_a_newer_oms_version_is_applied_and_keeps_the_pickup_time(stack: Stack) -> None:
    stack.oms_version(0, source=1)
    stack.pickup()
    picked_up_at = stack.store.get(BU, ORDER).picked_up_at  # type: ignore[union-attr]
    # The pickup's own message is still behind this version: its event goes out first.
    assert stack.oms_version(10, source=2, status="READY") is Decision.WRITE
    assert stack.types() == [events.CREATED, events.PICKED_UP, events.UPDATED]
    stored = stack.store.get(BU, ORDER)
    assert stored is not None
    assert stored.status == "READY"
    assert stored.picked_up_at == picked_up_at
    assert stack.events.published[-1].picked_up_at == picked_up_at
    # Its message, delivered now, has nothing left to announce.
    assert stack.deliver_pickups() == [Decision.SKIP_DUPLICATE]
    assert stack.types() == [events.CREATED, events.PICKED_UP, events.UPDATED]
    # And a cancellation is still refused: the order was handed out.
    assert stack.oms_version(20, source=3, status="CANCELLED") is Decision.REFUSE_CANCELLATION


def test_a_pickup_whose_function_died_before_its_write_is_stored_by_the_processor(
    stack: Stack,
) -> None:
    stack.oms_version(0)
    picked_up_at = T0 + timedelta(minutes=5)
    message = PickupMessage(BU, ORDER, picked_up_at, "pos-7")
    assert stack.processor.process(push_data(message), "p-1").decision is Decision.WRITE
    stored = stack.store.get(BU, ORDER)
    assert stored is not None
    assert stored.picked_up_at == picked_up_at
    assert stored.status == "PICKED_UP"
    assert stored.correlation_id == "pos-7"
    assert stack.types() == [events.CREATED, events.PICKED_UP]
    # Redelivered: the same event again, nothing else.
    assert stack.processor.process(push_data(message), "p-1").decision is Decision.SKIP_DUPLICATE
    assert stack.types() == [events.CREATED, events.PICKED_UP, events.PICKED_UP]
    assert stack.events.published[1].id == stack.events.published[2].id


def test_a_pickup_message_of_a_cancelled_order_is_acknowledged_without_a_write(
    stack: Stack,
) -> None:
    stack.oms_version(0, status="CANCELLED")
    message = PickupMessage(BU, ORDER, T0 + timedelta(minutes=5))
    assert stack.processor.process(push_data(message), "p-1").decision is Decision.REFUSE_CANCELLED
    assert stack.types() == [events.CREATED]


def test_the_statuses_are_configurable() -> None:
    stack = Stack(Statuses(picked_up="COLLECTED", cancelled=frozenset({"VOID", "CANCELLED"})))
    stack.oms_version(0)
    answer = stack.pickup()
    assert json.loads(answer.body)["customerOrder"]["status"] == "COLLECTED"
    assert stack.oms_version(10, status="VOID") is Decision.REFUSE_CANCELLATION


def test_the_search_shows_the_pickup_time(stack: Stack) -> None:
    stack.oms_version(0)
    stack.pickup()
    customer = order_body(ORDER)["customerOrder"]["customerId"]
    body = json.dumps({"customerId": customer}).encode()
    answer = stack.pos.handle(
        HttpRequest(
            "POST",
            f"/business-units/{BU}/customer-orders:search",
            "application/json",
            len(body),
            io.BytesIO(body),
        )
    )
    [found] = json.loads(answer.body)["customerOrders"]
    stored = stack.store.get(BU, ORDER)
    assert stored is not None
    assert stored.picked_up_at is not None
    assert found == {
        "customerOrderId": ORDER,
        "customerId": customer,
        "status": "PICKED_UP",
        "receivedAt": format_timestamp(stored.received_at),
        "pickedUpAt": format_timestamp(stored.picked_up_at),
    }
