"""Pub/Sub adapters of the order and the event publisher ports (:mod:`shared.ports`).

One Publish RPC per message. A PUT waits for its own confirmation and every
order has its own ordering key, so google-cloud-pubsub's batching client never
batches anything here; its per-key sequencers, commit timer and one thread per
batch cost twice the CPU of the RPC itself and halved ingest throughput (``make
bench``, docs/performance.md#why-the-code-is-as-it-is). The GAPIC client sends the
RPC from the calling thread; the ordering key still travels on the message, so the
subscription still delivers in order, and with no sequencer no key is ever paused. The processor
publishes one order's events one at a time (the next message of the order is only
pushed once this one is acknowledged), so they reach Pub/Sub in order too.
"""

from __future__ import annotations

from collections.abc import Mapping

from google.api_core import exceptions
from google.api_core.retry import Retry
from google.pubsub_v1 import PublisherClient, PublishRequest, PubsubMessage

from shared.config import Settings
from shared.domain.events import OrderEvent
from shared.domain.messages import PublishedMessage
from shared.errors import PublishFailed, one_line
from shared.ports import EventPublisher, OrderPublisher

# Worth another attempt within the caller's deadline: the service said "not now".
RETRYABLE_ERRORS = (
    exceptions.ServiceUnavailable,
    exceptions.DeadlineExceeded,
    exceptions.InternalServerError,
    exceptions.Aborted,
    exceptions.ResourceExhausted,
    exceptions.Unknown,
)
RETRY_INITIAL_DELAY_SECONDS = 0.05


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, RETRYABLE_ERRORS)


def publish_retry(deadline_seconds: float) -> Retry:
    return Retry(
        predicate=is_retryable, initial=RETRY_INITIAL_DELAY_SECONDS, timeout=deadline_seconds
    )


class TopicPublisher:
    """Publishes one message to one topic and waits for Pub/Sub's confirmation."""

    def __init__(self, client: PublisherClient, topic: str, *, timeout_seconds: float) -> None:
        self._client = client
        self._topic = topic
        self._timeout = timeout_seconds
        self._retry = publish_retry(timeout_seconds)

    def publish(self, data: bytes, attributes: Mapping[str, str], ordering_key: str) -> str:
        """The message id; :class:`PublishFailed` when the publish is unconfirmed."""
        # The raw protobuf request: proto-plus's conversion of the message and its
        # attributes cost ten times as much CPU (30 against 4 µs a PUT).
        request = PublishRequest.pb()(
            topic=self._topic,
            messages=[
                PubsubMessage.pb()(data=data, attributes=attributes, ordering_key=ordering_key)
            ],
        )
        try:
            response = self._client.publish(
                request=PublishRequest.wrap(request), retry=self._retry, timeout=self._timeout
            )
        except Exception as exc:
            # Whatever went wrong, the publish is unconfirmed: the caller gets a retryable answer.
            raise PublishFailed(one_line(exc)) from exc
        message_id: str = response.message_ids[0]
        return message_id


class PubSubOrderPublisher(OrderPublisher):
    """Publishes to one topic: the orders topic (ingest), or the store-updates topic (pos)."""

    def __init__(self, topic: TopicPublisher) -> None:
        self._topic = topic

    @classmethod
    def from_settings(cls, settings: Settings) -> PubSubOrderPublisher:
        """The orders topic's: ingest's."""
        return cls.to_topic(settings, settings.orders_topic_path)

    @classmethod
    def store_updates_from_settings(cls, settings: Settings) -> PubSubOrderPublisher:
        """The store-updates topic's: the pos function's."""
        return cls.to_topic(settings, settings.store_updates_topic_path)

    @classmethod
    def to_topic(cls, settings: Settings, topic_path: str) -> PubSubOrderPublisher:
        # The GAPIC client honours PUBSUB_EMULATOR_HOST itself.
        return cls(
            TopicPublisher(
                PublisherClient(), topic_path, timeout_seconds=settings.publish_timeout_seconds
            )
        )

    def publish(self, message: PublishedMessage) -> str:
        return self._topic.publish(message.data, message.attributes, message.ordering_key)


class PubSubEventPublisher(EventPublisher):
    def __init__(self, topic: TopicPublisher) -> None:
        self._topic = topic

    @classmethod
    def from_settings(cls, settings: Settings) -> PubSubEventPublisher:
        return cls(
            TopicPublisher(
                PublisherClient(),
                settings.events_topic_path,
                timeout_seconds=settings.publish_timeout_seconds,
            )
        )

    def publish(self, event: OrderEvent) -> str:
        return self._topic.publish(event.data, event.attributes, event.ordering_key)
