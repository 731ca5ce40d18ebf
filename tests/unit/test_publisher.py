"""The Pub/Sub adapter's failure handling, against a stand-in client."""

from __future__ import annotations

from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.config import Settings
from shared.errors import PublishFailed
from shared.messages import OrderMessage
from shared.publisher import PubSubOrderPublisher
from tests.support import order_body

MESSAGE = OrderMessage(
    "BU1", "CO-1", datetime(2026, 11, 29, tzinfo=UTC), order_body("CO-1")["customerOrder"]
)


class RecordingClient:
    def __init__(self, outcome: str | BaseException) -> None:
        self.outcome = outcome
        self.published: list[tuple[str, bytes, dict[str, Any]]] = []
        self.resumed: list[tuple[str, str]] = []

    def publish(self, topic: str, data: bytes, **kwargs: Any) -> Future[str]:
        self.published.append((topic, data, kwargs))
        future: Future[str] = Future()
        if isinstance(self.outcome, BaseException):
            future.set_exception(self.outcome)
        elif self.outcome != "never":
            future.set_result(self.outcome)
        return future

    def resume_publish(self, topic: str, ordering_key: str) -> None:
        self.resumed.append((topic, ordering_key))


SETTINGS = Settings(project_id="p", orders_topic="t", publish_timeout_seconds=0.05)


def test_publish_sends_data_attributes_and_ordering_key() -> None:
    client = RecordingClient("42")
    assert PubSubOrderPublisher(lambda: client, SETTINGS).publish(MESSAGE) == "42"
    [(topic, data, kwargs)] = client.published
    assert topic == "projects/p/topics/t"
    assert data == MESSAGE.data
    assert kwargs["ordering_key"] == "BU1/CO-1"
    assert kwargs["receivedAt"] == MESSAGE.attributes["receivedAt"]
    assert kwargs["timeout"] == SETTINGS.publish_timeout_seconds
    assert client.resumed == []


@pytest.mark.parametrize("outcome", [RuntimeError("boom"), "never"])
def test_a_failed_or_unconfirmed_publish_resumes_the_key_and_raises(
    outcome: str | BaseException,
) -> None:
    client = RecordingClient(outcome)
    with pytest.raises(PublishFailed):
        PubSubOrderPublisher(lambda: client, SETTINGS).publish(MESSAGE)
    assert client.resumed == [("projects/p/topics/t", "BU1/CO-1")]


class PausingClient(RecordingClient):
    """Like the real client: only a failed publish pauses its key, and resuming a
    key that is not paused raises RuntimeError."""

    def __init__(self, outcome: str | BaseException) -> None:
        super().__init__(outcome)
        self.paused: set[str] = set()

    def publish(self, topic: str, data: bytes, **kwargs: Any) -> Future[str]:
        if isinstance(self.outcome, BaseException):
            self.paused.add(kwargs["ordering_key"])
        return super().publish(topic, data, **kwargs)

    def resume_publish(self, topic: str, ordering_key: str) -> None:
        if ordering_key not in self.paused:
            raise RuntimeError("Ordering key is not paused.")
        self.paused.discard(ordering_key)
        super().resume_publish(topic, ordering_key)


@pytest.mark.parametrize("outcome", [RuntimeError("boom"), "never"])
def test_a_timed_out_publish_is_retryable_although_its_key_is_not_paused(
    outcome: str | BaseException,
) -> None:
    # Regression: a publish still pending at the timeout left the key unpaused,
    # resume_publish raised, and the PUT answered 500 instead of 503.
    client = PausingClient(outcome)
    with pytest.raises(PublishFailed):
        PubSubOrderPublisher(lambda: client, SETTINGS).publish(MESSAGE)
    assert client.paused == set()
