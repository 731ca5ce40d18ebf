"""Pub/Sub push Cloud Function ``process``: stores each order under the conflict rule.

The composition root and a thin adapter: functions-framework turns the push
envelope into a CloudEvent; :func:`shared.processor.process_push` decides.
Returning acks the message; raising answers 500, so Pub/Sub delivers it again.
"""

from __future__ import annotations

import functions_framework
from cloudevents.http import CloudEvent

from shared import log
from shared.config import Settings
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
    process_push(cloud_event.data or {}, str(cloud_event["id"]), store.get())
