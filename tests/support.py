"""Helpers shared by the tests: sample orders, polling, and reading the emulators."""

from __future__ import annotations

import base64
import contextlib
import copy
import dataclasses
import json
import logging
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from shared import log
from shared.domain.addresses import document_path, ordering_key
from shared.domain.conflict import Statuses
from shared.domain.events import OrderEvent
from shared.domain.http import HttpResponse
from shared.domain.jsonbody import dump_json
from shared.domain.messages import OrderMessage, PublishedMessage
from shared.domain.problems import PROBLEM_CONTENT_TYPE
from shared.domain.store_updates import StoreUpdate, UpdateKind
from shared.domain.timestamps import parse_timestamp
from shared.optimistic import OptimisticWriter
from shared.order_changes import Applied, OmsVersion, OrderChanges, StoreUpdateChange
from shared.ports import OrderStore
from shared.tools.devstack import (
    LocalStack,
    free_ports,
    http_request,
    is_listening,
    stop_process_group,
)
from shared.tools.functions import LOOPBACK, function_command

if TYPE_CHECKING:
    from google.cloud import firestore

T = TypeVar("T")

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE_BODY: dict[str, Any] = json.loads((FIXTURES / "customer-order.json").read_text())
# One fixture per format an earlier release wrote, which this one must read.
FORMATS = FIXTURES / "formats"


def unique_id(prefix: str = "CO") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def order_body(customer_order_id: str, **changes: Any) -> dict[str, Any]:
    """The sample PUT body for ``customer_order_id``, with top-level order fields changed."""
    body = copy.deepcopy(SAMPLE_BODY)
    body["customerOrder"]["customerOrderId"] = customer_order_id
    body["customerOrder"].update(changes)
    return body


def fulfilled_body(customer_order_id: str, store: str, **changes: Any) -> dict[str, Any]:
    """The sample (with ``changes``) and a sofa, its two items in a store fulfillment
    ``F-STORE`` picked up at ``store``, the sofa in ``F-HOME`` from the warehouse."""
    body = order_body(customer_order_id, **changes)
    order = body["customerOrder"]
    order["items"].append({"itemId": "SOFA", "quantityOrdered": 1, "unitPrice": 1000.10})
    items = [
        {"itemId": item["itemId"], "quantity": item["quantityOrdered"]}
        for item in SAMPLE_BODY["customerOrder"]["items"]
    ]
    order["fulfillments"] = [
        {
            "fulfillmentId": "F-STORE",
            "deliveryType": "PICKUP_STORE",
            "businessUnitId": store,
            "items": items,
        },
        {
            "fulfillmentId": "F-HOME",
            "deliveryType": "HOME_DELIVERY_WAREHOUSE",
            "items": [{"itemId": "SOFA", "quantity": 1}],
        },
    ]
    return body


# The sample's first item, ordered 2: all that with_pickup's store fulfillment holds.
PICKUP_ITEM = "7310865004703"


def with_pickup(
    order_id: str, store: str | None, status: str | None = None, **changes: Any
) -> dict[str, Any]:
    """The sample with one store fulfillment of one item at ``store`` (the OMS's ``status``),
    or, for None, with no fulfillments: the implicit one at the path's business unit."""
    body = order_body(order_id, **changes)
    if store is not None:
        fulfillment: dict[str, Any] = {
            "fulfillmentId": "F-1",
            "deliveryType": "PICKUP_STORE",
            "businessUnitId": store,
            "items": [{"itemId": PICKUP_ITEM, "quantity": 2}],
        }
        if status is not None:
            fulfillment["status"] = status
        body["customerOrder"]["fulfillments"] = [fulfillment]
    return body


def order_message(
    business_unit_id: str,
    customer_order_id: str,
    received_at: datetime,
    body: dict[str, Any] | None = None,
    **changes: Any,
) -> OrderMessage:
    """The message ingest would publish for ``body`` (the sample, with ``changes``)."""
    body = body if body is not None else order_body(customer_order_id, **changes)
    order = body["customerOrder"]
    return OrderMessage.accepted(
        business_unit_id,
        customer_order_id,
        received_at,
        dump_json(body),
        customer_id=order["customerId"],
        status=order["status"],
    )


def push_data(message: PublishedMessage) -> dict[str, Any]:
    """The CloudEvent data functions-framework makes of the push of ``message``."""
    return {
        "message": {
            "data": base64.b64encode(message.data).decode(),
            "attributes": message.attributes,
            "messageId": "ignored",
        }
    }


def store_message(
    store: OrderStore, message: OrderMessage, writes: OptimisticWriter | None = None
) -> Applied:
    """Apply ``message`` to ``store`` under the conflict rule, as the processor does."""
    changes = OrderChanges(store, statuses=Statuses(), writes=writes, announce=_unheard)
    return changes.apply(OmsVersion(message))


def record_store_update(
    store: OrderStore,
    business_unit_id: str,
    customer_order_id: str,
    update: StoreUpdate | None = None,
) -> Applied:
    """A store update, as the pos function records it (everything left of the order's one
    store fulfillment handed out, by default), with nothing published."""
    changes = OrderChanges(store, statuses=Statuses(), announce=None)
    update = update or StoreUpdate(unique_id("update"), UpdateKind.PICKUP)
    return changes.apply(
        StoreUpdateChange(
            business_unit_id,
            customer_order_id,
            update,
            recorded_at=datetime.now(UTC),
            correlation_id="pos-1",
            caller="tests",
            holds=lambda business_unit_id: True,
        )
    )


def _unheard(event: OrderEvent) -> None:
    """Announces nothing: what store_message announced is in its answer."""


class LogRecorder(logging.Handler):
    """The project's log records at or above a level, with the ids a deployed handler adds."""

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []
        self.addFilter(log.OrderIdsFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[str]:
        return [record.getMessage() for record in self.records]


@contextlib.contextmanager
def recorded_logs(level: int = logging.INFO) -> Iterator[LogRecorder]:
    recorder = LogRecorder(level)
    logger = logging.getLogger(log.LOGGER_NAME)
    previous = logger.level
    logger.addHandler(recorder)
    logger.setLevel(min(level, logger.getEffectiveLevel()))
    try:
        yield recorder
    finally:
        logger.removeHandler(recorder)
        logger.setLevel(previous)


def problem_of(response: HttpResponse) -> dict[str, Any]:
    """The problem document of an error answer, checked to be one."""
    assert response.headers["Content-Type"] == PROBLEM_CONTENT_TYPE
    document: dict[str, Any] = json.loads(response.body)
    assert document["status"] == response.status
    assert {"type", "title", "detail"} <= document.keys()
    return document


def stored_body(document: dict[str, Any] | None) -> dict[str, Any] | None:
    """The PUT body a stored order document holds, parsed; ``None`` for no document."""
    if document is None:
        return None
    parsed: dict[str, Any] = json.loads(document["body"])
    return parsed


def wait_for(probe: Callable[[], T | None], *, timeout: float = 20.0, interval: float = 0.05) -> T:
    """Poll ``probe`` until it returns something other than ``None``/``False``."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@contextlib.contextmanager
def running_function(
    name: str, stack: LocalStack, *, log_path: Path | None = None, **env: str
) -> Iterator[str]:
    """Run one more instance of a function against ``stack``'s emulators, with extra env.

    For scenarios that need their own topic (to see exactly what was published)
    or a broken configuration, without disturbing the session's functions, and
    for reading what the function logged (``log_path``). Yields the instance's base URL.
    """
    port = free_ports(1)[0]
    with contextlib.ExitStack() as files:
        output = files.enter_context(log_path.open("wb")) if log_path else None
        process = subprocess.Popen(
            function_command(name, port=port),
            env={**stack.function_env(), **env},
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            start_new_session=True,
        )
        try:
            wait_for(lambda: process.poll() is None and is_listening(port), timeout=30)
            yield f"http://{LOOPBACK}:{port}"
        finally:
            stop_process_group(process)


def create_topic(stack: LocalStack, topic: str) -> None:
    status, body = http_request("PUT", f"{pubsub_base(stack)}/topics/{topic}", {})
    assert status == 200, body


def create_push_subscription(
    stack: LocalStack, topic: str, subscription: str, endpoint: str, *, ordered: bool = True
) -> None:
    project = stack.config.project_id
    status, body = http_request(
        "PUT",
        f"{pubsub_base(stack)}/subscriptions/{subscription}",
        {
            "topic": f"projects/{project}/topics/{topic}",
            "pushConfig": {"pushEndpoint": endpoint},
            "ackDeadlineSeconds": 60,
            "enableMessageOrdering": ordered,
        },
    )
    assert status == 200, body


def create_pull_subscription(stack: LocalStack, topic: str, subscription: str) -> None:
    project = stack.config.project_id
    status, body = http_request(
        "PUT",
        f"{pubsub_base(stack)}/subscriptions/{subscription}",
        {"topic": f"projects/{project}/topics/{topic}", "ackDeadlineSeconds": 60},
    )
    assert status == 200, body


def pull_all(stack: LocalStack, subscription: str, *, settle: float = 1.0) -> list[dict[str, Any]]:
    """Pull and ack every message until the subscription stays empty for ``settle`` seconds."""
    url = f"{pubsub_base(stack)}/subscriptions/{subscription}"
    messages: list[dict[str, Any]] = []
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < settle:
        status, body = http_request(
            "POST", f"{url}:pull", {"maxMessages": 1000, "returnImmediately": True}
        )
        assert status == 200, body
        received = json.loads(body or b"{}").get("receivedMessages", [])
        if not received:
            time.sleep(0.1)
            continue
        quiet_since = time.monotonic()
        messages.extend(item["message"] for item in received)
        status, body = http_request(
            "POST", f"{url}:acknowledge", {"ackIds": [item["ackId"] for item in received]}
        )
        assert status == 200, body
    return messages


def pubsub_base(stack: LocalStack) -> str:
    return f"http://{stack.config.pubsub_host}/v1/projects/{stack.config.project_id}"


def stored_document(
    client: firestore.Client, business_unit_id: str, customer_order_id: str
) -> dict[str, Any] | None:
    """The order's Firestore document as the processor wrote it, or ``None``."""
    snapshot = client.document(document_path(business_unit_id, customer_order_id)).get()
    return snapshot.to_dict() if snapshot.exists else None


def write_stored_fixture(
    client: firestore.Client, name: str, business_unit_id: str, order_id: str
) -> dict[str, Any]:
    """Write the stored-order fixture ``name`` as that release wrote it; its fields."""
    fixture: dict[str, Any] = json.loads((FORMATS / name).read_text())
    fixture.pop("_what")
    document = {
        **fixture,
        "body": fixture["body"].encode(),
        **{
            field: parse_timestamp(fixture[field])
            for field in ("receivedAt", "processedAt", "createdAt", "pickedUpAt")
            if fixture.get(field) is not None
        },
    }
    client.document(document_path(business_unit_id, order_id)).set(document)
    return fixture


def processed_so_far(
    stack: LocalStack,
    client: firestore.Client,
    business_unit_id: str,
    customer_order_id: str,
    *,
    timeout: float = 60.0,
) -> None:
    """Return once the stack's processor has decided every version of the order published so far.

    Its subscription is ordered (docs/platform.md): a probe, an order of its own published
    on this order's ordering key, is delivered only after everything before it on the key
    was acknowledged, so once the probe is stored, so is whatever those versions wrote,
    before anything published later can overwrite it.
    """
    probe = order_message(business_unit_id, unique_id("PROBE"), datetime.now(UTC), status="PROBE")
    status, body = http_request(
        "POST",
        f"{pubsub_base(stack)}/topics/{stack.config.orders_topic}:publish",
        {
            "messages": [
                {
                    "data": base64.b64encode(probe.data).decode("ascii"),
                    "attributes": dict(probe.attributes),
                    "orderingKey": ordering_key(business_unit_id, customer_order_id),
                }
            ]
        },
    )
    assert status == 200, body
    wait_for(
        lambda: stored_document(client, business_unit_id, probe.customer_order_id),
        timeout=timeout,
    )


@dataclasses.dataclass(frozen=True)
class ReceivedEvent:
    """One event as the local webhook receiver got it: the SDK's attributes, the raw body."""

    attributes: dict[str, str]
    data: bytes
    headers: dict[str, str]

    @property
    def id(self) -> str:
        return self.attributes["id"]

    @property
    def type(self) -> str:
        return self.attributes["type"]

    @property
    def order(self) -> tuple[str, str]:
        return self.attributes["businessunitid"], self.attributes["subject"]

    @property
    def source_version(self) -> int | None:
        raw = self.attributes.get("sourceversion")
        return None if raw is None else int(raw)


def received_events(receiver_url: str, webhook: str) -> list[ReceivedEvent]:
    """Every event the webhook received so far, in arrival order (repeats included)."""
    status, body = http_request("GET", f"{receiver_url}/webhooks/{webhook}/events")
    assert status == 200, body
    return [
        ReceivedEvent(item["attributes"], base64.b64decode(item["data"]), item["headers"])
        for item in json.loads(body)
    ]


def set_webhook_answer(receiver_url: str, webhook: str, status: int) -> None:
    """Make the local receiver answer ``status`` to the webhook's deliveries from now on."""
    answer, body = http_request(
        "PUT", f"{receiver_url}/webhooks/{webhook}/answer", {"status": status}
    )
    assert answer == 204, body


def create_webhook_subscription(
    stack: LocalStack, topic: str, subscription: str, endpoint: str, *, ordered: bool = True
) -> None:
    """A push subscription with payload unwrapping, as Terraform subscribes a webhook."""
    project = stack.config.project_id
    status, body = http_request(
        "PUT",
        f"{pubsub_base(stack)}/subscriptions/{subscription}",
        {
            "topic": f"projects/{project}/topics/{topic}",
            "pushConfig": {"pushEndpoint": endpoint, "noWrapper": {"writeMetadata": True}},
            "ackDeadlineSeconds": 60,
            "enableMessageOrdering": ordered,
        },
    )
    assert status == 200, body
