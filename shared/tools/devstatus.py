"""``make dev``'s status line: the dashboard's picture, counted from the functions' own lines.

Locally the functions log text, each line ending in the same fields Cloud Logging indexes
on Cloud Run (``event=put outcome=accepted ...``, ``event=process decision=stored ...``,
shared/log.py). :class:`StatusBoard` echoes every line unchanged, counts those fields, and
every few seconds, when a count changed, prints one line::

    status: PUT 3 accepted, 1 refused, 0 503, 0 500 | orders 2 stored, 1 skipped, 0 failed \
| backlog 0 | events 2 published, 2 delivered \
| store updates 1 ready, 1 pickup, 0 repeated, 0 refused | conflicts 1

``failed`` counts failed deliveries (each redelivery again), ``skipped`` the deliveries
acknowledged without a write (duplicates, among them each store update's own message once
the pos function wrote it, stale versions, conflicts, superseded and not-recorded store
updates); events are those the processor published and those the local webhook receiver
accepted (a repeat counts again); store updates those the pos function recorded, by kind
(``event=ready``, ``event=pickup``), answered again for the same updateId (repeated), and
refused (409, 404, 403, bad input); conflicts the OMS versions refused for cancelling what
was handed out. The Pub/Sub emulator reports no backlog, so the backlog is the accepted
PUTs and recorded store updates (each published a message; a repeat publishes none) not
yet stored or skipped; messages published around them (``orders-dlq replay``, a test's own
publish) make it an estimate, never below zero.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import BinaryIO

from shared.log import LOGGER_NAME

_FIELD = re.compile(r"(?<!\S)(event|outcome|decision)=(\S+)")
# The processor's decisions (shared/processor.py DECISIONS and NOT_RECORDED; a test holds
# these to them): acknowledged without a write, and failed (nacked).
SKIPPED_DECISIONS = frozenset({"duplicate", "stale", "conflict", "superseded", "not-recorded"})
FAILED_DECISIONS = frozenset({"refused", "undecodable", "unavailable"})
# The pos function's store updates, by the event of their lines.
_STORE_UPDATES = {"ready": "ready", "pickup": "picked_up"}


@dataclass(frozen=True)
class Status:
    accepted: int = 0
    refused: int = 0
    unavailable: int = 0
    failed_puts: int = 0
    stored: int = 0
    skipped: int = 0
    failed_deliveries: int = 0
    published: int = 0
    delivered: int = 0
    ready: int = 0
    picked_up: int = 0
    repeated_updates: int = 0
    refused_updates: int = 0
    conflicts: int = 0

    @property
    def backlog(self) -> int:
        published = self.accepted + self.ready + self.picked_up
        return max(0, published - self.stored - self.skipped)

    def line(self) -> str:
        return (
            f"status: PUT {self.accepted} accepted, {self.refused} refused, "
            f"{self.unavailable} 503, {self.failed_puts} 500 | orders {self.stored} stored, "
            f"{self.skipped} skipped, {self.failed_deliveries} failed | backlog {self.backlog} "
            f"| events {self.published} published, {self.delivered} delivered "
            f"| store updates {self.ready} ready, {self.picked_up} pickup, "
            f"{self.repeated_updates} repeated, {self.refused_updates} refused "
            f"| conflicts {self.conflicts}"
        )


def fields(line: str) -> dict[str, str]:
    """The event fields of one of the functions' lines; empty for any other line.

    The fields come last on a line, after the message, so the last of each name wins.
    """
    if f" {LOGGER_NAME}." not in line:
        return {}
    return dict(_FIELD.findall(line))


class StatusCounter:
    """Counts what the lines fed to it say; thread-safe (one reader thread per function)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def feed(self, line: str) -> None:
        found = fields(line)
        event = found.get("event")
        if event == "put" and "outcome" in found:
            key = {"failed": "failed_puts"}.get(found["outcome"], found["outcome"])
        elif event in _STORE_UPDATES and "outcome" in found:
            outcome = found["outcome"]
            if outcome == "recorded":
                key = _STORE_UPDATES[event]
            elif outcome in ("repeated", "refused"):
                key = f"{outcome}_updates"
            else:
                return
        elif event == "process" and "decision" in found:
            decision = found["decision"]
            if decision == "conflict":
                with self._lock:
                    self._counts["conflicts"] += 1
            key = (
                "skipped"
                if decision in SKIPPED_DECISIONS
                else "failed_deliveries"
                if decision in FAILED_DECISIONS
                else decision
            )
        elif event == "publish":
            key = "published"
        elif event == "webhook" and found.get("outcome") == "delivered":
            key = "delivered"
        else:
            return
        with self._lock:
            self._counts[key] += 1

    def status(self) -> Status:
        with self._lock:
            counts = dict(self._counts)
        known = Status.__dataclass_fields__
        return Status(**{key: value for key, value in counts.items() if key in known})


class StatusBoard:
    """Echoes the functions' output to ``out`` and prints the status line as it changes."""

    def __init__(self, out: BinaryIO, every_seconds: float) -> None:
        self._out = out
        self._every = every_seconds
        self._write_lock = threading.Lock()
        self._counter = StatusCounter()
        self._printed = Status()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="devstack-status", daemon=True)

    def function_line(self, function: str, raw: bytes) -> None:
        """One line a function wrote, as written (``LocalStack``'s ``on_function_line``)."""
        self._write(raw)
        self._counter.feed(raw.decode("utf-8", errors="replace"))

    def print_if_changed(self) -> bool:
        status = self._counter.status()
        if status == self._printed:
            return False
        self._printed = status
        self._write(status.line().encode() + b"\n")
        return True

    def start(self) -> None:
        if self._every > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._every + 1)

    def _run(self) -> None:
        while not self._stopped.wait(self._every):
            self.print_if_changed()

    def _write(self, data: bytes) -> None:
        # A closed terminal must not stop the functions' output being drained.
        with self._write_lock, contextlib.suppress(OSError, ValueError):
            self._out.write(data)
            self._out.flush()
