"""The 503s: a Google service did not answer in time, and the caller should try again."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from shared.domain.problems import Rejected, problem
from shared.errors import StoreUnavailable

T = TypeVar("T")


def publish_unavailable(retry_after_seconds: int, what: str) -> Rejected:
    return Rejected(
        problem(
            503,
            "publish-unavailable",
            f"Pub/Sub did not confirm the publish in time; send the {what} again",
            headers={"Retry-After": str(retry_after_seconds)},
        )
    )


def store_unavailable(retry_after_seconds: int) -> Rejected:
    return Rejected(
        problem(
            503,
            "store-unavailable",
            "Firestore did not answer; try again",
            headers={"Retry-After": str(retry_after_seconds)},
        )
    )


def read_from_store(read: Callable[[], T], retry_after_seconds: int) -> T:
    """What ``read`` returns from the store, or a 503 problem when Firestore is out of reach."""
    try:
        return read()
    except StoreUnavailable as exc:
        raise store_unavailable(retry_after_seconds) from exc
