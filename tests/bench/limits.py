"""The emulator limits, measured with the service's own adapters and no HTTP in front.

Run as ``python -m tests.bench.limits {publish-raw,publish,store} ...`` in a process
of its own, so that it has its own interpreter lock as a function worker has.
Prints one JSON line.

``publish-raw`` is the Pub/Sub limit: one order per Publish RPC on the bare GAPIC
client, confirmed before the thread sends its next, as a PUT needs. ``publish``
goes through the service's own adapter, so the two differ by the adapter's cost.
``store`` applies one message per call through the shipped Firestore adapter
(optimistic: a read and a preconditioned write), ``store-transactional`` through
the transaction it replaced; both report the client's CPU and its RPCs per message.
``process`` runs the processor itself on push envelopes, with its real store and
event publisher: the RPCs per message with the publish, counted at the clients.
``store-update`` records one item handed out (and a tender) of an order through the
pos API in process, with its real store and publisher, on orders stored beforehand;
``whole-order-pickup`` does what the release before did for a pickup
(:mod:`tests.bench.whole_order_pickup`): CPU and RPCs per update, counted alike.
"""

from __future__ import annotations

import argparse
import base64
import io
import itertools
import json
import os
import statistics
import threading
import time
from datetime import UTC, datetime
from typing import Any

from google.cloud import firestore

from shared.adapters.firestore import FirestoreOrderStore, new_firestore_client
from shared.adapters.pubsub import PubSubEventPublisher, PubSubOrderPublisher, TopicPublisher
from shared.api.pos import pos_api
from shared.config import Settings
from shared.domain.addresses import pickup_location
from shared.domain.http import HttpRequest
from shared.domain.messages import OrderMessage
from shared.domain.timestamps import ReceivedAtClock, format_timestamp
from shared.optimistic import OptimisticWriter
from shared.processor import Processor
from tests.bench.transactional_store import TransactionalUpsert
from tests.bench.whole_order_pickup import WholeOrderPickup
from tests.support import order_message, store_message

# The first call pays for the channel; it goes elsewhere, so a drain counts exactly its backlog.
WARM_UP_BUSINESS_UNIT = "bench-warm-up"


def _message(business_unit: str, order_id: str, clock: ReceivedAtClock) -> OrderMessage:
    return order_message(business_unit, order_id, clock.now())


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _drive(
    work: Any, *, concurrency: int, seconds: float | None, count: int | None
) -> dict[str, Any]:
    """Call ``work(n)`` from ``concurrency`` threads, for a time or a number of calls."""
    numbers = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    failures = 0
    deadline = time.monotonic() + seconds if seconds else None

    def worker() -> None:
        nonlocal failures
        while True:
            with lock:
                n = next(numbers)
            if (count is not None and n >= count) or (
                deadline is not None and time.monotonic() >= deadline
            ):
                return
            began = time.monotonic()
            try:
                work(n)
            except Exception:  # noqa: BLE001 - a failure is counted, not fatal
                with lock:
                    failures += 1
                continue
            with lock:
                latencies.append(time.monotonic() - began)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    return {
        "done": len(latencies),
        "failures": failures,
        "seconds": round(elapsed, 3),
        "throughput_per_s": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(1000 * statistics.median(latencies), 2) if latencies else 0.0,
        "p99_ms": round(1000 * _percentile(latencies, 0.99), 2),
    }


def publish_raw(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from google.pubsub_v1 import PublisherClient, PubsubMessage

    client = PublisherClient()
    topic = settings.orders_topic_path
    clock = ReceivedAtClock()

    def send(order_id: str, business_unit: str = args.business_unit) -> None:
        message = _message(business_unit, order_id, clock)
        client.publish(
            topic=topic,
            messages=[
                PubsubMessage(
                    data=message.data,
                    attributes=message.attributes,
                    ordering_key=message.ordering_key,
                )
            ],
            timeout=settings.publish_timeout_seconds,
        )

    send(f"{args.run}-warm-up", WARM_UP_BUSINESS_UNIT)
    return _drive(
        lambda n: send(f"{args.run}-{n}"),
        concurrency=args.concurrency,
        seconds=args.seconds,
        count=args.count,
    )


def publish(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """Each thread publishes one order and waits for its confirmation, as a PUT does."""
    publisher = PubSubOrderPublisher.from_settings(settings)
    clock = ReceivedAtClock()
    publisher.publish(_message(WARM_UP_BUSINESS_UNIT, f"{args.run}-warm-up", clock))
    return _drive(
        lambda n: publisher.publish(_message(args.business_unit, f"{args.run}-{n}", clock)),
        concurrency=args.concurrency,
        seconds=args.seconds,
        count=args.count,
    )


class RpcCounter:
    """Counts the Firestore RPCs a client makes, by wrapping its GAPIC client's methods."""

    READS = ("get_document", "batch_get_documents", "run_query")
    OTHERS = ("begin_transaction", "commit", "rollback")

    def __init__(self, client: firestore.Client) -> None:
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()
        api = client._firestore_api
        for name in (*self.READS, *self.OTHERS):
            setattr(api, name, self._counting(name, getattr(api, name)))

    def _counting(self, name: str, method: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.calls[name] = self.calls.get(name, 0) + 1
            return method(*args, **kwargs)

        return counted

    def per_message(self, messages: int) -> dict[str, float]:
        total = sum(self.calls.values())
        reads = sum(self.calls.get(name, 0) for name in self.READS)
        return {
            "rpcs_per_message": round(total / messages, 2),
            "reads_per_message": round(reads / messages, 2),
            "commits_per_message": round(self.calls.get("commit", 0) / messages, 2),
        }


def _store(args: argparse.Namespace, settings: Settings, *, transactional: bool) -> dict[str, Any]:
    """Each thread applies one new order at a time, as a processor thread does."""
    client = new_firestore_client(settings)
    timeout = settings.firestore_timeout_seconds
    if transactional:
        upsert: Any = TransactionalUpsert(client, timeout_seconds=timeout).upsert_if_newer
    else:
        shipped, writes = FirestoreOrderStore(client, timeout_seconds=timeout), OptimisticWriter()

        def upsert(message: OrderMessage) -> Any:
            return store_message(shipped, message, writes)

    clock = ReceivedAtClock()
    upsert(_message(WARM_UP_BUSINESS_UNIT, f"{args.run}-warm-up", clock))
    counter = RpcCounter(client)
    cpu = time.process_time()
    result = _drive(
        lambda n: upsert(_message(args.business_unit, f"{args.run}-{n}", clock)),
        concurrency=args.concurrency,
        seconds=args.seconds,
        count=args.count,
    )
    done = max(1, result["done"])
    result["cpu_ms_per_message"] = round(1000 * (time.process_time() - cpu) / done, 3)
    result |= counter.per_message(done)
    return result


def _envelope(message: OrderMessage) -> dict[str, Any]:
    return {
        "message": {
            "data": base64.b64encode(message.data).decode(),
            "attributes": message.attributes,
            "publishTime": format_timestamp(message.received_at),
        }
    }


def process(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """Each thread has the processor handle one push of a new order, as a worker thread does."""
    client = new_firestore_client(settings)
    topic, publishes = _counted_publisher(settings, settings.events_topic_path)
    events = PubSubEventPublisher(topic)
    processor = Processor(
        FirestoreOrderStore(client, timeout_seconds=settings.firestore_timeout_seconds),
        events,
        statuses=settings.statuses,
    )
    clock = ReceivedAtClock()
    warm_up = _message(WARM_UP_BUSINESS_UNIT, f"{args.run}-warm-up", clock)
    processor.process(_envelope(warm_up), "warm-up")
    counter = RpcCounter(client)
    publishes["count"] = 0
    cpu = time.process_time()
    result = _drive(
        lambda n: processor.process(
            _envelope(_message(args.business_unit, f"{args.run}-{n}", clock)), f"m-{n}"
        ),
        concurrency=args.concurrency,
        seconds=args.seconds,
        count=args.count,
    )
    done = max(1, result["done"])
    result["cpu_ms_per_message"] = round(1000 * (time.process_time() - cpu) / done, 3)
    result |= counter.per_message(done)
    result["publishes_per_message"] = round(publishes["count"] / done, 2)
    result["rpcs_per_message"] = round(
        float(result["rpcs_per_message"]) + result["publishes_per_message"], 2
    )
    return result


def _counted_publisher(settings: Settings, topic: str) -> tuple[TopicPublisher, dict[str, int]]:
    from google.pubsub_v1 import PublisherClient

    gapic = PublisherClient()
    publishes = {"count": 0}
    lock = threading.Lock()
    publish = gapic.publish

    def counted(*call: Any, **kwargs: Any) -> Any:
        with lock:
            publishes["count"] += 1
        return publish(*call, **kwargs)

    gapic.publish = counted  # type: ignore[method-assign]
    return (
        TopicPublisher(gapic, topic, timeout_seconds=settings.publish_timeout_seconds),
        publishes,
    )


def _updates(args: argparse.Namespace, settings: Settings, *, whole: bool) -> dict[str, Any]:
    """Each thread records one pickup of an order stored beforehand, as a pos thread does."""
    client = new_firestore_client(settings)
    store_ = FirestoreOrderStore(client, timeout_seconds=settings.firestore_timeout_seconds)
    topic, publishes = _counted_publisher(settings, settings.store_updates_topic_path)
    clock = ReceivedAtClock()
    count = args.count or 200
    for n in range(-1, count):
        store_message(store_, _message(args.business_unit, f"{args.run}-{n}", clock))
    if whole:
        baseline = WholeOrderPickup(store_, topic)

        def work(n: int) -> Any:
            return baseline.pickup(args.business_unit, f"{args.run}-{n}", clock.now())
    else:
        api = pos_api(
            PubSubOrderPublisher(topic), store_, statuses=settings.statuses, retry_after_seconds=1
        )

        def work(n: int) -> Any:
            path = pickup_location(args.business_unit, f"{args.run}-{n}")
            body = json.dumps(
                {
                    "updateId": f"u-{n}",
                    "items": [{"itemId": "7310865004703", "quantity": 1}],
                    "tenders": [{"tenderId": f"t-{n}", "amount": 499.75, "method": "CARD"}],
                }
            ).encode()
            answer = api.handle(
                HttpRequest("POST", path, "application/json", len(body), io.BytesIO(body))
            )
            if answer.status != 200:
                raise RuntimeError(f"the store update answered {answer.status}")
            return answer

    work(-1)
    counter = RpcCounter(client)
    publishes["count"] = 0
    cpu = time.process_time()
    result = _drive(work, concurrency=args.concurrency, seconds=None, count=count)
    done = max(1, result["done"])
    result["cpu_ms_per_update"] = round(1000 * (time.process_time() - cpu) / done, 3)
    result |= counter.per_message(done)
    result["publishes_per_update"] = round(publishes["count"] / done, 2)
    result["rpcs_per_update"] = round(
        float(result["rpcs_per_message"]) + result["publishes_per_update"], 2
    )
    return result


def store_update(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    return _updates(args, settings, whole=False)


def whole_order_pickup(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    return _updates(args, settings, whole=True)


def store(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    return _store(args, settings, transactional=False)


def store_transactional(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    return _store(args, settings, transactional=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.limits")
    parser.add_argument(
        "what",
        choices=[
            "publish-raw",
            "publish",
            "store",
            "store-transactional",
            "process",
            "store-update",
            "whole-order-pickup",
        ],
    )
    parser.add_argument("--business-unit", required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--topic")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--count", type=int)
    args = parser.parse_args()
    settings = Settings.from_env()
    if args.topic:
        settings = Settings(
            project_id=settings.project_id,
            orders_topic=args.topic,
            store_updates_topic=args.topic,
            events_topic=args.topic,
        )
    began = datetime.now(UTC)
    modes = {
        "publish-raw": publish_raw,
        "publish": publish,
        "store": store,
        "store-transactional": store_transactional,
        "process": process,
        "store-update": store_update,
        "whole-order-pickup": whole_order_pickup,
    }
    result = modes[args.what](args, settings)
    result["began"] = began.isoformat()
    print(json.dumps(result), flush=True)
    # The client's background threads would keep the process alive; the work is done.
    os._exit(0)


if __name__ == "__main__":
    main()
