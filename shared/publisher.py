"""The publish port of the ingest function: the Pub/Sub adapter, and an in-memory one for tests."""

from __future__ import annotations

import abc
import contextlib
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from shared.config import Settings
from shared.errors import PublishFailed
from shared.messages import OrderMessage

if TYPE_CHECKING:
    from google.cloud.pubsub_v1 import PublisherClient

# A 1 ms batch window instead of the default 10 ms: each request waits for its
# own publish, so batching only adds latency (platform notes: p50 12.7 -> 2.3 ms).
# The DLQ tool still batches; ingest publishes through DirectPublisherClient.
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


class DirectPublisherClient:
    """One Publish RPC per message, sent from the calling thread.

    A PUT waits for its own confirmation and every order has its own ordering
    key, so the batching client never batches anything here; its per-key
    sequencers, commit timer and one thread per batch cost twice the CPU of
    the RPC itself and halved ingest throughput (``make bench``, README
    "Performance"). It keeps that client's ``publish``/``resume_publish``
    interface. With no sequencer nothing is ever paused, and the ordering key
    still travels on the message, so the subscription still delivers in order.
    """

    def __init__(self, gapic: Any = None) -> None:
        if gapic is None:
            # The GAPIC layer alone: it honours PUBSUB_EMULATOR_HOST itself, and
            # importing it skips the batching and subscriber machinery.
            from google.pubsub_v1 import PublisherClient as GapicPublisherClient

            gapic = GapicPublisherClient()
        self._gapic = gapic

    def publish(
        self,
        topic: str,
        data: bytes,
        ordering_key: str = "",
        retry: Any = None,
        timeout: float | None = None,
        **attributes: str,
    ) -> Future[str]:
        from google.pubsub_v1 import PubsubMessage

        # Left out, retry and timeout fall back to the GAPIC defaults for Publish.
        options = {"retry": retry, "timeout": timeout}
        message = PubsubMessage(data=data, attributes=attributes, ordering_key=ordering_key)
        future: Future[str] = Future()
        try:
            response = self._gapic.publish(
                topic=topic,
                messages=[message],
                **{name: value for name, value in options.items() if value is not None},
            )
            future.set_result(response.message_ids[0])
        except Exception as exc:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(exc)
        return future

    def resume_publish(self, topic: str, ordering_key: str) -> None:
        """Nothing is ever paused without a sequencer."""


def new_publisher_client() -> DirectPublisherClient:
    return DirectPublisherClient()


class PubSubOrderPublisher(OrderPublisher):
    def __init__(
        self,
        client_factory: Callable[[], PublisherClient | DirectPublisherClient],
        settings: Settings,
    ) -> None:
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
            retry=Retry(predicate=is_retryable_publish_error, timeout=self._timeout, initial=0.05),
            timeout=self._timeout,
            **message.attributes,
        )
        try:
            message_id: str = future.result(timeout=self._timeout)
        except Exception as exc:
            # Whatever went wrong, the publish is unconfirmed, so the caller gets a
            # retryable answer. A failed publish also pauses the key; without
            # resuming it every later PUT of this order would fail too.
            resume_if_paused(client, self._topic, message.ordering_key)
            raise PublishFailed(f"{type(exc).__name__}: {exc}") from exc
        return message_id


def resume_if_paused(
    client: PublisherClient | DirectPublisherClient, topic: str, ordering_key: str
) -> None:
    # A publish that timed out is still pending, so its key is not paused (yet),
    # and the client raises RuntimeError when asked to resume a key that is not.
    with contextlib.suppress(RuntimeError):
        client.resume_publish(topic, ordering_key)


def is_retryable_publish_error(exc: BaseException) -> bool:
    """Errors worth another Publish attempt within the caller's deadline."""
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
