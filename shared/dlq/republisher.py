"""Republishes replay messages to the orders topic, each with its ordering key ``BU/ID``."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shared.dlq.errors import describe_exception
from shared.dlq.operations import PublishResult
from shared.dlq.replay_message import ReplayMessage
from shared.publisher import is_retryable_publish_error, resume_if_paused

if TYPE_CHECKING:
    from google.cloud.pubsub_v1 import PublisherClient


class PubSubRepublisher:
    def __init__(self, publisher: PublisherClient, topic: str, *, timeout: float) -> None:
        self._publisher = publisher
        self._topic = topic
        self._timeout = timeout

    def publish_all(self, messages: Sequence[ReplayMessage]) -> list[PublishResult]:
        futures = [self._publish(message) for message in messages]
        # One deadline for the whole chunk: the publishes are in flight together.
        deadline = time.monotonic() + self._timeout
        return [
            self._confirm(message, future, deadline)
            for message, future in zip(messages, futures, strict=True)
        ]

    def _publish(self, message: ReplayMessage) -> Any:
        from google.api_core.retry import Retry

        try:
            return self._publisher.publish(
                self._topic,
                message.data,
                ordering_key=message.ordering_key,
                retry=Retry(
                    predicate=is_retryable_publish_error, timeout=self._timeout, initial=0.05
                ),
                timeout=self._timeout,
                **message.attributes,
            )
        except Exception as exc:  # noqa: BLE001 - reported per message like a failed future
            return exc

    def _confirm(self, message: ReplayMessage, future: Any, deadline: float) -> PublishResult:
        try:
            if isinstance(future, Exception):
                raise future
            message_id: str = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except Exception as exc:  # noqa: BLE001 - any failure leaves the publish unconfirmed
            # A failed publish pauses its ordering key for this client; without
            # resuming, every later version of the order in this run would fail too.
            resume_if_paused(self._publisher, self._topic, message.ordering_key)
            return PublishResult(error=describe_exception(exc))
        return PublishResult(message_id=message_id)
