"""Soak run: minutes of steady PUTs across thousands of orders on a stack of its own.

``make soak`` (``python -m tests.soak.run``). Not part of ``make test``: pytest
does not collect this file. Traffic stays on loopback, bounded in count and time.

Reports sent / accepted / stored / lost, the answers and errors by kind, the
achieved rate and latency, and the resident memory of every process at the
start, after the warm-up and at the end. Exits non-zero when an accepted order
is lost or a function's memory keeps growing after the warm-up.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import queue
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from shared.tools.devstack import LocalStack
from shared.tools.functions import REPO_ROOT
from tests.reliability.harness import (
    Ledger,
    firestore_client_for,
    own_stack,
    put_version,
    wait_until_stored,
)
from tests.reliability.processes import rss_bytes

PROCESSES = ("ingest", "processor", "pubsub-emulator", "firestore-emulator")
FUNCTIONS = ("ingest", "processor")
BUSINESS_UNIT = "BU-SOAK"
# A function whose RSS grows more than this after the warm-up is leaking, not warming up.
MAX_GROWTH_AFTER_WARM_UP = 0.5
MAX_GROWTH_FLOOR_MB = 40


@dataclass
class Options:
    rate: float
    duration: float
    orders: int
    workers: int
    settle: float
    warm_up: float
    report: Path


@dataclass
class Memory:
    samples: list[tuple[float, dict[str, int]]] = field(default_factory=list)

    def sample(self, started: float, pids: dict[str, int]) -> dict[str, int]:
        # The load generator is the stack's parent: its own memory only.
        current = {name: rss_bytes(pid, children=pid != os.getpid()) for name, pid in pids.items()}
        self.samples.append((time.monotonic() - started, current))
        return current

    def at(self, moment: float) -> dict[str, int]:
        """The first sample taken at or after ``moment`` seconds."""
        return next(
            (values for when, values in self.samples if when >= moment), self.samples[-1][1]
        )

    def peak(self) -> dict[str, int]:
        names = self.samples[0][1]
        return {name: max(values[name] for _, values in self.samples) for name in names}


def _mb(value: int) -> float:
    return round(value / 2**20, 1)


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _every(interval: float, stop: threading.Event, action: Callable[[], None]) -> None:
    while not stop.wait(interval):
        action()


def run(stack: LocalStack, options: Options) -> dict[str, Any]:
    orders = [f"SOAK-{index:05d}" for index in range(options.orders)]
    versions = {order_id: itertools.count(1) for order_id in orders}
    version_lock = threading.Lock()
    ledger = Ledger()
    latencies: list[float] = []
    # Bounded: when the workers fall behind, the pacer drops sends instead of piling them
    # up, and the achieved rate says so.
    work: queue.Queue[str | None] = queue.Queue(maxsize=max(1, int(options.rate)))
    shed = 0

    pids = {name: stack.pid(name) for name in PROCESSES}
    pids["load-generator"] = os.getpid()
    memory = Memory()
    started = time.monotonic()
    memory.sample(started, pids)
    stop_sampling = threading.Event()
    sampler = threading.Thread(
        target=_every, args=(5.0, stop_sampling, lambda: memory.sample(started, pids))
    )
    sampler.start()

    def worker() -> None:
        with requests.Session() as session:
            while (order_id := work.get()) is not None:
                with version_lock:
                    version = next(versions[order_id])
                begun = time.monotonic()
                put_version(
                    session, stack.config.ingest_url, BUSINESS_UNIT, order_id, version, ledger
                )
                latencies.append(time.monotonic() - begun)

    workers = [threading.Thread(target=worker) for _ in range(options.workers)]
    for thread in workers:
        thread.start()

    print(
        f"soak: {options.rate:.0f} PUT/s for {options.duration:.0f} s across "
        f"{options.orders} orders, {options.workers} connections",
        flush=True,
    )
    tick = 0.01
    owed = 0.0
    deadline = started + options.duration
    next_progress = started + 10
    chooser = random.Random(20261129)
    while (now := time.monotonic()) < deadline:
        owed += options.rate * tick
        while owed >= 1:
            owed -= 1
            try:
                work.put_nowait(chooser.choice(orders))
            except queue.Full:
                shed += 1
        if now >= next_progress:
            next_progress += 10
            print(
                f"  {now - started:5.0f} s  sent {ledger.sent}  answers {ledger.by_status()}  "
                f"errors {ledger.errors}  shed {shed}",
                flush=True,
            )
        time.sleep(max(0.0, tick - (time.monotonic() - now)))
    for _ in workers:
        work.put(None)
    for thread in workers:
        thread.join()
    send_seconds = time.monotonic() - started
    at_end_of_sending = memory.sample(started, pids)

    print(f"soak: sending done after {send_seconds:.0f} s; waiting for the processor", flush=True)
    client = firestore_client_for(stack.config)
    expected = ledger.newest_accepted()
    settle_started = time.monotonic()
    while True:
        # The emulator's push ramps up slowly (about 10 to 60 a second in the first
        # minute), so the processor may still be working through a backlog here.
        wrong = wait_until_stored(client, expected, timeout=min(10.0, options.settle))
        settle_seconds = time.monotonic() - settle_started
        print(
            f"  {settle_seconds:5.0f} s  orders not yet at their newest version: {len(wrong)}",
            flush=True,
        )
        if not wrong or settle_seconds >= options.settle:
            break
    stop_sampling.set()
    sampler.join()
    final = memory.sample(started, pids)

    accepted = ledger.accepted()
    lost_orders = set(wrong)
    # An accepted version is stored when its order holds it or a newer accepted one.
    lost_versions = [
        entry
        for entry in accepted
        if (entry.business_unit_id, entry.customer_order_id) in lost_orders
    ]
    start_memory = memory.samples[0][1]
    warm = memory.at(options.warm_up)
    growth = {
        name: final[name] - warm[name]
        for name in FUNCTIONS
        if final[name] - warm[name]
        > max(MAX_GROWTH_FLOOR_MB * 2**20, warm[name] * MAX_GROWTH_AFTER_WARM_UP)
    }
    return {
        "rate_target_per_s": options.rate,
        "rate_achieved_per_s": round(ledger.sent / send_seconds, 1),
        "duration_s": round(send_seconds, 1),
        "orders": options.orders,
        "orders_touched": len(expected),
        "sent": ledger.sent,
        "shed_by_pacer": shed,
        "accepted": len(accepted),
        "answers": {str(status): count for status, count in sorted(ledger.by_status().items())},
        "errors": ledger.errors,
        "stored_orders": len(expected) - len(wrong),
        "stored_versions": len(accepted) - len(lost_versions),
        "lost_orders": len(wrong),
        "lost_versions": len(lost_versions),
        "lost_examples": dict([(f"{k[0]}/{k[1]}", v) for k, v in wrong.items()][:5]),
        "settle_s": round(settle_seconds, 1),
        "latency_ms": {
            "p50": round(_percentile(latencies, 0.50) * 1000, 1),
            "p99": round(_percentile(latencies, 0.99) * 1000, 1),
            "max": round(max(latencies, default=0.0) * 1000, 1),
        },
        "rss_mb": {
            name: {
                "start": _mb(start_memory[name]),
                f"after_{options.warm_up:.0f}s": _mb(warm[name]),
                "end_of_sending": _mb(at_end_of_sending[name]),
                "end": _mb(final[name]),
                "peak": _mb(memory.peak()[name]),
            }
            for name in pids
        },
        "functions_growing_after_warm_up": {name: _mb(value) for name, value in growth.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak.run", description=__doc__)
    parser.add_argument("--rate", type=float, default=300, help="PUTs per second (300)")
    parser.add_argument("--duration", type=float, default=180, help="seconds of sending (180)")
    parser.add_argument("--orders", type=int, default=5000, help="distinct orders (5000)")
    parser.add_argument("--workers", type=int, default=48, help="client connections (48)")
    parser.add_argument("--settle", type=float, default=600, help="max wait for storage (600)")
    parser.add_argument("--warm-up", type=float, default=30, help="seconds before memory counts")
    parser.add_argument(
        "--report",
        type=Path,
        default=REPO_ROOT / ".devstack" / "soak" / "report.json",
        help="where the JSON report goes",
    )
    args = parser.parse_args(argv)
    if not (0 < args.rate <= 2000 and 0 < args.duration <= 1800 and 0 < args.orders <= 100_000):
        parser.error("keep it bounded: rate <= 2000/s, duration <= 1800 s, orders <= 100000")
    options = Options(
        args.rate, args.duration, args.orders, args.workers, args.settle, args.warm_up, args.report
    )
    options.report.parent.mkdir(parents=True, exist_ok=True)
    with own_stack(
        options.report.parent / "logs",
        project_id="demo-soak-customer-orders",
        function_env={"LOG_LEVEL": "WARNING"},
    ) as stack:
        result = run(stack, options)
    text = json.dumps(result, indent=2)
    options.report.write_text(text + "\n")
    print(text)
    print(f"soak: report written to {options.report}")
    failed = result["lost_versions"] > 0 or result["functions_growing_after_warm_up"]
    if failed:
        print("soak: FAILED (orders lost or memory growing)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
