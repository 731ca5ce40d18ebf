"""The 503s: a Google service did not answer in time, and the caller should try again."""

from __future__ import annotations

from shared.domain.problems import Rejected, problem


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
