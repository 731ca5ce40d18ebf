"""The synchronous Publish client ingest uses, against a stand-in GAPIC client."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from shared.config import Settings
from shared.errors import PublishFailed
from shared.messages import OrderMessage
from shared.publisher import DirectPublisherClient, PubSubOrderPublisher
from tests.support import order_body

MESSAGE = OrderMessage(
    "BU1", "CO-1", datetime(2026, 11, 29, tzinfo=UTC), order_body("CO-1")["customerOrder"]
)
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


def test_one_rpc_per_message_with_key_attributes_and_bounds() -> None:
    gapic = FakeGapic()
    publisher = PubSubOrderPublisher(lambda: DirectPublisherClient(gapic), SETTINGS)
    assert publisher.publish(MESSAGE) == "7"
    [call] = gapic.calls
    assert call["topic"] == "projects/p/topics/t"
    [sent] = call["messages"]
    assert sent.data == MESSAGE.data
    assert sent.ordering_key == "BU1/CO-1"
    assert dict(sent.attributes) == MESSAGE.attributes
    assert call["timeout"] == SETTINGS.publish_timeout_seconds
    assert call["retry"] is not None


def test_left_out_options_fall_back_to_the_gapic_defaults() -> None:
    gapic = FakeGapic()
    assert DirectPublisherClient(gapic).publish("projects/p/topics/t", b"{}").result() == "7"
    assert "retry" not in gapic.calls[0]
    assert "timeout" not in gapic.calls[0]


def test_a_failed_rpc_is_a_retryable_publish_failure() -> None:
    client = DirectPublisherClient(FakeGapic(RuntimeError("unavailable")))
    with pytest.raises(PublishFailed, match="unavailable"):
        PubSubOrderPublisher(lambda: client, SETTINGS).publish(MESSAGE)
    # Nothing is paused, so the next PUT of the same order goes through.
    client.resume_publish("projects/p/topics/t", "BU1/CO-1")
