"""The replay republisher's failure handling, against a stand-in batching client."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest

from shared.tools.dlq.replay_message import ReplayMessage
from shared.tools.dlq.republisher import PubSubRepublisher

TOPIC = "projects/p/topics/t"
MESSAGE = ReplayMessage(
    data=b"{}", attributes={"receivedAt": "x"}, ordering_key="BU1/CO-1", topic=TOPIC
)


class PausingClient:
    """Like the real client: only a failed publish pauses its key, and resuming a
    key that is not paused raises RuntimeError."""

    def __init__(self, outcome: str | BaseException) -> None:
        self.outcome = outcome
        self.published: list[tuple[str, bytes, dict[str, Any]]] = []
        self.paused: set[str] = set()
        self.resumed: list[str] = []
        self.resumed_on: list[str] = []

    def publish(self, topic: str, data: bytes, **kwargs: Any) -> Future[str]:
        self.published.append((topic, data, kwargs))
        future: Future[str] = Future()
        if isinstance(self.outcome, BaseException):
            self.paused.add(kwargs["ordering_key"])
            future.set_exception(self.outcome)
        elif self.outcome != "never":
            future.set_result(self.outcome)
        return future

    def resume_publish(self, topic: str, ordering_key: str) -> None:
        if ordering_key not in self.paused:
            raise RuntimeError("Ordering key is not paused.")
        self.paused.discard(ordering_key)
        self.resumed.append(ordering_key)
        self.resumed_on.append(topic)


def republisher(client: PausingClient) -> PubSubRepublisher:
    return PubSubRepublisher(client, timeout=0.05)


def test_a_confirmed_publish_keeps_data_attributes_and_ordering_key() -> None:
    client = PausingClient("42")
    [result] = republisher(client).publish_all([MESSAGE])
    assert result.message_id == "42"
    [(topic, data, kwargs)] = client.published
    assert (topic, data, kwargs["ordering_key"]) == (TOPIC, b"{}", "BU1/CO-1")
    assert kwargs["receivedAt"] == "x"
    assert client.resumed == []


def test_a_failed_publish_resumes_its_key_and_is_reported() -> None:
    client = PausingClient(RuntimeError("boom"))
    [result] = republisher(client).publish_all([MESSAGE])
    assert result.message_id is None
    assert result.error is not None
    assert "boom" in result.error
    assert client.resumed == ["BU1/CO-1"]
    assert client.paused == set()


@pytest.mark.parametrize("outcome", ["never"])
def test_a_timed_out_publish_is_reported_although_its_key_is_not_paused(outcome: str) -> None:
    # Regression: a publish still pending at the timeout left the key unpaused, and
    # resume_publish raised instead of the replay reporting the failure.
    client = PausingClient(outcome)
    [result] = republisher(client).publish_all([MESSAGE])
    assert result.error is not None
    assert client.paused == set()


def test_each_message_goes_to_its_own_topic_and_a_failure_resumes_its_key_there() -> None:
    client = PausingClient(RuntimeError("boom"))
    other = ReplayMessage(b"{}", {}, "BU1/CO-2", topic="projects/p/topics/store-updates")
    republisher(client).publish_all([MESSAGE, other])
    assert [topic for topic, _, _ in client.published] == [TOPIC, other.topic]
    assert client.resumed == ["BU1/CO-1", "BU1/CO-2"]
    # A paused key is paused per topic: resumed where it was published.
    assert client.resumed_on == [TOPIC, other.topic]
