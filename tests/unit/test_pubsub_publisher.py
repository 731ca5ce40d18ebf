"""The Pub/Sub adapter: one Publish RPC per order, against a stand-in GAPIC client."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from google.api_core import exceptions

from shared.adapters.pubsub import PubSubOrderPublisher, TopicPublisher, is_retryable
from shared.config import Settings
from shared.errors import PublishFailed
from tests.support import order_message

MESSAGE = order_message("BU1", "CO-1", datetime(2026, 11, 29, tzinfo=UTC))
SETTINGS = Settings(project_id="p", orders_topic="t", publish_timeout_seconds=0.05)


class FakeGapic:
    def __init__(self, outcome: BaseException | None = None) -> None:
        self.outcome = outcome
        self.calls: list[dict[str, Any]] = []

    def publish(self, **kwargs: Any) -> SimpleNamespace:
        self.calls.append(kwargs)
        if self.outcome is not None:
            raise self.outcome
        return SimpleNamespace(message_ids=["7"])


def google_error(kind: type[exceptions.GoogleAPICallError], text: str) -> Exception:
    error: Exception = kind(text)
    return error


def publisher(gapic: FakeGapic) -> PubSubOrderPublisher:
    topic = TopicPublisher(
        gapic,  # type: ignore[arg-type]
        SETTINGS.orders_topic_path,
        timeout_seconds=SETTINGS.publish_timeout_seconds,
    )
    return PubSubOrderPublisher(topic)


def test_one_rpc_per_message_with_key_attributes_and_bounds() -> None:
    gapic = FakeGapic()
    assert publisher(gapic).publish(MESSAGE) == "7"
    [call] = gapic.calls
    request = call["request"]
    assert request.topic == "projects/p/topics/t"
    [sent] = request.messages
    assert sent.data == MESSAGE.data
    assert sent.ordering_key == "BU1/CO-1"
    assert dict(sent.attributes) == MESSAGE.attributes
    assert call["timeout"] == SETTINGS.publish_timeout_seconds
    assert call["retry"] is not None


@pytest.mark.parametrize(
    "failure",
    [
        RuntimeError("unavailable"),
        google_error(exceptions.DeadlineExceeded, "unavailable after 0.05 s"),
    ],
)
def test_a_failed_or_timed_out_rpc_is_a_retryable_publish_failure(failure: Exception) -> None:
    gapic = FakeGapic(failure)
    with pytest.raises(PublishFailed, match="unavailable"):
        publisher(gapic).publish(MESSAGE)
    # Nothing is paused, so the next PUT of the same order goes through.
    gapic.outcome = None
    assert publisher(gapic).publish(MESSAGE) == "7"


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (google_error(exceptions.ServiceUnavailable, "x"), True),
        (google_error(exceptions.DeadlineExceeded, "x"), True),
        (google_error(exceptions.Aborted, "x"), True),
        (google_error(exceptions.InvalidArgument, "x"), False),
        (google_error(exceptions.PermissionDenied, "x"), False),
    ],
)
def test_only_errors_that_mean_not_now_are_retried(error: Exception, retryable: bool) -> None:
    assert is_retryable(error) is retryable
