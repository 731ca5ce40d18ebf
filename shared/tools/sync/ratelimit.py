"""A request rate limit shared by every sending thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Spaces the starts of requests ``1 / per_second`` apart, across all threads.

    No burst allowance: a migration should load the service evenly, and the
    concurrency limit already bounds how many requests are open at once.
    """

    def __init__(self, per_second: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if not per_second > 0:
            raise ValueError("per_second must be positive")
        self._interval = 1.0 / per_second
        self._clock = clock
        self._lock = threading.Lock()
        self._next_start = clock()

    def acquire(self, stop: threading.Event) -> bool:
        """Wait for the next free slot; ``False`` when ``stop`` was set while waiting."""
        with self._lock:
            now = self._clock()
            start = max(self._next_start, now)
            self._next_start = start + self._interval
        wait = start - now
        if wait <= 0:
            return not stop.is_set()
        return not stop.wait(wait)
