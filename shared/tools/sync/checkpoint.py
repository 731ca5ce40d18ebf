"""The push checkpoint: an append-only, fsync'd log of what happened to each record.

One JSON object per line. The first names the inputs (their fingerprint) and the
target URL; a checkpoint is only ever resumed for exactly those. Then, per record
(``seq`` in input order, with its source, line, sha256 and ids for readers):

``sending``   written before the first request: with no outcome after it, the run
              died while the order was in flight, so it may or may not be stored.
``accepted``  the service answered 202 (or, after a crash, the stored order
              was found equal to the record; or the store holds the record's
              source version or a higher one, with ``how`` saying so): never
              sent again.
``rejected``  a final 4xx; sent again by the next run (the service may differ).
``failed``    given up without any request that could have been accepted.
``restart``   (``--resend``) everything above it is forgotten.

What "done" means: a record (a line), not an order. When one order appears on
several lines, each line is sent, in input order; a line is skipped when a
*later* line of the same order was accepted, because sending it would replace
newer content with older.
"""

from __future__ import annotations

import enum
import fcntl
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from shared.tools.errors import UsageError
from shared.tools.sync.in_doubt import Watermark
from shared.tools.sync.records import OrderRecord

FORMAT = "orders-sync-checkpoint/1"


class LineState(enum.Enum):
    NEW = "new"
    ACCEPTED = "accepted"
    # The run that sent it died before the answer: the order may be stored.
    IN_DOUBT = "in-doubt"
    REJECTED = "rejected"
    FAILED = "failed"


_EVENT_STATES = {
    "sending": LineState.IN_DOUBT,
    "accepted": LineState.ACCEPTED,
    "rejected": LineState.REJECTED,
    "failed": LineState.FAILED,
}


@dataclass(frozen=True, slots=True)
class CheckpointHeader:
    inputs: str
    url: str


class Checkpoint:
    """Open with :meth:`open`; thread-safe; every entry is on disk before the call returns."""

    def __init__(self, path: Path, handle: IO[bytes], header: CheckpointHeader) -> None:
        self.path = path
        self.header = header
        self._handle = handle
        self._lock = threading.Lock()
        self._states: dict[int, LineState] = {}
        # Per order, the highest seq accepted: lines before it are superseded.
        self._latest_accepted: dict[str, int] = {}
        self._watermark: Watermark | None = None

    @classmethod
    def open(cls, path: Path, *, inputs: str, url: str, restart: bool = False) -> Checkpoint:
        """Create ``path``, or load it for a rerun of the same inputs against the same URL.

        Raises :class:`UsageError` when it belongs to other inputs or another URL,
        is not a checkpoint, or another run holds it.
        """
        header = CheckpointHeader(inputs=inputs, url=url)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+b")
        try:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UsageError(f"{path} is in use by another orders-sync run") from None
            checkpoint = cls(path, handle, header)
            checkpoint._load()
            if restart and checkpoint._states:
                checkpoint._append({"event": "restart", "at": _now()})
        except BaseException:
            handle.close()
            raise
        return checkpoint

    def close(self) -> None:
        with self._lock:
            self._handle.close()

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def accepted_count(self) -> int:
        with self._lock:
            return sum(state is LineState.ACCEPTED for state in self._states.values())

    def state(self, record: OrderRecord) -> LineState:
        with self._lock:
            return self._states.get(record.seq, LineState.NEW)

    def superseded(self, record: OrderRecord) -> bool:
        """Whether a later line of the same order was already accepted."""
        with self._lock:
            return self._latest_accepted.get(record.order_key, -1) > record.seq

    def sending(self, record: OrderRecord) -> None:
        self._record("sending", record)

    def accepted(self, record: OrderRecord, *, message_id: str, received_at: str) -> None:
        self._record("accepted", record, messageId=message_id, receivedAt=received_at)

    def found_stored(self, record: OrderRecord) -> None:
        """An in-doubt record whose order was read back with the record's content."""
        self._record("accepted", record, how="found stored after an interrupted run")

    def found_newer(self, record: OrderRecord) -> None:
        """A record not sent because the store holds its version of the order or a higher one."""
        self._record("accepted", record, how="the store holds this version or a newer one")

    def watermark(self) -> Watermark | None:
        """The order accepted last with a known ``receivedAt``.

        See :mod:`shared.tools.sync.in_doubt`.
        """
        with self._lock:
            return self._watermark

    def rejected(self, record: OrderRecord, *, status: int) -> None:
        self._record("rejected", record, status=status)

    def failed(self, record: OrderRecord, *, reason: str) -> None:
        self._record("failed", record, reason=reason)

    def _record(self, event: str, record: OrderRecord, **details: Any) -> None:
        entry = {
            "event": event,
            "seq": record.seq,
            "source": record.source,
            "line": record.line,
            "sha256": record.digest,
            "businessUnitId": record.business_unit_id,
            "customerOrderId": record.customer_order_id,
            **details,
            "at": _now(),
        }
        self._append(entry)

    def _append(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._write(entry)
            self._apply(entry)

    def _write(self, entry: dict[str, Any]) -> None:
        # One write of a whole line, flushed to the kernel (survives a killed process)
        # and fsync'd (survives a crashed machine) before the caller goes on.
        self._handle.write(json.dumps(entry, separators=(",", ":")).encode("utf-8") + b"\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def _apply(self, entry: dict[str, Any]) -> None:
        event = entry.get("event")
        if event == "restart":
            self._states.clear()
            self._latest_accepted.clear()
            return
        state = _EVENT_STATES.get(str(event))
        seq = entry.get("seq")
        if state is None or not isinstance(seq, int):
            raise ValueError(f"unknown entry {entry!r}")
        if self._states.get(seq) is LineState.ACCEPTED:
            return
        self._states[seq] = state
        if state is LineState.ACCEPTED:
            key = f"{entry['businessUnitId']}/{entry['customerOrderId']}"
            self._latest_accepted[key] = max(seq, self._latest_accepted.get(key, -1))
            if entry.get("receivedAt"):
                self._watermark = Watermark(
                    entry["businessUnitId"], entry["customerOrderId"], entry["receivedAt"]
                )

    def _load(self) -> None:
        self._handle.seek(0)
        content = self._handle.read()
        if not content:
            self._write(
                {
                    "format": FORMAT,
                    "inputs": self.header.inputs,
                    "url": self.header.url,
                    "created": _now(),
                }
            )
            return
        lines = content.split(b"\n")
        complete, torn = lines[:-1], lines[-1]
        if torn:
            # A line cut short by a crash in mid-write: it recorded nothing reliably.
            self._handle.truncate(len(content) - len(torn))
        if not complete:
            raise UsageError(f"{self.path} is not an orders-sync checkpoint")
        self._check_header(complete[0])
        for number, raw in enumerate(complete[1:], 2):
            try:
                self._apply(json.loads(raw))
            except (ValueError, KeyError, TypeError, AttributeError):
                raise UsageError(
                    f"{self.path}:{number} is not a checkpoint entry; "
                    "repair or remove the line, or use another --checkpoint"
                ) from None

    def _check_header(self, raw: bytes) -> None:
        try:
            header = json.loads(raw)
        except ValueError:
            header = None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise UsageError(f"{self.path} is not an orders-sync checkpoint")
        if header.get("url") != self.header.url:
            raise UsageError(
                f"{self.path} records a push to {header.get('url')}, not {self.header.url}; "
                "use another --checkpoint"
            )
        if header.get("inputs") != self.header.inputs:
            raise UsageError(
                f"{self.path} belongs to other input (the files, or --version-pointer, changed "
                "since it was written); use another --checkpoint, or remove it to send "
                "everything again"
            )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def default_checkpoint_path(state_dir: Path, inputs: str, url: str) -> Path:
    """One checkpoint per (inputs, URL): the same command finds its own again."""
    name = hashlib.sha256(f"{inputs}\0{url}".encode()).hexdigest()[:16]
    return state_dir / f"push-{name}.checkpoint"
