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


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59.999999-00:01"])
def test_a_time_whose_utc_is_outside_years_1_to_9999_is_a_value_error(text: str) -> None:
    # Issue 29: the OverflowError of the conversion escaped as a 500 of the search.
    with pytest.raises(ValueError, match="before year 1 or after 9999"):
        parse_timestamp(text)


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("0001-01-01T00:00:00-01:00", datetime(1, 1, 1, 1, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", datetime.min.replace(tzinfo=UTC)),
        (
            "9999-12-31T23:59:59.999999+01:00",
            datetime(9999, 12, 31, 22, 59, 59, 999999, tzinfo=UTC),
        ),
        ("9999-12-31T23:59:59.999999Z", datetime.max.replace(tzinfo=UTC)),
    ],
)
def test_the_first_and_last_instants_in_utc_parse(text: str, utc: datetime) -> None:
    assert parse_timestamp(text) == utc


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
