from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.domain.conflict import Decision, decide

T0 = datetime(2026, 11, 29, 12, 0, 0, 123456, tzinfo=UTC)


def test_nothing_stored_is_written() -> None:
    assert decide(T0, None) is Decision.WRITE


def test_strictly_newer_is_written() -> None:
    assert decide(T0 + timedelta(microseconds=1), T0) is Decision.WRITE


def test_equal_is_a_duplicate() -> None:
    assert decide(T0, T0) is Decision.SKIP_DUPLICATE
    assert not Decision.SKIP_DUPLICATE.writes


def test_older_is_stale() -> None:
    assert decide(T0 - timedelta(microseconds=1), T0) is Decision.SKIP_STALE
    assert not Decision.SKIP_STALE.writes


def test_the_same_instant_in_another_offset_is_equal() -> None:
    other_zone = T0.astimezone(datetime.now().astimezone().tzinfo)
    assert decide(other_zone, T0) is Decision.SKIP_DUPLICATE
