"""Pub/Sub push Cloud Function ``process``: stores each order and announces it as an event.

The composition root and a thin adapter: functions-framework turns the push
envelope into a CloudEvent; :class:`shared.processor.Processor` decides.
Returning acks the message; raising answers an error, so Pub/Sub delivers it again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import functions_framework
import werkzeug.exceptions
from cloudevents.http import CloudEvent

from shared import log
from shared.config import Settings
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
    try:
        processor.get().process(cloud_event.data or {}, str(cloud_event["id"]))
    except (UndecodableMessage, StoreRefused) as exc:
        raise werkzeug.exceptions.UnprocessableEntity("can never be stored") from exc
    except (StoreUnavailable, PublishFailed) as exc:
        raise werkzeug.exceptions.ServiceUnavailable("store or events topic unavailable") from exc
