"""Order events on the real emulators: one per stored version, in order, as CloudEvents.

A pipeline of the test's own (ingest, orders topic, processor, events topic, a webhook of
the local receiver), so that the processor's log says exactly which versions it stored.
"""

from __future__ import annotations

import random
import re
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from cloudevents.http import from_http

from shared.domain import events
from shared.domain.addresses import order_location
from shared.domain.conflict import Version
from shared.domain.jsonbody import dump_json
from shared.domain.timestamps import parse_timestamp
from shared.tools.devstack import LocalStack
from tests.support import (
    ReceivedEvent,
    create_push_subscription,
    create_topic,
    create_webhook_subscription,
    order_body,
    received_events,
    running_function,
    unique_id,
    wait_for,
)

pytestmark = pytest.mark.integration

ORDERS = 24
VERSIONS = 4
THREADS = 8
_STORED = re.compile(
    r"customer_order_events\.processor stored messageId=\S+ sourceVersion=(?P<version>\d+) "
    r".* customerOrderId=(?P<order>\S+)"
)


@dataclass(frozen=True)
class Pipeline:
    ingest_url: str
    receiver_url: str
    webhook: str
    processor_log: Path

    def stored_versions(self) -> dict[str, list[int]]:
        """Per order, the versions the processor logged as stored, in the order it stored them."""
        stored: dict[str, list[int]] = defaultdict(list)
        for line in self.processor_log.read_text().splitlines():
            if (match := _STORED.search(line)) is not None:
                stored[match["order"]].append(int(match["version"]))
        return stored

    def events(self) -> list[ReceivedEvent]:
        return received_events(self.receiver_url, self.webhook)


@pytest.fixture(scope="module")
def pipeline(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    suffix = uuid.uuid4().hex[:10]
    orders_topic, events_topic = f"evt-orders-{suffix}", f"evt-events-{suffix}"
    webhook = f"evt-{suffix}"
    create_topic(stack, orders_topic)
    create_topic(stack, events_topic)
    log = tmp_path_factory.mktemp("events") / "processor.log"
    with (
        running_function("processor", stack, log_path=log, EVENTS_TOPIC=events_topic) as processor,
        running_function("ingest", stack, ORDERS_TOPIC=orders_topic) as ingest,
    ):
        create_push_subscription(stack, orders_topic, f"{orders_topic}-processor", f"{processor}/")
        create_webhook_subscription(
            stack,
            events_topic,
            f"{events_topic}-{webhook}",
            f"{stack.config.receiver_url}/webhooks/{webhook}",
        )
        yield Pipeline(ingest, stack.config.receiver_url, webhook, log)


def _put(
    http: requests.Session, ingest_url: str, unit: str, order_id: str, version: int
) -> requests.Response:
    body = order_body(order_id, status=f"V{version}", version=version)
    return http.put(
        ingest_url + order_location(unit, order_id),
        data=dump_json(body),
        headers={
            "Content-Type": "application/json",
            "Source-Version": str(version),
            "Correlation-Id": f"{order_id}-v{version}",
        },
        timeout=30,
    )


def test_every_stored_version_is_one_event_in_order_and_skipped_ones_are_none(
    pipeline: Pipeline,
) -> None:
    unit = unique_id("BU")
    orders = [unique_id() for _ in range(ORDERS)]
    sends = [(order, version) for order in orders for version in range(1, VERSIONS + 1)]
    random.Random(19).shuffle(sends)
    local = threading.local()

    def send(item: tuple[str, int]) -> int:
        if not hasattr(local, "http"):
            local.http = requests.Session()
        return _put(local.http, pipeline.ingest_url, unit, *item).status_code

    with ThreadPoolExecutor(THREADS) as pool:
        assert set(pool.map(send, sends)) == {202}

    def settled() -> dict[str, list[ReceivedEvent]] | None:
        stored = pipeline.stored_versions()
        if not all(stored.get(order) and stored[order][-1] == VERSIONS for order in orders):
            return None
        received: dict[str, list[ReceivedEvent]] = defaultdict(list)
        for event in pipeline.events():
            if event.order[0] == unit:
                received[event.order[1]].append(event)
        if any({e.source_version for e in received[o]} != set(stored[o]) for o in orders):
            return None
        return received

    received = wait_for(settled, timeout=90, interval=0.5)
    stored = pipeline.stored_versions()
    repeats = 0
    for order in orders:
        arrived = received[order]
        unique: dict[str, ReceivedEvent] = {}
        for event in arrived:
            unique.setdefault(event.id, event)
        repeats += len(arrived) - len(unique)
        # One event per stored version, none for a skipped one, in the order stored.
        assert [event.source_version for event in unique.values()] == stored[order]
        first, *later = unique.values()
        assert first.type == events.CREATED
        assert {event.type for event in later} <= {events.UPDATED}
        for event in unique.values():
            version = event.source_version
            assert version is not None
            assert event.data == dump_json(order_body(order, status=f"V{version}", version=version))
            assert event.attributes["correlationid"] == f"{order}-v{version}"
            assert event.attributes["source"] == f"/business-units/{unit}/customer-orders"
    print(f"\n[figure] {len(sends)} PUTs of {ORDERS} orders: {repeats} repeated events")


def test_each_event_is_a_valid_cloudevent_whose_data_is_the_stored_body(
    pipeline: Pipeline, http: requests.Session
) -> None:
    unit, order = unique_id("BU"), unique_id()
    assert _put(http, pipeline.ingest_url, unit, order, 7).status_code == 202
    url = pipeline.ingest_url + order_location(unit, order)

    def stored_order() -> requests.Response | None:
        answer = http.get(url, timeout=30)
        return answer if answer.status_code == 200 else None

    stored = wait_for(stored_order)
    [event] = wait_for(
        lambda: [e for e in pipeline.events() if e.order == (unit, order)] or None, timeout=30
    )
    parsed = from_http(event.headers, event.data)
    assert parsed["specversion"] == "1.0"
    assert parsed["type"] == events.CREATED
    assert parsed["subject"] == order
    assert parsed["businessunitid"] == unit
    assert parsed["sourceversion"] == "7"
    assert parsed["time"] == stored.headers["Received-At"]
    assert event.headers["Content-Type"] == "application/json"
    assert event.data == stored.content
    # The id is the version's: the same stored version always makes the same event.
    version = Version(parse_timestamp(stored.headers["Received-At"]), 7)
    assert parsed["id"] == events.event_id(events.CREATED, unit, order, version)
