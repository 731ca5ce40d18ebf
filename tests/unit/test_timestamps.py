from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.domain.timestamps import ReceivedAtClock, format_timestamp, parse_timestamp


def test_format_is_rfc3339_utc_with_microseconds() -> None:
    moment = datetime(2026, 11, 29, 23, 0, 0, 5, tzinfo=timezone(timedelta(hours=1)))
    assert format_timestamp(moment) == "2026-11-29T22:00:00.000005Z"


def test_parse_round_trips_and_normalises_to_utc() -> None:
    text = "2026-11-29T22:00:00.000005Z"
    assert format_timestamp(parse_timestamp(text)) == text
    assert parse_timestamp("2026-11-29T23:00:00.000005+01:00") == parse_timestamp(text)


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="offset"):
        parse_timestamp("2026-11-29T22:00:00")
    with pytest.raises(ValueError, match="timezone"):
        format_timestamp(datetime(2026, 1, 1))


def test_the_clock_never_repeats_an_instant_across_threads() -> None:
    clock = ReceivedAtClock()
    stamps: list[datetime] = []
    lock = threading.Lock()

    def stamp() -> None:
        taken = [clock.now() for _ in range(2000)]
        with lock:
            stamps.extend(taken)

    threads = [threading.Thread(target=stamp) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(stamps)) == len(stamps) == 16000
    assert all(stamp.tzinfo is UTC for stamp in stamps)
