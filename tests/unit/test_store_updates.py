"""The store's updates with the in-memory adapters: the pos API, the processor, the one loop.

What runs on the emulators and the real functions (the partial pickup end to end, the
retries, the fault windows, the race) is tests/integration/test_store_updates.py.
"""

from __future__ import annotations

import base64
import copy
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.adapters.memory import (
    InMemoryEventPublisher,
    InMemoryOrderPublisher,
    InMemoryOrderStore,
)
from shared.api.oms import oms_api
from shared.api.pos import pos_api
from shared.domain import events
from shared.domain.access import Caller
from shared.domain.addresses import order_location, pickup_location, ready_location
from shared.domain.conflict import Decision, Statuses
from shared.domain.fulfillments import IMPLICIT_FULFILLMENT_ID
from shared.domain.http import HttpRequest, HttpResponse
from shared.domain.messages import PickupMessage, Source, StoreUpdateMessage
from shared.domain.store_state import FULFILLED, READY_FOR_PICKUP
from shared.domain.timestamps import format_timestamp
from shared.errors import PublishFailed
from shared.processor import Processor
from tests.support import fulfilled_body as fulfilled_order
from tests.support import order_body, order_message, push_data

T0 = datetime(2026, 12, 6, 9, 0, 0, tzinfo=UTC)
BU, ORDER = "BU1", "CO-1"
ITEM_A, ITEM_B = "7310865004703", "7310865071231"  # ordered 2 and 1 in the sample
STATUSES = Statuses()


def fulfilled_body(**changes: Any) -> dict[str, Any]:
    """The sample with a store fulfillment of both items at BU1 and one at the warehouse."""
    return fulfilled_order(ORDER, BU, **changes)


class Stack:
    """The POS's API and the processor over one store, as deployed but in memory."""

    def __init__(self) -> None:
        self.store = InMemoryOrderStore()
        self.topic = InMemoryOrderPublisher()
        self.events = InMemoryEventPublisher()
        self.pos = pos_api(self.topic, self.store, statuses=STATUSES, retry_after_seconds=1)
        self.processor = Processor(self.store, self.events, statuses=STATUSES)
        self._minutes = 0

    def oms(self, body: dict[str, Any] | None = None, **changes: Any) -> Decision:
        """An OMS version, the next in time, through the processor."""
        self._minutes += 1
        body = body if body is not None else fulfilled_body(**changes)
        message = order_message(BU, ORDER, T0 + timedelta(minutes=self._minutes), body=body)
        return self.processor.process(push_data(message), f"m-{self._minutes}").decision

    def post(self, location: str, payload: Any = None, *, raw: bytes | None = None) -> HttpResponse:
        data = (
            raw if raw is not None else (b"" if payload is None else json.dumps(payload).encode())
        )
        return self.pos.handle(
            HttpRequest(
                "POST",
                location,
                "application/json" if data else None,
                len(data),
                io.BytesIO(data),
            )
        )

    def ready(self, **payload: Any) -> HttpResponse:
        return self.post(ready_location(BU, ORDER), payload)

    def pickup(self, payload: Any = None) -> HttpResponse:
        return self.post(pickup_location(BU, ORDER), payload)

    def deliver_store_updates(self) -> list[Decision]:
        """The processor receiving every store-update message published so far."""
        decisions = []
        for index, message in enumerate(self.topic.store_updates):
            envelope = {
                "message": {
                    "data": base64.b64encode(message.data).decode(),
                    "attributes": message.attributes,
                    "messageId": f"s-{index}",
                }
            }
            decisions.append(
                self.processor.process(envelope, f"s-{index}", Source.STORE_UPDATES).decision
            )
        self.topic.published.clear()
        return decisions

    def view(self) -> dict[str, Any]:
        stored = self.store.get(BU, ORDER)
        assert stored is not None
        result: dict[str, Any] = json.loads(stored.view())
        return result


@pytest.fixture
def stack() -> Stack:
    built = Stack()
    assert built.oms() is Decision.WRITE
    return built


def _fulfillment(view: dict[str, Any], fulfillment_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        f for f in view["customerOrder"]["fulfillments"] if f["fulfillmentId"] == fulfillment_id
    ]
    assert len(found) == 1
    return found[0]


def _quantities(fulfillment: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {
        item["itemId"]: (item["readyQuantity"], item["pickedUpQuantity"])
        for item in fulfillment["items"]
    }


def test_items_readied_then_handed_out_one_by_one_until_the_fulfillment_is_fulfilled(
    stack: Stack,
) -> None:
    answer = stack.ready(updateId="r1", items=[{"itemId": ITEM_A, "quantity": 1}])
    assert answer.status == 200, answer.body
    store = _fulfillment(json.loads(answer.body), "F-STORE")
    assert _quantities(store) == {ITEM_A: (1, 0), ITEM_B: (0, 0)}
    # Not everything ready: the status stays as it was (none, as the OMS sent none).
    assert "status" not in store

    answer = stack.pickup(
        {
            "updateId": "p1",
            "items": [{"itemId": ITEM_A, "quantity": 1}],
            "tenders": [{"tenderId": "T1", "amount": 100.50, "method": "CARD"}],
        }
    )
    assert answer.status == 200, answer.body
    view = json.loads(answer.body)
    assert _quantities(_fulfillment(view, "F-STORE")) == {ITEM_A: (0, 1), ITEM_B: (0, 0)}
    assert view["customerOrder"]["tenders"] == [
        {"tenderId": "T1", "amount": 100.5, "method": "CARD"}
    ]
    # The OMS's own members are never changed by a store.
    assert view["customerOrder"]["status"] == "CREATED"

    answer = stack.ready(updateId="r2")
    assert _fulfillment(json.loads(answer.body), "F-STORE")["status"] == READY_FOR_PICKUP
    answer = stack.pickup({"updateId": "p2"})
    store = _fulfillment(json.loads(answer.body), "F-STORE")
    assert store["status"] == FULFILLED
    assert _quantities(store) == {ITEM_A: (0, 2), ITEM_B: (0, 1)}
    # The warehouse's fulfillment is not the store's: nothing of it shown changed.
    assert _quantities(_fulfillment(json.loads(answer.body), "F-HOME")) == {"SOFA": (0, 0)}


def test_the_oms_members_are_shown_as_sent_numbers_and_all(stack: Stack) -> None:
    raw = json.dumps(fulfilled_body()).replace("499.75", "499.750").encode()
    message = order_message(BU, ORDER, T0 + timedelta(hours=1), body=json.loads(raw))
    message = type(message)(**{**_fields(message), "body": raw, "body_sha256": _sha(raw)})
    assert stack.processor.process(push_data(message), "spelled").decision is Decision.WRITE
    stack.pickup({"updateId": "p1", "items": [{"itemId": ITEM_B, "quantity": 1}]})
    stored = stack.store.get(BU, ORDER)
    assert stored is not None
    assert stored.body == raw
    assert b'"unitPrice":499.750' in stored.view()
    assert b'"unitPrice":1000.1' in stored.view()


def test_the_same_update_id_answers_the_same_and_is_recorded_once(stack: Stack) -> None:
    payload = {"updateId": "p1", "items": [{"itemId": ITEM_A, "quantity": 1}]}
    first, second = stack.pickup(payload), stack.pickup(payload)
    assert first.status == second.status == 200
    assert first.body == second.body
    assert len(stack.topic.store_updates) == 1
    assert _quantities(_fulfillment(stack.view(), "F-STORE"))[ITEM_A] == (0, 1)


def test_another_update_for_what_was_handed_out_is_409_naming_it_and_when(stack: Stack) -> None:
    stack.pickup({"updateId": "p1", "items": [{"itemId": ITEM_A, "quantity": 2}]})
    answer = stack.pickup({"updateId": "p2", "items": [{"itemId": ITEM_A, "quantity": 1}]})
    problem = json.loads(answer.body)
    assert answer.status == 409
    assert problem["type"].endswith(":already-picked-up")
    [error] = problem["errors"]
    assert error["pointer"] == "/items/0"
    assert ITEM_A in error["detail"]
    assert "2 picked up, last at" in error["detail"]
    # Without items: everything left of the fulfillment, which is ITEM_B alone.
    assert stack.pickup({"updateId": "p3"}).status == 200
    assert stack.pickup({"updateId": "p4"}).status == 409


def test_an_update_id_reused_for_another_update_is_409(stack: Stack) -> None:
    stack.pickup({"updateId": "p1", "items": [{"itemId": ITEM_A, "quantity": 1}]})
    answer = stack.pickup({"updateId": "p1", "items": [{"itemId": ITEM_B, "quantity": 1}]})
    assert answer.status == 409
    assert json.loads(answer.body)["type"].endswith(":update-id-reused")


@pytest.mark.parametrize(
    ("payload", "status", "slug"),
    [
        ({"updateId": "x", "items": [{"itemId": ITEM_A, "quantity": 3}]}, 422, "more-than-remains"),
        ({"updateId": "x", "items": [{"itemId": "SOFA", "quantity": 1}]}, 409, "unknown-item"),
        ({"updateId": "x", "fulfillmentId": "F-HOME"}, 409, "warehouse-fulfillment"),
        ({"updateId": "x", "fulfillmentId": "F-GONE"}, 409, "fulfillment-not-found"),
        (
            {"updateId": "x", "items": [{"itemId": ITEM_A, "quantity": 0}]},
            422,
            "invalid-store-update",
        ),
        (
            {"updateId": "x", "items": [{"itemId": ITEM_A, "quantity": "1"}]},
            422,
            "invalid-store-update",
        ),
        ({"updateId": "a/b"}, 422, "invalid-store-update"),
        ({"items": [{"itemId": ITEM_A, "quantity": 1}]}, 422, "invalid-store-update"),
        (
            {"updateId": "x", "tenders": [{"tenderId": "T", "amount": -1, "method": "C"}]},
            422,
            "invalid-store-update",
        ),
        ({"updateId": "x", "unknown": 1}, 422, "invalid-store-update"),
    ],
)
def test_what_cannot_be_done_is_refused_and_nothing_recorded(
    stack: Stack, payload: dict[str, Any], status: int, slug: str
) -> None:
    before = stack.store.get(BU, ORDER)
    answer = stack.pickup(payload)
    assert answer.status == status, answer.body
    assert json.loads(answer.body)["type"].endswith(f":{slug}")
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert stack.store.get(BU, ORDER) == before
    assert stack.topic.published == []


def test_a_tender_recorded_already_is_409(stack: Stack) -> None:
    tender = {"tenderId": "T1", "amount": 10, "method": "CASH"}
    stack.pickup(
        {"updateId": "p1", "items": [{"itemId": ITEM_A, "quantity": 1}], "tenders": [tender]}
    )
    answer = stack.pickup(
        {"updateId": "p2", "items": [{"itemId": ITEM_A, "quantity": 1}], "tenders": [tender]}
    )
    assert answer.status == 409
    assert json.loads(answer.body)["type"].endswith(":tender-recorded")


def test_several_store_fulfillments_need_a_name(stack: Stack) -> None:
    body = fulfilled_body()
    body["customerOrder"]["fulfillments"][0]["items"] = [{"itemId": ITEM_A, "quantity": 2}]
    body["customerOrder"]["fulfillments"].append(
        {
            "fulfillmentId": "F-OTHER",
            "deliveryType": "PICKUP_STORE",
            "businessUnitId": BU,
            "items": [{"itemId": ITEM_B, "quantity": 1}],
        }
    )
    assert stack.oms(body) is Decision.WRITE
    answer = stack.pickup({"updateId": "p1"})
    assert answer.status == 422
    assert json.loads(answer.body)["type"].endswith(":fulfillment-required")
    assert stack.pickup({"updateId": "p1", "fulfillmentId": "F-OTHER"}).status == 200


def test_a_cancelled_order_is_neither_readied_nor_handed_out(stack: Stack) -> None:
    assert stack.oms(status="CANCELLED") is Decision.WRITE
    for answer in (stack.ready(updateId="r1"), stack.pickup({"updateId": "p1"}), stack.pickup()):
        assert answer.status == 409
        assert json.loads(answer.body)["type"].endswith(":order-cancelled")


def test_readied_items_do_not_stop_a_cancellation(stack: Stack) -> None:
    stack.ready(updateId="r1")
    assert stack.oms(status="CANCELLED") is Decision.WRITE
    view = stack.view()
    assert view["customerOrder"]["status"] == "CANCELLED"
    # The store's record is kept, and the store hears of the cancellation by its event.
    assert _fulfillment(view, "F-STORE")["status"] == READY_FOR_PICKUP
    assert stack.events.published[-1].type == events.UPDATED


@pytest.mark.parametrize(
    "change",
    [
        "cancels the order",
        "removes the item handed out",
        "orders less of it",
        "drops the fulfillment",
    ],
)
def test_an_oms_version_that_would_cancel_what_was_handed_out_is_refused_and_told(
    stack: Stack, change: str
) -> None:
    stack.pickup({"updateId": "p1", "items": [{"itemId": ITEM_A, "quantity": 2}]})
    stack.deliver_store_updates()
    body = fulfilled_body()
    order = body["customerOrder"]
    if change == "cancels the order":
        order["status"] = "CANCELLED"
    elif change == "removes the item handed out":
        order["items"] = [item for item in order["items"] if item["itemId"] != ITEM_A]
        order["fulfillments"][0]["items"] = [{"itemId": ITEM_B, "quantity": 1}]
    elif change == "orders less of it":
        order["fulfillments"][0]["items"][0]["quantity"] = 1
    else:
        del order["fulfillments"]
    before = stack.store.get(BU, ORDER)
    assert stack.oms(body) is Decision.REFUSE_CANCELLATION
    assert stack.store.get(BU, ORDER) == before
    refusal = stack.events.published[-1]
    assert refusal.type == events.CANCELLATION_REFUSED
    # The OMS is told what was handed out: the order as stored.
    assert _quantities(_fulfillment(json.loads(refusal.data), "F-STORE"))[ITEM_A] == (0, 2)


def test_an_oms_version_keeps_the_stores_record_whatever_it_echoes(stack: Stack) -> None:
    stack.pickup(
        {
            "updateId": "p1",
            "items": [{"itemId": ITEM_A, "quantity": 1}],
            "tenders": [{"tenderId": "T1", "amount": 5, "method": "CASH"}],
        }
    )
    # The OMS echoes store-owned members of an event, wrongly: they are kept as it sent
    # them in its body, and shown only where the store has no record of its own.
    body = fulfilled_body(tenders=[{"tenderId": "OMS", "amount": 1, "method": "X"}])
    body["customerOrder"]["fulfillments"][0]["items"][0]["pickedUpQuantity"] = 0
    body["customerOrder"]["fulfillments"][0]["status"] = "PICKING"
    assert stack.oms(body) is Decision.WRITE
    view = stack.view()
    store = _fulfillment(view, "F-STORE")
    assert _quantities(store)[ITEM_A] == (0, 1)
    assert store["status"] == "PICKING"
    assert view["customerOrder"]["tenders"] == [{"tenderId": "T1", "amount": 5, "method": "CASH"}]
    stored = stack.store.get(BU, ORDER)
    assert stored is not None
    assert json.loads(stored.body) == body


def test_an_order_without_fulfillments_is_one_store_fulfillment_of_every_item() -> None:
    stack = Stack()
    assert stack.oms(order_body(ORDER)) is Decision.WRITE
    untouched = stack.store.get(BU, ORDER)
    assert untouched is not None
    # Until a store records something, GET answers the body as sent.
    assert untouched.view() == untouched.body
    answer = stack.pickup({"updateId": "p1", "items": [{"itemId": ITEM_A, "quantity": 1}]})
    assert answer.status == 200
    [implicit] = json.loads(answer.body)["customerOrder"]["fulfillments"]
    assert implicit["fulfillmentId"] == IMPLICIT_FULFILLMENT_ID
    assert implicit["businessUnitId"] == BU
    assert _quantities(implicit) == {ITEM_A: (0, 1), ITEM_B: (0, 0)}


def test_an_empty_pickup_keeps_its_meaning_everything_and_a_repeat_answers_200() -> None:
    stack = Stack()
    stack.oms(order_body(ORDER))
    first = stack.pickup()
    assert first.status == 200
    assert _fulfillment(json.loads(first.body), IMPLICIT_FULFILLMENT_ID)["status"] == FULFILLED
    repeat = stack.pickup({})
    assert repeat.status == 200
    assert repeat.body == first.body
    # Only an updateId protects against a second hand-out.
    assert stack.pickup({"updateId": "p9"}).status == 409


def test_the_processor_announces_each_store_update_once_its_message_arrives(stack: Stack) -> None:
    stack.ready(updateId="r1", items=[{"itemId": ITEM_A, "quantity": 1}])
    stack.pickup({"updateId": "p1", "items": [{"itemId": ITEM_B, "quantity": 1}]})
    assert [m.update.update_id for m in stack.topic.store_updates] == ["r1", "p1"]
    stack.events.published.clear()
    assert stack.deliver_store_updates() == [Decision.SKIP_DUPLICATE, Decision.SKIP_DUPLICATE]
    ready, picked = stack.events.published
    assert (ready.type, ready.update_id) == (events.READY_FOR_PICKUP, "r1")
    assert (picked.type, picked.update_id) == (events.PICKED_UP, "p1")
    assert ready.id != picked.id
    assert ready.attributes[events.UPDATE_ID_ATTRIBUTE] == "r1"


def test_an_update_whose_function_died_before_its_write_is_completed_on_the_same_state(
    stack: Stack,
) -> None:
    # The publish landed, then the function died: the store never got the write.
    stack.store.write = _dies  # type: ignore[method-assign]
    # In process, the service answers what killed the write as a bug; deployed, no answer.
    assert (
        stack.pickup({"updateId": "p1", "items": [{"itemId": ITEM_A, "quantity": 1}]}).status == 500
    )
    del stack.store.write
    _assert_nothing_recorded(stack)
    assert stack.deliver_store_updates() == [Decision.WRITE]
    assert _quantities(_fulfillment(stack.view(), "F-STORE"))[ITEM_A] == (0, 1)
    assert stack.events.published[-1].type == events.PICKED_UP
    # The POS retries, and is told what was recorded.
    retry = stack.pickup({"updateId": "p1", "items": [{"itemId": ITEM_A, "quantity": 1}]})
    assert retry.status == 200
    assert _quantities(_fulfillment(json.loads(retry.body), "F-STORE"))[ITEM_A] == (0, 1)


def test_an_update_completed_after_the_order_changed_records_nothing(stack: Stack) -> None:
    stack.store.write = _dies  # type: ignore[method-assign]
    # In process, the service answers what killed the write as a bug; deployed, no answer.
    assert (
        stack.pickup({"updateId": "p1", "items": [{"itemId": ITEM_A, "quantity": 1}]}).status == 500
    )
    del stack.store.write
    # Cancelled, then reopened, before the message arrived.
    stack.oms(status="CANCELLED")
    stack.oms()
    stack.events.published.clear()
    assert stack.deliver_store_updates() == [Decision.SKIP_SUPERSEDED]
    assert stack.events.published == []
    _assert_nothing_recorded(stack)
    # The POS's retry is decided anew, on the order as it is now.
    assert (
        stack.pickup({"updateId": "p1", "items": [{"itemId": ITEM_A, "quantity": 1}]}).status == 200
    )


def test_a_failed_publish_is_503_and_nothing_is_recorded(stack: Stack) -> None:
    stack.topic.fail_with = PublishFailed("deadline exceeded")
    answer = stack.pickup({"updateId": "p1"})
    assert answer.status == 503
    assert answer.headers["Retry-After"] == "1"
    _assert_nothing_recorded(stack)


def test_an_oms_version_replacing_a_store_update_announces_the_update_first(stack: Stack) -> None:
    stack.pickup({"updateId": "p1", "items": [{"itemId": ITEM_A, "quantity": 1}]})
    stack.events.published.clear()
    # The update's message is still behind: the OMS version arrives first.
    assert stack.oms(note="new") is Decision.WRITE
    picked, updated = stack.events.published
    assert (picked.type, picked.update_id) == (events.PICKED_UP, "p1")
    assert b'"note"' not in picked.data
    assert updated.type == events.UPDATED


def test_a_store_update_never_hides_an_oms_versions_event_lost_in_a_crash(stack: Stack) -> None:
    # The processor stored a version and died before its event; a store update came next.
    message = order_message(BU, ORDER, T0 + timedelta(hours=2), body=fulfilled_body(note="v2"))
    stack.events.fail_with = PublishFailed("down")
    with pytest.raises(PublishFailed):
        stack.processor.process(push_data(message), "v2")
    stack.events.fail_with = None
    stack.pickup({"updateId": "p1", "items": [{"itemId": ITEM_A, "quantity": 1}]})
    stack.events.published.clear()
    # The redelivery finds its own version stored: its event, with the order as stored now.
    assert stack.processor.process(push_data(message), "v2").decision is Decision.SKIP_DUPLICATE
    [event] = stack.events.published
    assert event.type == events.UPDATED
    assert event.time == message.received_at
    assert _quantities(_fulfillment(json.loads(event.data), "F-STORE"))[ITEM_A] == (0, 1)


def test_a_store_update_message_shaped_as_an_oms_version_is_refused(stack: Stack) -> None:
    forged = order_message(BU, ORDER, T0 + timedelta(days=1), body=fulfilled_body(status="X"))
    with pytest.raises(Exception, match="store-updates topic carries only"):
        stack.processor.process(push_data(forged), "forged", Source.STORE_UPDATES)
    assert stack.view()["customerOrder"]["status"] == "CREATED"


def test_a_store_update_on_the_orders_topic_is_refused(stack: Stack) -> None:
    stack.pickup({"updateId": "p1"})
    [message] = stack.topic.store_updates
    with pytest.raises(Exception, match="orders topic carries"):
        stack.processor.process(push_data(message), "misrouted", Source.ORDERS)


def test_a_pickup_message_of_the_release_before_is_completed_whole(stack: Stack) -> None:
    old = stack.store.get(BU, ORDER)
    message = PickupMessage(BU, ORDER, T0 + timedelta(days=1), "pos-old")
    envelope = {
        "message": {
            "data": "",
            "attributes": {
                "kind": "pickup",
                "businessUnitId": BU,
                "customerOrderId": ORDER,
                "pickedUpAt": format_timestamp(message.picked_up_at),
                "correlationId": "pos-old",
            },
            "messageId": "old",
        }
    }
    assert stack.processor.process(envelope, "old") is not None
    view = stack.view()
    assert _fulfillment(view, "F-STORE")["status"] == FULFILLED
    assert old is not None
    # A second delivery finds it handed out: the same answer, nothing more recorded.
    assert stack.processor.process(envelope, "old").decision is Decision.SKIP_DUPLICATE


class _Fixed:
    """An authenticator that says every request comes from one caller."""

    def __init__(self, caller: Caller) -> None:
        self._caller = caller

    def authenticate(self, request: HttpRequest) -> Caller:
        return self._caller


def test_a_caller_updates_only_its_stores_fulfillments() -> None:
    stack = Stack()
    body = fulfilled_body()
    body["customerOrder"]["fulfillments"][0]["businessUnitId"] = "BU2"
    stack.oms(body)
    stack.pos = pos_api(
        stack.topic,
        stack.store,
        statuses=STATUSES,
        retry_after_seconds=1,
        authenticator=_Fixed(Caller("bu1@pos", frozenset({BU}))),
    )
    answer = stack.pickup({"updateId": "p1"})
    assert answer.status == 403
    assert stack.topic.published == []
    _assert_nothing_recorded(stack)


def test_the_oms_api_has_no_store_updates() -> None:
    api = oms_api(InMemoryOrderPublisher(), InMemoryOrderStore(), retry_after_seconds=1)
    for location in (pickup_location(BU, ORDER), ready_location(BU, ORDER)):
        answer = api.handle(HttpRequest("POST", location, "application/json", 2, io.BytesIO(b"{}")))
        assert answer.status in (404, 405)
    assert order_location(BU, ORDER)


def test_a_quantity_of_a_fraction_is_exact() -> None:
    stack = Stack()
    body = order_body(ORDER)
    body["customerOrder"]["items"] = [{"itemId": "CHEESE", "quantityOrdered": 0.3, "unitPrice": 9}]
    stack.oms(body)
    for update in ("a", "b", "c"):
        answer = stack.pickup(
            {"updateId": update, "items": [{"itemId": "CHEESE", "quantity": 0.1}]}
        )
        assert answer.status == 200, answer.body
    implicit = _fulfillment(stack.view(), IMPLICIT_FULFILLMENT_ID)
    assert implicit["status"] == FULFILLED
    stored = stack.store.get(BU, ORDER)
    assert stored is not None
    assert stored.store_state.picked_up("CHEESE") == Decimal("0.3")


def _assert_nothing_recorded(stack: Stack) -> None:
    stored = stack.store.get(BU, ORDER)
    assert stored is not None
    assert stored.store_state.is_empty
    # The body as the OMS sent it, no store member in it.
    assert stored.view() == stored.body


def _dies(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("the function died")


def _fields(message: Any) -> dict[str, Any]:
    return {name: getattr(message, name) for name in message.__dataclass_fields__}


def _sha(raw: bytes) -> str:
    import hashlib

    return hashlib.sha256(raw).hexdigest()


def test_store_update_messages_decode_as_published(stack: Stack) -> None:
    stack.pickup(
        {
            "updateId": "p1",
            "fulfillmentId": "F-STORE",
            "items": [{"itemId": ITEM_A, "quantity": 1.5e0}],
            "tenders": [{"tenderId": "T", "amount": 12.30, "method": "CARD"}],
        }
    )
    [message] = stack.topic.store_updates
    assert isinstance(message, StoreUpdateMessage)
    from shared.domain.messages import decode_message

    decoded = decode_message(message.data, message.attributes, "id", Source.STORE_UPDATES)
    assert decoded == message
    assert copy.copy(decoded.update.tenders[0].amount) == "12.3"
