"""The limits the framework sets: functions-framework functions that do nothing, or only RPCs.

``bare`` answers every HTTP request 204, ``bare_publish`` publishes each body and
then answers 204, ``bare_push`` acknowledges every pushed message, and
``bare_push_store`` makes the processor's three RPCs for each (read the version,
write the order, publish its event) through the same clients and nothing else. All
run under the same gunicorn worker and thread settings as ``ingest`` and
``process``, so a ratio against them is what the service costs on top of the
framework, the server, the clients and (for pushes) the Pub/Sub emulator.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

import flask
import functions_framework
from cloudevents.http import CloudEvent

_lock = threading.Lock()
_in_flight = 0
# A slow endpoint shows how many pushes the emulator keeps in flight at once;
# without a delay two overlapping pushes would rarely be caught.
_PUSH_DELAY_SECONDS = float(os.environ.get("BENCH_PUSH_DELAY_SECONDS", "0"))


@functions_framework.http
def bare(request: flask.Request) -> flask.Response:
    # Read the body as ingest does, so both pay for receiving the same bytes.
    request.get_data()
    return flask.Response(status=204)


_publisher: Any = None


@functions_framework.http
def bare_publish(request: flask.Request) -> flask.Response:
    """The least any ingest can do: publish the body as it came in one RPC, then 204.

    No validation, no logging, no answer body: what is left between this and
    ``bare`` is the Publish RPC, its client and the Pub/Sub emulator's share of the CPU.
    """
    global _publisher
    from google.pubsub_v1 import PublisherClient, PublishRequest, PubsubMessage

    with _lock:
        if _publisher is None:
            _publisher = PublisherClient()
    topic = f"projects/{os.environ['GOOGLE_CLOUD_PROJECT']}/topics/{os.environ['ORDERS_TOPIC']}"
    # The same raw protobuf request ingest sends, so only the work around it differs.
    message = PubsubMessage.pb()(data=request.get_data(), ordering_key=request.path)
    publish = PublishRequest.pb()(topic=topic, messages=[message])
    _publisher.publish(request=PublishRequest.wrap(publish), timeout=10)
    return flask.Response(status=204)


@functions_framework.cloud_event
def bare_push(cloud_event: CloudEvent) -> None:
    """One log line per push: when it was acknowledged, and how many were in flight."""
    global _in_flight
    with _lock:
        _in_flight += 1
        in_flight = _in_flight
    try:
        if _PUSH_DELAY_SECONDS:
            time.sleep(_PUSH_DELAY_SECONDS)
        # A push is acknowledged once this returns; the line is written just before.
        sys.stdout.write(f"bench-push {time.time():.6f} {in_flight}\n")
        sys.stdout.flush()
    finally:
        with _lock:
            _in_flight -= 1


_firestore: Any = None


@functions_framework.cloud_event
def bare_push_read(cloud_event: CloudEvent) -> None:
    """The least any processor can do on its first push: build its client, read one document.

    The cold-start baseline of ``process``; like ``bare_publish`` for ingest, it pays
    for the gRPC stack, the client and one round trip, and for nothing else.
    """
    global _firestore
    from google.cloud import firestore

    with _lock:
        if _firestore is None:
            _firestore = firestore.Client()
    _firestore.document("bench/cold-start").get()


_clients: dict[str, Any] = {}


def _store_clients() -> dict[str, Any]:
    from google.cloud import firestore
    from google.pubsub_v1 import PublisherClient

    with _lock:
        if not _clients:
            _clients["firestore"] = firestore.Client()
            _clients["publisher"] = PublisherClient()
    return _clients


@functions_framework.cloud_event
def bare_push_store(cloud_event: CloudEvent) -> None:
    """The least any processor of versions and events can do for one pushed order.

    Decode the data, read the document's version fields with the high-level get,
    commit one raw Write of the body conditional on what the read saw (the
    GAPIC client, as the processor does) and publish the data with an ordering key:
    the processor's three RPCs, without its decisions, checks, conversions and log lines.
    """
    import base64

    from google.cloud.firestore_v1.types import CommitRequest, Write
    from google.pubsub_v1 import PublishRequest, PubsubMessage

    clients = _store_clients()
    message = (cloud_event.data or {})["message"]
    data = base64.b64decode(message["data"])
    attributes = message.get("attributes") or {}
    client = clients["firestore"]
    path = (
        f"business-units/{attributes['businessUnitId']}"
        f"/customer-orders/{attributes['customerOrderId']}"
    )
    snapshot = client.document(path).get(field_paths=["sourceVersion", "receivedAt"], timeout=10)
    write = Write.pb()()
    write.update.name = f"{client._database_string}/documents/{path}"
    write.update.fields["body"].bytes_value = data
    # The processor's condition: unchanged since the read (a redelivered probe finds it stored).
    if snapshot.exists:
        write.current_document.update_time.CopyFrom(snapshot.update_time.timestamp_pb())
    else:
        write.current_document.exists = False
    commit = CommitRequest.pb()(database=client._database_string, writes=[write])
    client._firestore_api.commit(request=CommitRequest.wrap(commit), timeout=10)
    topic = f"projects/{os.environ['GOOGLE_CLOUD_PROJECT']}/topics/{os.environ['EVENTS_TOPIC']}"
    published = PubsubMessage.pb()(data=data, ordering_key=path)
    request = PublishRequest.pb()(topic=topic, messages=[published])
    clients["publisher"].publish(request=PublishRequest.wrap(request), timeout=10)
