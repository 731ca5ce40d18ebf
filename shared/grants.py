"""The grants the pos function holds in memory, each for a bounded time.

One Firestore read per identity, then the answer is kept for ``ttl_seconds``: a
change made with ``orders-stores`` (a revocation above all) takes effect within that
bound, on every instance, and never later. A grant older than the bound is never
used, not even when Firestore is unreachable: the request is answered 503 instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from shared.domain.access import Caller
from shared.domain.grants import no_grant
from shared.ports import GrantStore

# Enough for 2,000 stores with an identity each, several times over; the oldest entry
# goes first beyond it.
MAX_CACHED_IDENTITIES = 10_000


@dataclass(frozen=True, slots=True)
class _Entry:
    caller: Caller
    read_at: float


def is_fresh(read_at: float, now: float, ttl_seconds: float) -> bool:
    """Whether a grant read at ``read_at`` may still answer at ``now``."""
    return 0 <= now - read_at < ttl_seconds


class GrantCache:
    def __init__(
        self,
        grants: GrantStore,
        *,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_CACHED_IDENTITIES,
    ) -> None:
        self._grants = grants
        self._ttl = ttl_seconds
        self._clock = clock
        self._max = max_entries
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def caller(self, identity: str) -> Caller:
        """What ``identity`` holds now, as read at most ``ttl_seconds`` ago.

        :class:`StoreUnavailable` when it must be read and Firestore does not answer.
        """
        with self._lock:
            entry = self._entries.get(identity)
        if entry is not None and is_fresh(entry.read_at, self._clock(), self._ttl):
            return entry.caller
        # The clock is read before the store: the entry's age counts the read's own time.
        read_at = self._clock()
        grant = self._grants.read(identity)
        caller = no_grant(identity) if grant is None else grant.caller()
        with self._lock:
            self._entries.pop(identity, None)
            if len(self._entries) >= self._max:
                del self._entries[next(iter(self._entries))]
            self._entries[identity] = _Entry(caller, read_at)
        return caller
