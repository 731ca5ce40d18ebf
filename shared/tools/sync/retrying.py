"""When the client sends a request again, and how long it waits first."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

TOO_MANY_REQUESTS = 429
# 503 and 429 say "not accepted, send again"; other 5xx answers leave open whether
# the order was published before the server failed.
DEFINITELY_NOT_ACCEPTED = frozenset({TOO_MANY_REQUESTS, 503})


def is_retryable_status(status: int) -> bool:
    return status == TOO_MANY_REQUESTS or 500 <= status <= 599


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Truncated exponential backoff with full jitter, bounded in total time per request.

    ``deadline`` bounds the attempts and waits of one order: no wait would end
    past it, so an order is given up as failed at most one request timeout after
    it, and an outage never blocks a run forever.
    """

    initial_delay: float = 0.5
    max_delay: float = 10.0
    multiplier: float = 2.0
    deadline: float = 300.0

    def __post_init__(self) -> None:
        if not 0 < self.initial_delay <= self.max_delay:
            raise ValueError("need 0 < initial_delay <= max_delay")
        if self.multiplier < 1:
            raise ValueError("multiplier must be at least 1")
        if self.deadline < 0:
            raise ValueError("deadline must not be negative")

    def delays(self) -> Iterator[float]:
        """Successive waits: uniform in [0, min(initial * multiplier**n, max_delay)]."""
        from google.api_core.retry import exponential_sleep_generator

        return iter(
            exponential_sleep_generator(self.initial_delay, self.max_delay, self.multiplier)
        )


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """The wait a ``Retry-After`` header asks for (delta-seconds or HTTP-date), or ``None``."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())
