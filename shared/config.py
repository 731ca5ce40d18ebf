"""Settings read from the environment, and the defaults both Terraform and the local stack use."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.domain.conflict import CANCELLED_STATUSES, Statuses
from shared.errors import ConfigurationError

# Resource names: terraform/variables.tf has the same defaults; a test fails when they drift.
DEFAULT_ORDERS_TOPIC = "customer-orders"
# The pos function's store updates: a topic of their own, which the OMS's ingest cannot
# publish to and the pos function alone can.
DEFAULT_STORE_UPDATES_TOPIC = "customer-order-store-updates"
DEFAULT_STORE_UPDATES_SUBSCRIPTION = "customer-order-store-updates-processor"
DEFAULT_EVENTS_TOPIC = "customer-order-events"
DEFAULT_PROCESSOR_SUBSCRIPTION = "customer-orders-processor"
DEFAULT_DEAD_LETTER_TOPIC = "customer-orders-dead-letter"
DEFAULT_DEAD_LETTER_SUBSCRIPTION = "customer-orders-dead-letter"
DEFAULT_MAX_DELIVERY_ATTEMPTS = 10
DEFAULT_FIRESTORE_DATABASE = "(default)"
# The statuses the conflict rule reads (terraform/variables.tf has the same defaults).
DEFAULT_CANCELLED_STATUSES = CANCELLED_STATUSES

# Bounded so that a request never waits on the client's own ordering retry deadline
# (2**32 s): the caller gets a 503 and retries instead.
DEFAULT_PUBLISH_TIMEOUT_SECONDS = 10.0
DEFAULT_RETRY_AFTER_SECONDS = 5
DEFAULT_FIRESTORE_TIMEOUT_SECONDS = 10.0
# How long the pos function keeps a grant it read (terraform/variables.tf pos_grants_cache_seconds
# has the same default): a revocation takes effect within it. Never more than a minute.
DEFAULT_GRANTS_CACHE_SECONDS = 30.0
MAX_GRANTS_CACHE_SECONDS = 60.0
# The emulators' variables: only where one is set may the pos function accept the local
# stack's own tokens, and answer a request without a token as the local all-stores POS.
EMULATOR_VARIABLES = ("FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST")


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
    store_updates_topic: str = DEFAULT_STORE_UPDATES_TOPIC
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
    def store_updates_topic_path(self) -> str:
        return f"projects/{self.project_id}/topics/{self.store_updates_topic}"

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
            store_updates_topic=env.get("STORE_UPDATES_TOPIC", DEFAULT_STORE_UPDATES_TOPIC),
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
    listed = env.get("CANCELLED_STATUSES", "")
    cancelled = frozenset(name.strip() for name in listed.split(",") if name.strip()) or frozenset(
        DEFAULT_CANCELLED_STATUSES
    )
    return Statuses(cancelled=cancelled)


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


@dataclass(frozen=True, slots=True)
class LocalIssuer:
    """The local stack's token signer (shared/tools/dev_identity.py): its issuer and keys."""

    issuer: str
    certs_url: str


@dataclass(frozen=True, slots=True)
class AccessSettings:
    """Who may call the pos function: the audiences its ID tokens must name, and the grants."""

    audiences: tuple[str, ...]
    grants_cache_seconds: float = DEFAULT_GRANTS_CACHE_SECONDS
    # Set only under the emulators (from_env refuses it elsewhere).
    local_issuer: LocalIssuer | None = None

    @property
    def local(self) -> bool:
        """Under the emulators: a request without a token is the local all-stores POS."""
        return self.local_issuer is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AccessSettings:
        env = os.environ if environ is None else environ
        audiences = tuple(a.strip() for a in env.get("POS_AUDIENCES", "").split(",") if a.strip())
        if not audiences:
            raise ConfigurationError(
                "POS_AUDIENCES must list the pos function's URLs (the ID tokens' audience)"
            )
        cache = _positive_float(env, "POS_GRANTS_CACHE_SECONDS", DEFAULT_GRANTS_CACHE_SECONDS)
        if cache > MAX_GRANTS_CACHE_SECONDS:
            raise ConfigurationError(
                f"POS_GRANTS_CACHE_SECONDS must be at most {MAX_GRANTS_CACHE_SECONDS:.0f} (a "
                f"revocation takes effect within it), got {cache:g}"
            )
        issuer = env.get("POS_LOCAL_ISSUER", "").strip()
        certs_url = env.get("POS_LOCAL_CERTS_URL", "").strip()
        local = None
        if issuer or certs_url:
            if not any(env.get(name) for name in EMULATOR_VARIABLES):
                raise ConfigurationError(
                    "POS_LOCAL_ISSUER and POS_LOCAL_CERTS_URL are accepted only under the "
                    f"emulators ({' or '.join(EMULATOR_VARIABLES)} set): never in production"
                )
            if not (issuer and certs_url):
                raise ConfigurationError("POS_LOCAL_ISSUER and POS_LOCAL_CERTS_URL go together")
            local = LocalIssuer(issuer, certs_url)
        return cls(audiences, cache, local)
