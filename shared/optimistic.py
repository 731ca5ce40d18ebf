"""Optimistic writes: read, decide, write on the condition that nothing changed; again if it did.

No lock is held between the read and the write, so a writer that dies between
them leaves nothing behind (a transaction's locks stayed until Firestore's 60 s
idle expiry, docs/platform.md). Writers of one document within an instance take
turns, since they would only make each other lose the race and read again; a race
lost to another instance is run again after a jittered exponential backoff, within
a deadline well inside the processor's timeout, so that a message that keeps
losing is nacked and redelivered.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from google.api_core import exceptions
from google.api_core.retry import Retry

from shared.errors import LostRace, StoreUnavailable, one_line

RACE_INITIAL_DELAY_SECONDS = 0.01
RACE_MAX_DELAY_SECONDS = 1.0
RACE_DEADLINE_SECONDS = 30.0

T = TypeVar("T")


class KeyedLocks:
    """One lock per key, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextlib.contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


def _lost(exc: BaseException) -> bool:
    return isinstance(exc, LostRace)


class OptimisticWriter:
    """Runs an attempt (read, decide, conditional write) until it does not lose a race."""

    def __init__(self, *, deadline_seconds: float = RACE_DEADLINE_SECONDS) -> None:
        self._locks = KeyedLocks()
        self._retry = Retry(
            predicate=_lost,
            initial=RACE_INITIAL_DELAY_SECONDS,
            maximum=RACE_MAX_DELAY_SECONDS,
            multiplier=2.0,
            timeout=deadline_seconds,
        )

    def run(self, key: str, attempt: Callable[[], T]) -> T:
        """What ``attempt`` returns once it ran without :class:`LostRace`.

        :class:`StoreUnavailable` when it kept losing until the deadline.
        """
        try:
            with self._locks.hold(key):
                result: T = self._retry(attempt)()
        except exceptions.RetryError as exc:
            cause = f": {one_line(exc.cause)}" if exc.cause is not None else ""
            raise StoreUnavailable(f"kept losing the race for the document{cause}") from exc
        return result
