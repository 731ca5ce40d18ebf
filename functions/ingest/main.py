"""HTTP Cloud Function ``ingest``: the OMS PUTs customer orders here.

A thin adapter: Flask request in, :class:`shared.ingest.IngestService` decides,
Flask response out.
"""

from __future__ import annotations

import flask
import functions_framework
import werkzeug.exceptions

from shared.config import Settings
from shared.firestore_store import FirestoreOrderStore, new_firestore_client
from shared.http import HttpRequest, discard_rest
from shared.ingest import IngestService
from shared.lazy import Lazy
from shared.publisher import PubSubOrderPublisher, new_publisher_client


def _new_service() -> IngestService:
    settings = Settings.from_env()
    publisher_client = Lazy(new_publisher_client)
    firestore_client = Lazy(lambda: new_firestore_client(settings))
    publisher = Lazy(lambda: PubSubOrderPublisher(publisher_client.get, settings))
    store = Lazy(
        lambda: FirestoreOrderStore(
            firestore_client.get, timeout_seconds=settings.firestore_timeout_seconds
        )
    )
    return IngestService(publisher.get, store.get, retry_after_seconds=settings.retry_after_seconds)


_service = Lazy(_new_service)


@functions_framework.http
def ingest(request: flask.Request) -> flask.Response:
    return _answer(request)


# Some requests never reach the function: werkzeug's router matches no path with a
# newline in it (an id of "a%0Ab"), and functions-framework keeps /robots.txt and
# /favicon.ico for itself. Flask would answer those with an HTML 404; the service
# answers them as it answers everything, with problem+json.
def _not_routed(error: werkzeug.exceptions.NotFound) -> flask.Response:
    return _answer(flask.request)


functions_framework.errorhandler(werkzeug.exceptions.NotFound)(_not_routed)


def _answer(request: flask.Request) -> flask.Response:
    answer = _service.get().handle(
        HttpRequest(
            method=request.method,
            raw_path=request.environ.get("RAW_URI")
            or request.environ.get("REQUEST_URI")
            or request.path,
            content_type=request.headers.get("Content-Type"),
            content_length=request.content_length,
            body=request.stream,
        )
    )
    # functions-framework reads whatever is left of the body into memory before it
    # answers; a rejected 300 MB body cost 300 MB. Left empty, there is nothing to buffer.
    discard_rest(request.stream)
    return flask.Response(answer.body, status=answer.status, headers=dict(answer.headers))
