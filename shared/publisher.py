"""The publish port of the ingest function: the Pub/Sub adapter, and an in-memory one for tests."""

from __future__ import annotations

import abc
import contextlib
import itertools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from shared.config import Settings
from shared.errors import PublishFailed
from shared.messages import OrderMessage

if TYPE_CHECKING:
    from google.cloud.pubsub_v1 import PublisherClient

# A 1 ms batch window instead of the default 10 ms: each request waits for its
# own publish, so batching only adds latency (platform notes: p50 12.7 -> 2.3 ms).
BATCH_MAX_LATENCY_SECONDS = 0.001


class OrderPublisher(abc.ABC):
    @abc.abstractmethod
    def publish(self, message: OrderMessage) -> str:
        """Publish and wait for the confirmation; the message id, or :class:`PublishFailed`."""


class InMemoryOrderPublisher(OrderPublisher):
    """Records what would have been published; for unit tests and nothing else."""

    def __init__(self) -> None:
        self.published: list[OrderMessage] = []
        self.fail_with: Exception | None = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def publish(self, message: OrderMessage) -> str:
        if self.fail_with is not None:
            raise PublishFailed(str(self.fail_with)) from self.fail_with
        with self._lock:
            self.published.append(message)
            return str(next(self._ids))


def new_publisher_client() -> PublisherClient:
    from google.cloud import pubsub_v1

    return pubsub_v1.PublisherClient(
        batch_settings=pubsub_v1.types.BatchSettings(max_latency=BATCH_MAX_LATENCY_SECONDS),
        publisher_options=pubsub_v1.types.PublisherOptions(enable_message_ordering=True),
    )


class PubSubOrderPublisher(OrderPublisher):
    def __init__(self, client_factory: Callable[[], PublisherClient], settings: Settings) -> None:
        self._client_factory = client_factory
        self._topic = settings.orders_topic_path
        self._timeout = settings.publish_timeout_seconds

    def publish(self, message: OrderMessage) -> str:
        from google.api_core.retry import Retry

        client = self._client_factory()
        future = client.publish(
            self._topic,
            message.data,
            ordering_key=message.ordering_key,
            retry=Retry(predicate=_is_retryable_publish_error, timeout=self._timeout, initial=0.05),
            timeout=self._timeout,
            **message.attributes,
        )
        try:
            message_id: str = future.result(timeout=self._timeout)
        except Exception as exc:
            # Whatever went wrong, the publish is unconfirmed, so the caller gets a
            # retryable answer. A failed publish also pauses the key; without
            # resuming it every later PUT of this order would fail too.
            _resume_if_paused(client, self._topic, message.ordering_key)
            raise PublishFailed(f"{type(exc).__name__}: {exc}") from exc
        return message_id


def _resume_if_paused(client: PublisherClient, topic: str, ordering_key: str) -> None:
    # A publish that timed out is still pending, so its key is not paused (yet),
    # and the client raises RuntimeError when asked to resume a key that is not.
    with contextlib.suppress(RuntimeError):
        client.resume_publish(topic, ordering_key)


def _is_retryable_publish_error(exc: BaseException) -> bool:
    from google.api_core import exceptions

    return isinstance(
        exc,
        exceptions.ServiceUnavailable
        | exceptions.DeadlineExceeded
        | exceptions.InternalServerError
        | exceptions.Aborted
        | exceptions.ResourceExhausted
        | exceptions.Unknown,
    )
