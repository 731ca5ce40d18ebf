"""``make bench``: start emulators and functions on free ports, measure every row, write the table.

Every figure is set against a baseline measured in the same run, under the same
gunicorn settings and with the same load generator, because the machine is
shared and noisy: only ratios carry over from one run to the next.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.domain.addresses import BUSINESS_UNITS, CUSTOMER_ORDERS
from shared.domain.events import order_event
from shared.domain.stored_order import OrderRecord, content_of_body
from shared.domain.timestamps import format_timestamp
from shared.tools.devstack import (
    LocalStack,
    StackConfig,
    free_ports,
    http_request,
    is_listening,
)
from shared.tools.functions import REPO_ROOT
from tests.bench.load import LoadResult, Sent, ensure_wrk, run_open_loop, run_pushes, run_wrk
from tests.bench.procs import SERVED, FunctionProcess, MemoryPeak
from tests.bench.report import Report
from tests.support import order_body, order_message, store_message

if TYPE_CHECKING:
    from google.cloud import firestore

OUT_DIR = REPO_ROOT / ".bench"
PROJECT_ID = "demo-bench-customer-orders"
# Row 1 publishes to its own topic with an unordered pull subscription: it keeps what
# ingest publishes, as the processor's subscription would, without the processor taking
# CPU from ingest and without the emulator's per-ordering-key threads
# (docs/performance.md#emulator-behaviour-the-bench-works-around).
INGEST_TOPIC = "bench-ingest"
INGEST_SINK = "bench-ingest-sink"
# Row 2's events go to a topic nobody subscribes to, from the processor and from
# bare_push_store alike: the publish is measured, the deliveries (row 3's) are not.
EVENTS_SINK = "bench-events-sink"
# Row 7: rounds of updates of orders stored beforehand, each kind in a process of its own.
STORE_UPDATE_ROUNDS = 3
STORE_UPDATES = 150
# Row 3's webhook: the local stack's one, on the receiver the bench runs.
WEBHOOK = "local"
RESERVED_PORTS = frozenset({8080, 8081, 8085, 8086})
DRAIN_TIMEOUT_SECONDS = 120.0
PUSH_PROBE_MESSAGES = 200
PUSH_PROBE_DELAY_SECONDS = 0.02
# Row 6: orders stored in one business unit, and the alternations measured.
SEARCH_ORDERS = 500
SEARCH_ROUNDS = 100


@dataclass(frozen=True)
class Options:
    connections: int
    seconds: float
    warm_up_seconds: float
    rounds: int
    backlog: int
    rates: tuple[float, ...]
    rate_seconds: float
    cold_starts: int
    function_env: Mapping[str, str]
    tune: bool = False
    rows: tuple[int, ...] = (1, 2, 3, 4)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def _http(method: str, url: str, body: bytes | None = None) -> int:
    request = urllib.request.Request(  # noqa: S310 - loopback URLs built here
        url, data=body, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            response.read()
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code


def push_envelope(business_unit: str, order_id: str) -> bytes:
    """What the Pub/Sub emulator POSTs to a push endpoint for one published order."""
    message = order_message(business_unit, order_id, datetime.now(UTC))
    return json.dumps(
        {
            "subscription": f"projects/{PROJECT_ID}/subscriptions/bench",
            "message": {
                "data": base64.b64encode(message.data).decode(),
                "attributes": message.attributes,
                "orderingKey": message.ordering_key,
                "messageId": f"probe-{order_id}",
                "publishTime": format_timestamp(message.received_at),
            },
        }
    ).encode()


def first_good_answer(name: str, url: str, order_id: str) -> Callable[[], bool]:
    """A probe that succeeds once the function did real work: 202 from ingest, 2xx otherwise."""
    if name in ("processor", "bare_push", "bare_push_read", "bare_push_store"):
        method, path, body = "POST", "/", push_envelope("bench-probe", order_id)
    else:
        path = f"/{BUSINESS_UNITS}/bench-probe/{CUSTOMER_ORDERS}/{order_id}"
        method, body = "PUT", json.dumps(order_body(order_id)).encode()
    accepted = {
        "ingest": (202,),
        "bare": (204,),
        "bare_publish": (204,),
    }.get(name, (200, 204))

    def probe() -> bool:
        try:
            return _http(method, url + path, body) in accepted
        except OSError:
            return False

    return probe


class Bench:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.run_id = datetime.now(UTC).strftime("%H%M%S")
        self.config = StackConfig.on_free_ports(
            project_id=PROJECT_ID, log_dir=OUT_DIR / "logs", function_env=options.function_env
        )
        self.bare_port = free_ports(1)[0]
        used = {
            self.config.pubsub_port,
            self.config.firestore_port,
            self.config.ingest_port,
            self.config.processor_port,
            self.bare_port,
        }
        if used & RESERVED_PORTS or len(used) < 5:
            raise RuntimeError(f"free ports collided with reserved or each other: {sorted(used)}")
        self.ports = {
            "bare": self.bare_port,
            "bare_publish": self.bare_port,
            "bare_push": self.bare_port,
            "bare_push_read": self.bare_port,
            "bare_push_store": self.bare_port,
            "ingest": self.config.ingest_port,
            "processor": self.config.processor_port,
        }
        self.stack = LocalStack(self.config)
        self.report = Report()
        self.memory: dict[str, MemoryPeak] = {}
        self._running: list[FunctionProcess] = []

    # -- plumbing ---------------------------------------------------------------------------

    def start_stack(self) -> None:
        self.config.log_dir.mkdir(parents=True, exist_ok=True)
        os.environ.update(self.config.emulator_env())
        self.stack.start_pubsub_emulator()
        self.stack.start_firestore_emulator()
        self._create_pubsub_resources()
        self.stack.start_receiver()

    def fresh_pubsub(self) -> None:
        """Restart the Pub/Sub emulator: it keeps a thread per ordering key of an ordered
        subscription for good, and thousands of them slow everything on the machine."""
        self.stack.stop_emulator("pubsub-emulator")
        self.stack.start_pubsub_emulator()
        self._create_pubsub_resources()

    def _create_pubsub_resources(self) -> None:
        self.stack.create_resources()
        base = f"http://{self.config.pubsub_host}/v1/projects/{PROJECT_ID}"
        self._pubsub("PUT", f"{base}/topics/{INGEST_TOPIC}", {})
        self._pubsub("PUT", f"{base}/topics/{EVENTS_SINK}", {})
        self._pubsub(
            "PUT",
            f"{base}/subscriptions/{INGEST_SINK}",
            {"topic": f"projects/{PROJECT_ID}/topics/{INGEST_TOPIC}"},
        )
        self.set_push_endpoint(None)

    def set_push_endpoint(self, url: str | None) -> None:
        """Point the processor subscription at ``url``, or pause it (no endpoint: pull)."""
        base = f"http://{self.config.pubsub_host}/v1/projects/{PROJECT_ID}"
        self._pubsub(
            "POST",
            f"{base}/subscriptions/{self.config.processor_subscription}:modifyPushConfig",
            {"pushConfig": {"pushEndpoint": url} if url else {}},
        )

    @staticmethod
    def _pubsub(method: str, url: str, body: Mapping[str, Any]) -> None:
        status, answer = http_request(method, url, body)
        if status != 200:
            raise RuntimeError(f"{method} {url} answered {status}: {answer!r}")

    def _process(self, name: str, log: str, env: Mapping[str, str]) -> FunctionProcess:
        process = FunctionProcess(
            name=name,
            port=self.ports[name],
            env={**self.stack.function_env(), **env},
            log_path=OUT_DIR / "logs" / f"{log}.log",
        )
        self._running.append(process)
        return process

    @contextmanager
    def running(self, name: str, **env: str) -> Iterator[FunctionProcess]:
        """A function started, answered once, measured while in use, then stopped."""
        process = self._process(name, name, env)
        process.log_path.unlink(missing_ok=True)
        process.start()
        try:
            process.wait_until(first_good_answer(name, process.url, f"{self.run_id}-up-{name}"))
            yield process
        finally:
            process.stop()
            self._running.remove(process)
            self.memory.setdefault(name, MemoryPeak()).merge(process.peak)

    def limit(self, *args: str) -> dict[str, Any]:
        output = subprocess.run(
            [sys.executable, "-m", "tests.bench.limits", *args],
            env=self.stack.function_env(),
            cwd=REPO_ROOT,
            capture_output=True,
            check=False,
            timeout=300,
        )
        if output.returncode != 0:
            raise RuntimeError(f"limits {args} failed:\n{output.stderr.decode(errors='replace')}")
        result: dict[str, Any] = json.loads(output.stdout.decode().strip().splitlines()[-1])
        return result

    def fill_backlog(self, business_unit: str, count: int) -> None:
        """Publish ``count`` distinct orders while the push subscription is paused."""
        filled = self.limit(
            "publish",
            "--topic",
            self.config.orders_topic,
            "--business-unit",
            business_unit,
            "--run",
            self.run_id,
            "--concurrency",
            "64",
            "--count",
            str(count),
        )
        if filled["done"] != count:
            raise RuntimeError(f"backlog: published {filled['done']} of {count}: {filled}")

    def firestore_client(self) -> firestore.Client:
        from google.cloud import firestore

        return firestore.Client(project=PROJECT_ID)

    @staticmethod
    def _orders(client: firestore.Client, business_unit: str) -> firestore.CollectionReference:
        return client.collection(f"{BUSINESS_UNITS}/{business_unit}/{CUSTOMER_ORDERS}")

    def count(self, client: firestore.Client, business_unit: str) -> int:
        query = self._orders(client, business_unit).count()  # type: ignore[no-untyped-call]
        return int(query.get()[0][0].value)

    def processed_at(self, client: firestore.Client, business_unit: str) -> dict[str, float]:
        """When each order's document was committed (``processedAt`` is the server's time)."""
        documents = self._orders(client, business_unit).select(["processedAt"]).stream()
        return {doc.id: doc.get("processedAt").timestamp() for doc in documents}

    def wait_for_documents(self, client: firestore.Client, business_unit: str, count: int) -> int:
        deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
        while (stored := self.count(client, business_unit)) < count:
            if time.monotonic() > deadline:
                break
            time.sleep(0.25)
        return stored

    def stop(self) -> None:
        for process in self._running:
            process.stop()
        self._running.clear()
        self.stack.stop()

    # -- row 1 ------------------------------------------------------------------------------

    def ingest_row(self) -> None:
        """Closed-loop PUTs: the bare function, ingest, and the raw publisher, alternated."""
        opts = self.options
        results: dict[str, list[LoadResult]] = {"bare": [], "bare_publish": [], "ingest": []}
        cpu: dict[str, list[float]] = {name: [] for name in results}
        publisher: dict[str, list[dict[str, Any]]] = {"publish-raw": [], "publish": []}
        for round_ in range(opts.rounds):
            for name in results:
                with self.running(name, ORDERS_TOPIC=INGEST_TOPIC) as process:
                    run = f"{self.run_id}-{name}-{round_}"
                    run_wrk(
                        process.url,
                        business_unit="bench-warm-up",
                        run=run,
                        connections=opts.connections,
                        seconds=opts.warm_up_seconds,
                    )
                    before = process.cpu_seconds()
                    result = run_wrk(
                        process.url,
                        business_unit="bench-ingest",
                        run=run,
                        connections=opts.connections,
                        seconds=opts.seconds,
                    )
                    cpu[name].append((process.cpu_seconds() - before) / max(1, result.requests))
                    results[name].append(result)
            for mode, results_of_mode in publisher.items():
                results_of_mode.append(
                    self.limit(
                        mode,
                        "--topic",
                        INGEST_TOPIC,
                        "--business-unit",
                        f"bench-{mode}",
                        "--run",
                        f"{self.run_id}-{mode}-{round_}",
                        "--concurrency",
                        str(opts.connections),
                        "--seconds",
                        str(opts.seconds),
                    )
                )
        self.report.ingest(results, cpu, publisher)

    # -- row 2 ------------------------------------------------------------------------------

    def push_drain(self, name: str, backlog: int, **env: str) -> tuple[int, float, int, float]:
        """Drain ``backlog`` orders into ``bare_push``: pushed, seconds, most in flight, CPU."""
        business_unit = f"bench-push-{name}-{self.run_id}"
        with self.running("bare_push", **env) as process:
            self.fill_backlog(business_unit, backlog)
            began = time.time()
            cpu = process.cpu_seconds()
            self.set_push_endpoint(f"{process.url}/")
            deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
            lines: list[list[str]] = []
            while len(lines) < backlog and time.monotonic() < deadline:
                time.sleep(0.25)
                lines = [
                    line.split()
                    for line in process.log_path.read_text().splitlines()
                    if line.startswith("bench-push ")
                ]
            cpu = process.cpu_seconds() - cpu
            self.set_push_endpoint(None)
        # The start-up probe is a push too, but not one of the backlog.
        pushes = [(float(t), int(n)) for _, t, n in lines if float(t) >= began]
        if not pushes:
            return 0, 0.0, 0, 0.0
        return (
            len(pushes),
            max(t for t, _ in pushes) - began,
            max(n for _, n in pushes),
            cpu / len(pushes),
        )

    def processor_row(self) -> None:
        """Drain a backlog through the push subscription, against the push and store limits."""
        opts = self.options
        self.fresh_pubsub()
        # Pushes sent straight to the functions, first, while the Pub/Sub emulator holds
        # no per-key threads: the functions' own CPU a message, which the emulator's pace
        # and its thousands of threads (load averages up to 48) blur in the drain below.
        direct = self.all_direct_pushes(opts.backlog)
        _, _, push_concurrency, _ = self.push_drain(
            "concurrency",
            PUSH_PROBE_MESSAGES,
            BENCH_PUSH_DELAY_SECONDS=str(PUSH_PROBE_DELAY_SECONDS),
        )
        self.fresh_pubsub()
        pushed, push_seconds, _, push_cpu = self.push_drain("limit", opts.backlog)
        self.fresh_pubsub()
        client = self.firestore_client()
        drain_bu = f"bench-drain-{self.run_id}"
        threads = self.processor_concurrency()
        with self.running("processor", EVENTS_TOPIC=EVENTS_SINK) as processor:
            # The shipped upsert and the transaction it replaced, on the same emulator,
            # at the emulator's pushes in flight and at the processor's threads. The
            # emulator's JIT warms up over the first runs, so each is measured twice, in
            # alternating order, and the best round counts, as in row 1.
            stores: dict[tuple[str, int], dict[str, Any]] = {}
            for concurrency in sorted({max(1, push_concurrency), threads}):
                for round_, modes in enumerate(
                    (("store-transactional", "store"), ("store", "store-transactional"))
                ):
                    for mode in modes:
                        result = self.limit(
                            mode,
                            "--business-unit",
                            f"bench-{mode}-{concurrency}-{round_}-{self.run_id}",
                            "--run",
                            self.run_id,
                            "--concurrency",
                            str(concurrency),
                            "--count",
                            str(opts.backlog),
                        )
                        best = stores.get((mode, concurrency))
                        if best is None or float(result["throughput_per_s"]) > float(
                            best["throughput_per_s"]
                        ):
                            stores[(mode, concurrency)] = result
            self.fill_backlog(drain_bu, opts.backlog)
            began = time.time()
            cpu = processor.cpu_seconds()
            self.set_push_endpoint(f"{self.config.processor_url}/")
            stored = self.wait_for_documents(client, drain_bu, opts.backlog)
            cpu = processor.cpu_seconds() - cpu
            self.set_push_endpoint(None)
        committed = sorted(self.processed_at(client, drain_bu).values())
        # The same pushes without the emulator between: the functions' own CPU a message,
        # which the emulator's pace and its thousands of per-key threads blur above.
        direct = self.all_direct_pushes(opts.backlog)
        processed = self.limit(
            "process",
            "--business-unit",
            f"bench-process-{self.run_id}",
            "--run",
            self.run_id,
            "--topic",
            EVENTS_SINK,
            "--concurrency",
            str(threads),
            "--count",
            str(opts.backlog),
        )
        self.report.processor(
            stored=stored,
            backlog=opts.backlog,
            drain_seconds=(committed[-1] - began) if committed else 0.0,
            push={
                "pushed": pushed,
                "seconds": push_seconds,
                "concurrency": push_concurrency,
                "cpu_ms_per_message": round(1000 * push_cpu, 3),
            },
            cpu_ms_per_message=1000 * cpu / max(1, stored),
            stores=stores,
            threads=threads,
            direct=direct,
            processed=processed,
        )

    def all_direct_pushes(self, count: int) -> dict[str, dict[str, float]]:
        """The direct pushes of the processor and of its two baselines, best of two rounds."""
        best: dict[str, dict[str, float]] = {}
        for _ in range(2):
            for name in ("bare_push", "bare_push_store", "processor"):
                result = self.direct_pushes(name, count)
                if (
                    name not in best
                    or result["cpu_ms_per_message"] < best[name]["cpu_ms_per_message"]
                ):
                    best[name] = result
        return best

    def direct_pushes(self, name: str, count: int) -> dict[str, float]:
        """Pushes of ``count`` new orders straight to ``name``, 8 at a time: CPU per message."""
        business_unit = f"bench-direct-{name}-{self.run_id}"
        envelopes = [
            push_envelope(business_unit, f"{self.run_id}-direct-{n}") for n in range(count)
        ]
        with self.running(name, EVENTS_TOPIC=EVENTS_SINK) as process:
            cpu = process.cpu_seconds()
            acknowledged, seconds = run_pushes(
                process.url, envelopes, concurrency=self.processor_concurrency()
            )
            cpu = process.cpu_seconds() - cpu
        return {
            "acknowledged": acknowledged,
            "per_s": round(acknowledged / seconds, 1) if seconds else 0.0,
            "cpu_ms_per_message": round(1000 * cpu / max(1, acknowledged), 3),
        }

    def processor_concurrency(self) -> int:
        env = self.stack.function_env()
        workers = int(env.get("WORKERS", "1"))
        threads = int(env.get("THREADS", str((os.cpu_count() or 1) * 4)))
        return workers * threads

    # -- row 3 ------------------------------------------------------------------------------

    def end_to_end_row(self) -> None:
        """A steady offered load, PUT due to document committed (its ``processedAt``)."""
        opts = self.options
        client = self.firestore_client()
        rows = []
        for rate in opts.rates:
            self.fresh_pubsub()
            self.set_push_endpoint(f"{self.config.processor_url}/")
            business_unit = f"bench-e2e-{int(rate)}-{self.run_id}"
            with self.running("processor"), self.running("ingest") as ingest:
                sent = run_open_loop(
                    ingest.url,
                    business_unit=business_unit,
                    run=f"{self.run_id}-e2e",
                    rate=rate,
                    seconds=opts.rate_seconds,
                )
                rows.append(self._visible(client, business_unit, rate, sent))
        self.report.end_to_end(rows)

    def _delivered(self, business_unit: str, count: int) -> dict[str, float]:
        """When the webhook received each order's event (the receiver's clock, the same)."""
        deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
        while True:
            status, body = http_request(
                "GET", f"{self.config.receiver_url}/webhooks/{WEBHOOK}/events"
            )
            if status != 200:
                raise RuntimeError(f"the receiver answered {status}")
            arrived: dict[str, float] = {}
            for event in json.loads(body):
                attributes = event["attributes"]
                if attributes.get("businessunitid") == business_unit:
                    arrived.setdefault(attributes["subject"], float(event["arrivedAt"]))
            if len(arrived) >= count or time.monotonic() > deadline:
                return arrived
            time.sleep(0.25)

    def _visible(
        self, client: firestore.Client, business_unit: str, rate: float, sent: list[Sent]
    ) -> dict[str, Any]:
        accepted = [s for s in sent if s.status == 202]
        self.wait_for_documents(client, business_unit, len(accepted))
        committed = self.processed_at(client, business_unit)
        latencies = [committed[s.order_id] - s.due for s in accepted if s.order_id in committed]
        arrived = self._delivered(business_unit, len(accepted))
        webhook = [arrived[s.order_id] - s.due for s in accepted if s.order_id in arrived]
        answers = [s.answered_after for s in accepted]
        return {
            "offered_per_s": rate,
            "sent": len(sent),
            "accepted": len(accepted),
            "visible": len(latencies),
            "put_p50_ms": 1000 * statistics.median(answers) if answers else 0.0,
            "put_p99_ms": 1000 * percentile(answers, 0.99),
            "p50_ms": 1000 * statistics.median(latencies) if latencies else 0.0,
            "p99_ms": 1000 * percentile(latencies, 0.99),
            "delivered": len(webhook),
            "webhook_p50_ms": 1000 * statistics.median(webhook) if webhook else 0.0,
            "webhook_p99_ms": 1000 * percentile(webhook, 0.99),
        }

    # -- row 6 ------------------------------------------------------------------------------

    def search_row(self) -> None:
        """A search answering a full page of 100 against a GET of one order, alternated."""
        from shared.adapters.firestore import FirestoreOrderStore

        business_unit = f"bench-search-{self.run_id}"
        store = FirestoreOrderStore(self.firestore_client(), timeout_seconds=30)
        start = datetime.now(UTC)
        for index in range(SEARCH_ORDERS):
            # Every other order is READY: the search reads 100 of 250 matches.
            status = "READY" if index % 2 == 0 else "OPEN"
            message = order_message(
                business_unit,
                f"CO-{index:05d}",
                start + timedelta(milliseconds=index),
                status=status,
            )
            store_message(store, message)
        search = json.dumps({"status": "READY", "pageSize": 100}).encode()
        base = f"/{BUSINESS_UNITS}/{business_unit}/{CUSTOMER_ORDERS}"
        requests = {
            "get": ("GET", f"{base}/CO-00042", None),
            "search": ("POST", f"{base}:search", search),
        }
        latencies: dict[str, list[float]] = {name: [] for name in requests}
        cpu: dict[str, float] = dict.fromkeys(requests, 0.0)
        with self.running("ingest", ORDERS_TOPIC=INGEST_TOPIC) as process:
            for round_ in range(SEARCH_ROUNDS + 5):
                for name, (method, path, body) in requests.items():
                    before_cpu, before = process.cpu_seconds(), time.perf_counter()
                    answered = _http(method, process.url + path, body)
                    elapsed = time.perf_counter() - before
                    if answered != 200:
                        raise RuntimeError(f"{name} answered {answered}")
                    if round_ >= 5:  # the first rounds warm the clients up
                        latencies[name].append(elapsed)
                        cpu[name] += process.cpu_seconds() - before_cpu
        self.report.search(
            {name: statistics.median(values) for name, values in latencies.items()},
            {name: percentile(values, 0.99) for name, values in latencies.items()},
            {name: total / SEARCH_ROUNDS for name, total in cpu.items()},
        )

    # -- row 7 ------------------------------------------------------------------------------

    def store_update_row(self) -> None:
        """A store update (one item handed out, one tender) through the pos API in process,
        against the whole-order pickup of the release before, alternated, in processes of
        their own: CPU and RPCs per update."""
        runs: dict[str, list[dict[str, Any]]] = {"store-update": [], "whole-order-pickup": []}
        for round_ in range(STORE_UPDATE_ROUNDS):
            for what in runs:
                runs[what].append(
                    self.limit(
                        what,
                        "--business-unit",
                        f"bench-{what}-{self.run_id}-{round_}",
                        "--run",
                        f"{self.run_id}-{round_}",
                        "--topic",
                        EVENTS_SINK,
                        "--concurrency",
                        "4",
                        "--count",
                        str(STORE_UPDATES),
                    )
                )
        self.report.store_update(runs)

    # -- row 4 ------------------------------------------------------------------------------

    def cold_start_row(self) -> None:
        """Process start to first good answer, each function against bare twins.

        ``bare`` and ``bare_push`` do nothing; ``bare_publish`` and ``bare_push_read``
        build their client and make one RPC, as the first request of ingest and of the
        processor must.
        """
        env = {
            "ingest": {"ORDERS_TOPIC": INGEST_TOPIC},
            "bare_publish": {"ORDERS_TOPIC": INGEST_TOPIC},
        }
        names = ("bare", "bare_publish", "ingest", "bare_push", "bare_push_read", "processor")
        seconds: dict[str, list[float]] = {name: [] for name in names}
        listening: dict[str, list[float]] = {name: [] for name in names}
        for attempt in range(self.options.cold_starts):
            for name in names:
                process = self._process(name, f"{name}-cold", env.get(name, {}))
                process.start()
                try:
                    # Listening is what a platform's start-up probe sees; the clients
                    # are built lazily, so the first request pays for them.
                    listening[name].append(process.wait_until(partial(is_listening, process.port)))
                    probe = first_good_answer(name, process.url, f"{self.run_id}-cold-{attempt}")
                    seconds[name].append(process.wait_until(probe))
                finally:
                    process.stop()
                    self._running.remove(process)
        self.report.cold_start(
            {name: statistics.median(values) for name, values in seconds.items()},
            {name: statistics.median(values) for name, values in listening.items()},
            {name: self.import_seconds(name) for name in names},
        )

    def import_seconds(self, name: str) -> dict[str, float]:
        """Median over fresh interpreters: the framework, then the function's own module."""
        code = (
            "import time, importlib.util as u\n"
            "t0 = time.perf_counter()\n"
            "import functions_framework, flask\n"
            "t1 = time.perf_counter()\n"
            f"s = u.spec_from_file_location('main', {str(SERVED[name][1])!r})\n"
            "s.loader.exec_module(u.module_from_spec(s))\n"
            "print(t1 - t0, time.perf_counter() - t1)\n"
        )
        framework, module = [], []
        for _ in range(5):
            output = subprocess.run(
                [sys.executable, "-c", code],
                env=self.stack.function_env(),
                cwd=REPO_ROOT,
                capture_output=True,
                check=True,
                timeout=60,
            )
            first, second = output.stdout.split()
            framework.append(float(first))
            module.append(float(second))
        return {"framework": statistics.median(framework), "module": statistics.median(module)}


def billed_message_bytes() -> int:
    """Pub/Sub's size of the bench's order message: data, attributes, key, timestamp and id."""
    message = order_message("bench-ingest", "bench-order-000001", datetime.now(UTC))
    attributes = sum(len(key) + len(value.encode()) for key, value in message.attributes.items())
    # A correlation id as ingest makes it (a UUID), and a message id of 16 digits.
    correlation = len("correlationId") + 36
    return len(message.data) + attributes + correlation + len(message.ordering_key) + 20 + 16


def billed_event_bytes() -> int:
    """Pub/Sub's size of the same order's event: its data, its ce- attributes, key, time, id."""
    message = order_message("bench-ingest", "bench-order-000001", datetime.now(UTC))
    content = content_of_body(message.body, message.business_unit_id)
    event = order_event(OrderRecord.of_message(message, None, content))
    attributes = {**event.attributes, "ce-correlationid": "0" * 36}
    size = sum(len(key) + len(value.encode()) for key, value in attributes.items())
    return len(event.data) + size + len(event.ordering_key) + 20 + 16


def machine() -> dict[str, Any]:
    memory_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "python": sys.version.split()[0],
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0, help="per closed-loop measurement")
    parser.add_argument("--warm-up-seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=2, help="row 1 alternations; the best counts")
    parser.add_argument("--backlog", type=int, default=3000, help="messages drained in row 2")
    parser.add_argument("--rates", default="100,300", help="offered orders/s of row 3")
    parser.add_argument("--rate-seconds", type=float, default=10.0)
    parser.add_argument("--cold-starts", type=int, default=3)
    parser.add_argument("--workers", help="WORKERS of every function (functions-framework: 1)")
    parser.add_argument("--threads", help="THREADS of every function (default: 4 per CPU)")
    parser.add_argument(
        "--rows", default="1,2,3,4,6,7", help="which of rows 1-4, 6 and 7 to run (5 always)"
    )
    parser.add_argument(
        "--tune", action="store_true", help="only row 1, over WORKERS x THREADS and publishers"
    )
    args = parser.parse_args(argv)
    env = {}
    if args.workers:
        env["WORKERS"] = args.workers
    if args.threads:
        env["THREADS"] = args.threads
    return Options(
        connections=args.connections,
        seconds=args.seconds,
        warm_up_seconds=args.warm_up_seconds,
        rounds=args.rounds,
        backlog=args.backlog,
        rates=tuple(float(rate) for rate in args.rates.split(",")),
        rate_seconds=args.rate_seconds,
        cold_starts=args.cold_starts,
        function_env=env,
        tune=args.tune,
        rows=tuple(int(row) for row in args.rows.split(",")),
    )


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    ensure_wrk()
    if options.tune:
        from tests.bench.tune import tune

        return tune(options)
    host = machine()
    bench = Bench(options)
    began = time.monotonic()
    try:
        bench.start_stack()
        rows = {
            1: bench.ingest_row,
            2: bench.processor_row,
            3: bench.end_to_end_row,
            6: bench.search_row,
            7: bench.store_update_row,
        }
        for row in sorted(set(options.rows) & set(rows)):
            rows[row]()
        if 4 in options.rows:
            # Last, so that the emulators are warm and the first answer measures the function.
            bench.cold_start_row()
    finally:
        bench.stop()
    bench.report.cost(billed_message_bytes(), billed_event_bytes())
    bench.report.memory(bench.memory)
    host["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    bench.report.context(host, asdict(options), time.monotonic() - began)
    print(bench.report.markdown())
    bench.report.write(OUT_DIR)
    print(f"written: {OUT_DIR / 'bench.json'}, {OUT_DIR / 'bench.md'}")
    return 0
