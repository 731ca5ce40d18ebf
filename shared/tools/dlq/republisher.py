"""Republishes replay messages, each to its own topic with its ordering key ``BU/ID``."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Any

from google.cloud.pubsub_v1 import PublisherClient

from shared.adapters.pubsub import publish_retry
from shared.errors import one_line
from shared.tools.dlq.operations import PublishResult
from shared.tools.dlq.replay_message import ReplayMessage


class PubSubRepublisher:
    def __init__(self, publisher: PublisherClient, *, timeout: float) -> None:
        self._publisher = publisher
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
        try:
            return self._publisher.publish(
                message.topic,
                message.data,
                ordering_key=message.ordering_key,
                retry=publish_retry(self._timeout),
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
            self._resume_if_paused(message.topic, message.ordering_key)
            return PublishResult(error=one_line(exc))
        return PublishResult(message_id=message_id)

    def _resume_if_paused(self, topic: str, ordering_key: str) -> None:
        # A publish that timed out is still pending, so its key is not paused (yet),
        # and the client raises RuntimeError when asked to resume a key that is not.
        with contextlib.suppress(RuntimeError):
            self._publisher.resume_publish(topic, ordering_key)
