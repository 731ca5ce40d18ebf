"""Pub/Sub clients for the command line: the emulator when its variable is set, else ADC."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from shared.errors import one_line
from shared.tools.errors import DlqError

if TYPE_CHECKING:
    from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient

T = TypeVar("T")

# A replay waits for each chunk's confirmations, so a long batch window only adds
# latency (docs/platform.md: publish p50 12.7 ms at the default 10 ms, 2.3 ms at 1 ms).
BATCH_MAX_LATENCY_SECONDS = 0.001

EMULATOR_HOST_VARIABLE = "PUBSUB_EMULATOR_HOST"


def where(project_id: str) -> str:
    """Which Pub/Sub the tool talks to, for error messages."""
    host = os.environ.get(EMULATOR_HOST_VARIABLE)
    if host:
        return f"the Pub/Sub emulator at {host} ({EMULATOR_HOST_VARIABLE})"
    return f"project {project_id}"


def resource_path(project_id: str, kind: str, name: str) -> str:
    """``projects/P/{kind}/NAME``; a name that already is a full path is taken as it is."""
    if name.startswith("projects/"):
        if name.split("/")[2:3] != [kind] or len(name.split("/")) != 4:
            raise DlqError(f"{name!r} is not of the form projects/PROJECT/{kind}/NAME")
        return name
    if "/" in name or not name:
        raise DlqError(f"{kind[:-1]} name {name!r} must be a plain name or projects/P/{kind}/NAME")
    return f"projects/{project_id}/{kind}/{name}"


def new_subscriber() -> SubscriberClient:
    from google.cloud import pubsub_v1

    return _with_credentials(pubsub_v1.SubscriberClient)


def new_publisher() -> PublisherClient:
    from google.cloud import pubsub_v1

    return _with_credentials(
        lambda: pubsub_v1.PublisherClient(
            batch_settings=pubsub_v1.types.BatchSettings(max_latency=BATCH_MAX_LATENCY_SECONDS),
            publisher_options=pubsub_v1.types.PublisherOptions(enable_message_ordering=True),
        )
    )


def _with_credentials(factory: Callable[[], T]) -> T:
    from google.auth.exceptions import GoogleAuthError

    try:
        return factory()
    except GoogleAuthError as exc:
        raise DlqError(
            f"no usable Google credentials ({one_line(exc, named=False)}); run "
            f"`gcloud auth application-default login`, or set {EMULATOR_HOST_VARIABLE} "
            "to use the emulator"
        ) from None
