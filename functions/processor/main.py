"""Pub/Sub push Cloud Function ``process``: applies each change to its order and announces it.

The composition root and a thin adapter: functions-framework turns the push
envelope into a CloudEvent; :class:`shared.processor.Processor` decides.
Returning acks the message; raising answers an error, so Pub/Sub delivers it again.

Two subscriptions push here, each to its own path: the orders topic's to ``/``, the
store-updates topic's to ``/store-updates`` (terraform/pubsub.tf). The path says which
topic a message came from: only Pub/Sub, with the push identity, may invoke this
function, so no publisher can choose it (docs/design.md#store-updates-and-their-messages).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import flask
import functions_framework
import werkzeug.exceptions
from cloudevents.http import CloudEvent

from shared import log
from shared.config import Settings
from shared.domain.messages import source_of_push_path
from shared.errors import PublishFailed, StoreRefused, StoreUnavailable, UndecodableMessage
from shared.lazy import Lazy

if TYPE_CHECKING:
    from shared.processor import Processor

# Read at start, so that a bad deployment fails to start instead of failing every push.
settings = Settings.from_env()
log.configure()


def _new_processor() -> Processor:
    # Imported here to keep the gRPC stack off the import path until the first push.
    from shared.adapters.firestore import FirestoreOrderStore
    from shared.adapters.pubsub import PubSubEventPublisher
    from shared.processor import Processor

    return Processor(
        FirestoreOrderStore.from_settings(settings),
        PubSubEventPublisher.from_settings(settings),
        statuses=settings.statuses,
    )


processor = Lazy(_new_processor)


@functions_framework.cloud_event
def process(cloud_event: CloudEvent) -> None:
    # Processor.process has logged each of these in one line; answered as HTTP errors
    # they nack the message without the traceback Flask logs for an exception. Anything
    # else is a bug: it raises, and its traceback is logged.
    source = source_of_push_path(flask.request.path)
    try:
        processor.get().process(cloud_event.data or {}, str(cloud_event["id"]), source)
    except (UndecodableMessage, StoreRefused) as exc:
        raise werkzeug.exceptions.UnprocessableEntity("can never be stored") from exc
    except (StoreUnavailable, PublishFailed) as exc:
        raise werkzeug.exceptions.ServiceUnavailable("store or events topic unavailable") from exc
