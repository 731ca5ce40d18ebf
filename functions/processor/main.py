"""Pub/Sub push Cloud Function ``process``: stores each order under the conflict rule.

A thin adapter: functions-framework turns the push envelope into a CloudEvent;
:func:`shared.processor.process_push` decides. Returning acks the message;
raising answers 500, so Pub/Sub delivers it again.
"""

from __future__ import annotations

import functions_framework
from cloudevents.http import CloudEvent

from shared.config import Settings
from shared.firestore_store import FirestoreOrderStore, new_firestore_client
from shared.lazy import Lazy
from shared.processor import process_push


def _new_store() -> FirestoreOrderStore:
    settings = Settings.from_env()
    client = Lazy(lambda: new_firestore_client(settings))
    return FirestoreOrderStore(client.get, timeout_seconds=settings.firestore_timeout_seconds)


_store = Lazy(_new_store)


@functions_framework.cloud_event
def process(cloud_event: CloudEvent) -> None:
    process_push(cloud_event.data or {}, str(cloud_event["id"]), _store.get())
