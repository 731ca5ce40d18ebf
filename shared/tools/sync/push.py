"""``orders-sync push``: send every record of an export once, resumably.

The reader (the calling thread) skips what the checkpoint says is done and
hands the rest to :class:`~shared.tools.sync.keyed.KeyOrderedWorkers`; each worker
records ``sending`` before its PUT and the outcome after it, so a killed run
leaves at most ``concurrency`` records in doubt. A rerun settles those last
(:mod:`shared.tools.sync.in_doubt`), reading the order back before sending it again.

A versioned record is first compared with what the store holds (a HEAD): when the
store has its version or a higher one, it is not sent, and counted as ``newer``.
That is what lets a migration run beside live traffic and say what it left alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from shared.tools.errors import ServiceRefused, SyncError
from shared.tools.sync.checkpoint import Checkpoint, LineState
from shared.tools.sync.client import Accepted, Failed, NotFound, OrdersClient, Rejected, Stored
from shared.tools.sync.in_doubt import InDoubtResolver
from shared.tools.sync.keyed import KeyOrderedWorkers
from shared.tools.sync.records import BadRecord, OrderRecord, Record
from shared.tools.sync.rejects import FAILED, REJECTED, RejectsFile
from shared.tools.sync.versions import stored_is_current

# Answers to a well-formed PUT that mean the URL or the credentials are wrong:
# every other order would get the same, so the run stops instead.
REFUSALS = frozenset({401, 403, 404, 405})


class Progress(Protocol):
    def update(self, n: float | None = 1) -> bool | None: ...

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None: ...


@dataclass
class PushSummary:
    records: int
    bad: int = 0
    # Accepted by an earlier run of the same command.
    skipped: int = 0
    # A later line of the same order was accepted already.
    superseded: int = 0
    # In doubt after a killed run, and found stored as sent.
    recovered: int = 0
    # Not sent: the store holds the record's version of the order, or a higher one.
    newer: int = 0
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    failed: int = 0
    stopped: bool = False
    refusal: str | None = None
    elapsed_seconds: float = 0.0

    @property
    def finished(self) -> int:
        return (
            self.bad + self.skipped + self.superseded + self.recovered + self.newer
            + self.accepted + self.rejected + self.failed
        )  # fmt: skip

    @property
    def left(self) -> int:
        """Records this run did not get to (stopped): the next run sends them."""
        return self.records - self.finished

    @property
    def ok(self) -> bool:
        return self.bad + self.rejected + self.failed + self.left == 0 and self.refusal is None


class Push:
    def __init__(
        self,
        client: OrdersClient,
        checkpoint: Checkpoint,
        rejects: RejectsFile,
        progress: Progress,
        *,
        stop: threading.Event,
        record_count: int,
        resolver: InDoubtResolver | None = None,
        check_versions: bool = True,
    ) -> None:
        self._client = client
        self._checkpoint = checkpoint
        self._rejects = rejects
        self._progress = progress
        self._stop = stop
        self._summary = PushSummary(records=record_count)
        self._lock = threading.Lock()
        self._fatal: SyncError | None = None
        self._resolver = resolver or InDoubtResolver(client, stop=stop)
        self._check_versions = check_versions
        # Taken before this run accepts anything: the killed run's last acceptance was
        # published just before its in-doubt records, the tightest watermark there is.
        self._watermark = checkpoint.watermark()

    def run(self, records: Iterable[Record]) -> PushSummary:
        """Send what is not done; raises the :class:`SyncError` that stopped the run, if any."""
        started = time.monotonic()
        summary = self._summary
        try:
            in_doubt = self._send_new(records)
            if in_doubt and not self._stop.is_set():
                self._settle(in_doubt)
        finally:
            summary.elapsed_seconds = time.monotonic() - started
        if self._fatal is not None:
            summary.refusal = str(self._fatal)
            if not isinstance(self._fatal, ServiceRefused):
                raise self._fatal
        summary.stopped = self._stop.is_set()
        return summary

    def _send_new(self, records: Iterable[Record]) -> list[OrderRecord]:
        """Send every record not done yet, except those in doubt, which it returns."""
        in_doubt: list[OrderRecord] = []
        with self._workers() as workers:
            for record in records:
                if self._stop.is_set():
                    break
                if isinstance(record, BadRecord):
                    self._reject_bad(record)
                    continue
                state = self._checkpoint.state(record)
                if state is LineState.ACCEPTED:
                    self._count("skipped", advance=False)
                elif self._checkpoint.superseded(record):
                    self._count("superseded")
                elif state is LineState.IN_DOUBT:
                    # Settled at the end, when the backlog they may be in has drained;
                    # a later line of the same order sent meanwhile supersedes them.
                    in_doubt.append(record)
                else:
                    workers.submit(record.order_key, record)
        return in_doubt

    def _settle(self, in_doubt: list[OrderRecord]) -> None:
        current = [record for record in in_doubt if not self._checkpoint.superseded(record)]
        for _ in range(len(in_doubt) - len(current)):
            self._count("superseded")
        settled = self._resolver.settle(current, self._watermark)
        for record in settled.stored:
            self._checkpoint.found_stored(record)
            self._count("recovered")
        for record in settled.outdated:
            self._checkpoint.found_newer(record)
            self._count("newer")
        if self._stop.is_set():
            return
        with self._workers() as workers:
            for record in settled.to_send:
                workers.submit(record.order_key, record)

    def _workers(self) -> KeyOrderedWorkers[OrderRecord]:
        return KeyOrderedWorkers(self._send, concurrency=self._client.concurrency, stop=self._stop)

    def _send(self, record: OrderRecord) -> None:
        try:
            self._send_once(record)
        except SyncError as exc:
            with self._lock:
                self._fatal = self._fatal or exc
            self._stop.set()

    def _send_once(self, record: OrderRecord) -> None:
        if (
            self._check_versions
            and record.source_version is not None
            and not self._store_is_behind(record, record.source_version)
        ):
            return
        checkpoint = self._checkpoint
        checkpoint.sending(record)
        self._count("sent", advance=False)
        outcome = self._client.put_order(
            record.business_unit_id,
            record.customer_order,
            source_version=record.source_version,
            stop=self._stop,
        )
        if isinstance(outcome, Accepted):
            checkpoint.accepted(
                record, message_id=outcome.message_id, received_at=outcome.received_at
            )
            self._count("accepted")
        elif isinstance(outcome, Rejected) and outcome.status in REFUSALS:
            checkpoint.failed(record, reason=f"HTTP {outcome.status}")
            detail = outcome.problem.get("detail") or outcome.problem.get("title") or ""
            raise ServiceRefused(
                f"{self._client.base_url} refused {record.where} with HTTP {outcome.status} "
                f"({detail}); check --url and --audience"
            )
        elif isinstance(outcome, Rejected):
            checkpoint.rejected(record, status=outcome.status)
            self._rejects.add(
                source=record.source, line=record.line, outcome=REJECTED,
                status=outcome.status, problem=outcome.problem, raw=record.raw,
            )  # fmt: skip
            self._count("rejected")
        else:
            self._give_up(record, outcome)

    def _store_is_behind(self, record: OrderRecord, version: int) -> bool:
        """Whether to PUT the record; when not, this has accounted for it (newer, failed, stopped).

        Only a shortcut: a live update storing a higher version between this look
        and the PUT is still safe, since the processor never stores a lower version
        over a higher one. The summary then counts the record as accepted, not newer.
        """
        answer = self._client.head_order(
            record.business_unit_id, record.customer_order_id, stop=self._stop
        )
        if isinstance(answer, NotFound):
            return True
        if isinstance(answer, Stored):
            if not stored_is_current(answer.source_version, version):
                return True
            self._checkpoint.found_newer(record)
            self._count("newer")
            return False
        if isinstance(answer, Rejected) and answer.status in REFUSALS:
            self._checkpoint.failed(record, reason=f"HTTP {answer.status}")
            raise ServiceRefused(
                f"{self._client.base_url} refused HEAD of {record.where} with HTTP "
                f"{answer.status}; check --url and --audience"
            )
        if isinstance(answer, Rejected):
            reason = f"HEAD answered HTTP {answer.status}: {answer.problem.get('detail', '')}"
        elif answer.stopped:
            return False
        else:
            reason = answer.reason
        # Nothing was sent: the next run tries this record again from the start.
        self._checkpoint.failed(record, reason=reason)
        self._not_delivered(record, reason)
        return False

    def _give_up(self, record: OrderRecord, outcome: Failed) -> None:
        # A request that may have arrived leaves the record in doubt ("sending"),
        # so the next run reads the order back before sending it again.
        if not outcome.may_have_been_accepted:
            self._checkpoint.failed(record, reason=outcome.reason)
        if not outcome.stopped:
            self._not_delivered(record, outcome.reason)

    def _not_delivered(self, record: OrderRecord, reason: str) -> None:
        self._rejects.add(
            source=record.source, line=record.line, outcome=FAILED, status=None,
            problem={"title": "Not delivered", "detail": reason},
            raw=record.raw,
        )  # fmt: skip
        self._count("failed")

    def _reject_bad(self, record: BadRecord) -> None:
        self._rejects.add(
            source=record.source, line=record.line, outcome=REJECTED,
            status=record.problem.get("status"), problem=record.problem, raw=record.raw,
        )  # fmt: skip
        self._count("bad")

    def _count(self, counter: str, *, advance: bool = True) -> None:
        with self._lock:
            summary = self._summary
            setattr(summary, counter, getattr(summary, counter) + 1)
            if advance:
                self._progress.update(1)
                self._progress.set_postfix_str(
                    f"accepted={summary.accepted} rejected={summary.bad + summary.rejected} "
                    f"failed={summary.failed}",
                    refresh=False,
                )
