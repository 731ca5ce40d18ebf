"""A fixed set of worker threads that keeps the items of one key in order."""

from __future__ import annotations

import queue
import threading
import zlib
from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar

from shared.tools.errors import WorkerCrashed

T = TypeVar("T")

_POLL_SECONDS = 0.1


class _Done:
    pass


_DONE = _Done()


class KeyOrderedWorkers(Generic[T]):
    """Runs ``handle(item)`` on ``concurrency`` threads; one key's items never overlap.

    Each key belongs to one thread (by a stable hash), so two versions of one
    order are sent one after the other, in the order they were submitted: the
    service keeps the last one it receives. Queues are short, so a reader
    feeding :meth:`submit` holds only a few items in memory.

    Setting ``stop`` makes the threads finish the item in hand and drop the rest.
    """

    def __init__(
        self,
        handle: Callable[[T], None],
        *,
        concurrency: int,
        stop: threading.Event,
        queue_depth: int = 4,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._handle = handle
        self._stop = stop
        self._queues: list[queue.Queue[T | _Done]] = [
            queue.Queue(maxsize=queue_depth) for _ in range(concurrency)
        ]
        # Daemons: a second Ctrl-C must be able to end the process without them.
        self._threads = [
            threading.Thread(target=self._work, args=(q,), name=f"sync-worker-{i}", daemon=True)
            for i, q in enumerate(self._queues)
        ]
        self._error: BaseException | None = None
        self._error_lock = threading.Lock()

    def __enter__(self) -> KeyOrderedWorkers[T]:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            self._stop.set()
        self.close()

    def submit(self, key: str, item: T) -> bool:
        """Queue ``item`` behind the earlier items of ``key``; ``False`` once stopped."""
        target = self._queues[zlib.crc32(key.encode("utf-8")) % len(self._queues)]
        while not self._stop.is_set():
            try:
                target.put(item, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False

    def close(self) -> None:
        """Wait for every queued item (or, once stopped, the items in hand)."""
        for target in self._queues:
            target.put(_DONE)
        for thread in self._threads:
            while thread.is_alive():
                thread.join(_POLL_SECONDS)
        if self._error is not None:
            raise WorkerCrashed(f"a worker failed: {self._error!r}") from self._error

    def _work(self, source: queue.Queue[T | _Done]) -> None:
        while True:
            item = source.get()
            if isinstance(item, _Done):
                return
            if self._stop.is_set():
                continue
            try:
                self._handle(item)
            except BaseException as exc:  # noqa: BLE001
                # A bug in one item must stop the run visibly, not leave a thread dead.
                with self._error_lock:
                    if self._error is None:
                        self._error = exc
                self._stop.set()
