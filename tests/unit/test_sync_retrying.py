"""Reading Retry-After, and the limits of a retry policy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.tools.sync.retrying import RetryPolicy, is_retryable_status, retry_after_seconds

NOW = datetime(2026, 11, 29, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("5", 5.0),
        (" 0 ", 0.0),
        ("Sun, 29 Nov 2026 10:00:07 GMT", 7.0),
        ("Sun, 29 Nov 2026 09:59:00 GMT", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-3", None),
    ],
)
def test_retry_after(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value, NOW) == seconds


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (429, True),
        (500, True),
        (503, True),
        (599, True),
        (400, False),
        (404, False),
        (409, False),
        (202, False),
    ],
)
def test_retryable_statuses(status: int, retryable: bool) -> None:
    assert is_retryable_status(status) is retryable


def test_a_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="initial_delay"):
        RetryPolicy(initial_delay=5, max_delay=1)
    with pytest.raises(ValueError, match="multiplier"):
        RetryPolicy(multiplier=0.5)
