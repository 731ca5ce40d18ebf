"""Settings read from the environment, and the defaults both Terraform and the local stack use."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.domain.conflict import CANCELLED_STATUSES, PICKED_UP_STATUS, Statuses
from shared.errors import ConfigurationError

# Resource names: terraform/variables.tf has the same defaults; a test fails when they drift.
DEFAULT_ORDERS_TOPIC = "customer-orders"
DEFAULT_EVENTS_TOPIC = "customer-order-events"
DEFAULT_PROCESSOR_SUBSCRIPTION = "customer-orders-processor"
DEFAULT_DEAD_LETTER_TOPIC = "customer-orders-dead-letter"
DEFAULT_DEAD_LETTER_SUBSCRIPTION = "customer-orders-dead-letter"
DEFAULT_MAX_DELIVERY_ATTEMPTS = 10
DEFAULT_FIRESTORE_DATABASE = "(default)"
# The statuses the conflict rule reads (terraform/variables.tf has the same defaults).
DEFAULT_PICKED_UP_STATUS = PICKED_UP_STATUS
DEFAULT_CANCELLED_STATUSES = CANCELLED_STATUSES

# Bounded so that a request never waits on the client's own ordering retry deadline
# (2**32 s): the caller gets a 503 and retries instead.
DEFAULT_PUBLISH_TIMEOUT_SECONDS = 10.0
DEFAULT_RETRY_AFTER_SECONDS = 5
DEFAULT_FIRESTORE_TIMEOUT_SECONDS = 10.0


# Each webhook's resources are named after the events topic and the webhook
# (terraform/events.tf names them the same way; a test holds the two together).
def webhook_subscription_name(events_topic: str, webhook: str) -> str:
    """The push subscription that delivers the events topic to one webhook."""
    return f"{events_topic}-{webhook}"


def webhook_dead_letter_name(events_topic: str, webhook: str) -> str:
    """The webhook's dead-letter topic, and the pull subscription that keeps its letters."""
    return f"{events_topic}-{webhook}-dead-letter"


def webhook_replay_name(events_topic: str, webhook: str) -> str:
    """The topic ``orders-dlq replay`` sends a webhook's dead letters to, and its subscription."""
    return f"{events_topic}-{webhook}-replay"


@dataclass(frozen=True, slots=True)
class Settings:
    project_id: str
    orders_topic: str = DEFAULT_ORDERS_TOPIC
    events_topic: str = DEFAULT_EVENTS_TOPIC
    firestore_database: str = DEFAULT_FIRESTORE_DATABASE
    publish_timeout_seconds: float = DEFAULT_PUBLISH_TIMEOUT_SECONDS
    firestore_timeout_seconds: float = DEFAULT_FIRESTORE_TIMEOUT_SECONDS
    retry_after_seconds: int = DEFAULT_RETRY_AFTER_SECONDS
    statuses: Statuses = field(default_factory=Statuses)

    @property
    def orders_topic_path(self) -> str:
        return f"projects/{self.project_id}/topics/{self.orders_topic}"

    @property
    def events_topic_path(self) -> str:
        return f"projects/{self.project_id}/topics/{self.events_topic}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        project_id = env.get("GOOGLE_CLOUD_PROJECT", "").strip()
        if not project_id:
            raise ConfigurationError("GOOGLE_CLOUD_PROJECT must be set to the project id")
        return cls(
            project_id=project_id,
            orders_topic=env.get("ORDERS_TOPIC", DEFAULT_ORDERS_TOPIC),
            events_topic=env.get("EVENTS_TOPIC", DEFAULT_EVENTS_TOPIC),
            firestore_database=env.get("FIRESTORE_DATABASE", DEFAULT_FIRESTORE_DATABASE),
            publish_timeout_seconds=_positive_float(
                env, "PUBLISH_TIMEOUT_SECONDS", DEFAULT_PUBLISH_TIMEOUT_SECONDS
            ),
            firestore_timeout_seconds=_positive_float(
                env, "FIRESTORE_TIMEOUT_SECONDS", DEFAULT_FIRESTORE_TIMEOUT_SECONDS
            ),
            retry_after_seconds=int(
                _positive_float(env, "RETRY_AFTER_SECONDS", DEFAULT_RETRY_AFTER_SECONDS)
            ),
            statuses=_statuses(env),
        )


def _statuses(env: Mapping[str, str]) -> Statuses:
    picked_up = env.get("PICKED_UP_STATUS", "").strip() or DEFAULT_PICKED_UP_STATUS
    listed = env.get("CANCELLED_STATUSES", "")
    cancelled = frozenset(name.strip() for name in listed.split(",") if name.strip()) or frozenset(
        DEFAULT_CANCELLED_STATUSES
    )
    if picked_up in cancelled:
        raise ConfigurationError(
            f"PICKED_UP_STATUS {picked_up!r} cannot also be one of CANCELLED_STATUSES"
        )
    return Statuses(picked_up=picked_up, cancelled=cancelled)


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None
    if not value > 0:
        raise ConfigurationError(f"{name} must be positive, got {raw!r}")
    return value
