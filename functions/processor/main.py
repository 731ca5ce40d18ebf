"""Pub/Sub push Cloud Function ``process``: stores each order under the conflict rule.

The composition root and a thin adapter: functions-framework turns the push
envelope into a CloudEvent; :func:`shared.processor.process_push` decides.
Returning acks the message; raising answers 500, so Pub/Sub delivers it again.
"""

from __future__ import annotations

import functions_framework
import werkzeug.exceptions
from cloudevents.http import CloudEvent

from shared import log
from shared.config import Settings
from shared.errors import StoreRefused, StoreUnavailable, UndecodableMessage
from shared.lazy import Lazy
from shared.ports import OrderStore
from shared.processor import process_push

# Read at start, so that a bad deployment fails to start instead of failing every push.
settings = Settings.from_env()
log.configure()


def _new_store() -> OrderStore:
    # Imported here to keep the gRPC stack off the import path until the first push.
    from shared.adapters.firestore import FirestoreOrderStore

    return FirestoreOrderStore.from_settings(settings)


store = Lazy(_new_store)


@functions_framework.cloud_event
def process(cloud_event: CloudEvent) -> None:
    # process_push has logged each of these in one line; answered as HTTP errors they
    # nack the message without the traceback Flask logs for an exception. Anything
    # else is a bug: it raises, and its traceback is logged.
    try:
        process_push(cloud_event.data or {}, str(cloud_event["id"]), store.get())
    except (UndecodableMessage, StoreRefused) as exc:
        raise werkzeug.exceptions.UnprocessableEntity("can never be stored") from exc
    except StoreUnavailable as exc:
        raise werkzeug.exceptions.ServiceUnavailable("store unavailable") from exc
