"""The ``receivedAt`` clock and its RFC 3339 wire format."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

_ONE_MICROSECOND = timedelta(microseconds=1)


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds, e.g. ``2026-11-29T22:26:59.123456Z``."""
    if moment.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware")
    # isoformat is C code, strftime a format interpreter: this runs on every PUT.
    return moment.astimezone(UTC).isoformat(timespec="microseconds").removesuffix("+00:00") + "Z"


def parse_timestamp(text: str) -> datetime:
    """Parse an RFC 3339 timestamp with an explicit offset; the result is in UTC.

    :class:`ValueError` for anything else, including a time whose UTC falls outside
    years 1 to 9999 (``0001-01-01T00:00:00+01:00``), which a datetime cannot hold.
    """
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no UTC offset")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"timestamp {text!r} is before year 1 or after 9999 in UTC") from None


class ReceivedAtClock:
    """Stamps arrivals with strictly increasing UTC times within one instance.

    Two threads of one instance must never stamp two versions of an order with
    the same microsecond: the processor would take the second for a duplicate
    and drop it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = datetime.min.replace(tzinfo=UTC)

    def now(self) -> datetime:
        with self._lock:
            moment = datetime.now(UTC)
            if moment <= self._last:
                moment = self._last + _ONE_MICROSECOND
            self._last = moment
            return moment
