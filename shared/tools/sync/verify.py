"""``orders-sync verify``: read every order of an export back and compare it.

The expected content of an order is its last record in the inputs (the one a
push leaves stored). Orders still on their way through Pub/Sub right after a
push are read again until ``settle_seconds`` after the start, so a verify run
straight after a push does not report them. An order stored at a higher source
version than its record's is ``newer``: changed since the export, not wrong.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from shared.domain.fulfillments import FULFILLMENTS_MEMBER
from shared.domain.messages import sha256_hex
from shared.tools.errors import ServiceRefused, SyncError
from shared.tools.sync.client import (
    Failed,
    Found,
    NotFound,
    OrdersClient,
    Rejected,
    order_bytes,
)
from shared.tools.sync.compare import first_difference, oms_members
from shared.tools.sync.keyed import KeyOrderedWorkers
from shared.tools.sync.push import REFUSALS, Progress
from shared.tools.sync.records import BadRecord, OrderRecord, Record
from shared.tools.sync.versions import stored_is_newer

POLL_SECONDS = 0.5

MATCHES = "matches"
MISSING = "missing"
DIFFERS = "differs"
UNREADABLE = "unreadable"
NEWER = "newer"


@dataclass(frozen=True, slots=True)
class Finding:
    """One order that is not stored as its last record says."""

    kind: str
    record: OrderRecord
    detail: str

    def describe(self) -> str:
        return f"{self.kind:<10} {self.record.order_key}  ({self.record.where}) {self.detail}"


@dataclass
class VerifySummary:
    orders: int = 0
    matches: int = 0
    missing: int = 0
    differs: int = 0
    unreadable: int = 0
    newer: int = 0
    bad: int = 0
    stopped: bool = False
    elapsed_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.missing + self.differs + self.unreadable + self.bad == 0 and not self.stopped


def last_records(records: Iterable[Record]) -> tuple[dict[str, int], int]:
    """Per order, the seq of its last record; and the number of bad records."""
    last: dict[str, int] = {}
    bad = 0
    for record in records:
        if isinstance(record, BadRecord):
            bad += 1
        else:
            last[record.order_key] = record.seq
    return last, bad


class Verify:
    def __init__(
        self,
        client: OrdersClient,
        progress: Progress,
        report: Callable[[Finding], None],
        *,
        stop: threading.Event,
        settle_seconds: float,
    ) -> None:
        self._client = client
        self._progress = progress
        self._report = report
        self._stop = stop
        self._settle_seconds = settle_seconds
        self._summary = VerifySummary()
        self._lock = threading.Lock()
        self._fatal: SyncError | None = None
        self._settle_until = 0.0

    def run(self, records: Iterable[Record], last: dict[str, int]) -> VerifySummary:
        started = time.monotonic()
        self._settle_until = started + self._settle_seconds
        summary = self._summary
        summary.orders = len(last)
        with KeyOrderedWorkers(
            self._check, concurrency=self._client.concurrency, stop=self._stop
        ) as workers:
            for record in _final_versions(records, last):
                if self._stop.is_set():
                    break
                workers.submit(record.order_key, record)
        summary.elapsed_seconds = time.monotonic() - started
        if self._fatal is not None:
            raise self._fatal
        summary.stopped = self._stop.is_set()
        return summary

    def _check(self, record: OrderRecord) -> None:
        try:
            kind, detail = self._compare(record)
        except SyncError as exc:
            with self._lock:
                self._fatal = self._fatal or exc
            self._stop.set()
            return
        if self._stop.is_set() and kind != MATCHES:
            return
        with self._lock:
            setattr(self._summary, kind, getattr(self._summary, kind) + 1)
            self._progress.update(1)
            if kind != MATCHES:
                self._report(Finding(kind, record, detail))

    def _compare(self, record: OrderRecord) -> tuple[str, str]:
        while True:
            outcome = self._client.get_order(
                record.business_unit_id, record.customer_order_id, stop=self._stop
            )
            if isinstance(outcome, Found):
                if stored_is_newer(outcome.source_version, record.source_version):
                    # Final: the service never goes back to a lower version.
                    return NEWER, (
                        f"stored at version {outcome.source_version}, "
                        f"the export's is {_shown(record.source_version)}"
                    )
                if outcome.body_sha256 == sha256_hex(order_bytes(record.customer_order)):
                    return MATCHES, ""
                # Other bytes, perhaps the same order: the OMS itself may have sent it. Its
                # members are compared; what a store recorded in it is the store's.
                sent_fulfillments = FULFILLMENTS_MEMBER in record.customer_order
                difference = first_difference(
                    oms_members(record.customer_order, sent_fulfillments=sent_fulfillments),
                    oms_members(outcome.customer_order, sent_fulfillments=sent_fulfillments),
                )
                if difference is None:
                    return MATCHES, ""
                result = (DIFFERS, f"first difference at {difference or '/'}")
            elif isinstance(outcome, NotFound):
                result = (MISSING, "")
            elif isinstance(outcome, Rejected) and outcome.status in REFUSALS:
                raise ServiceRefused(
                    f"{self._client.base_url} refused GET with HTTP {outcome.status}; "
                    "check --url and --audience"
                )
            elif isinstance(outcome, Rejected):
                return UNREADABLE, f"HTTP {outcome.status}: {outcome.problem.get('detail', '')}"
            else:
                assert isinstance(outcome, Failed)
                return UNREADABLE, outcome.reason
            if time.monotonic() >= self._settle_until or self._stop.wait(POLL_SECONDS):
                return result


def _shown(version: int | None) -> str:
    return "none" if version is None else str(version)


def _final_versions(records: Iterable[Record], last: dict[str, int]) -> Iterator[OrderRecord]:
    for record in records:
        if isinstance(record, OrderRecord) and last.get(record.order_key) == record.seq:
            yield record
