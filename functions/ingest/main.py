"""HTTP Cloud Function ``ingest``: the OMS PUTs customer orders here.

The composition root and a thin adapter: Flask request in,
:class:`shared.ingest.IngestService` decides, Flask response out.
"""

from __future__ import annotations

import flask
import functions_framework
import werkzeug.exceptions

from shared import log
from shared.config import Settings
from shared.domain.http import HttpRequest, HttpResponse, discard_rest
from shared.domain.problems import problem
from shared.ingest import IngestService
from shared.lazy import Lazy

# Read at start, so that a bad deployment fails to start instead of failing the first PUT.
settings = Settings.from_env()
log.configure()
_log = log.get_logger("ingest")


def _new_service() -> IngestService:
    # The adapters bring the Google clients; importing them here keeps the gRPC
    # stack off the import path until the first request needs it.
    from shared.adapters.firestore import FirestoreOrderStore
    from shared.adapters.pubsub import PubSubOrderPublisher

    return IngestService(
        PubSubOrderPublisher.from_settings(settings),
        FirestoreOrderStore.from_settings(settings),
        retry_after_seconds=settings.retry_after_seconds,
    )


service = Lazy(_new_service)


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


# What escapes the service (its clients could not be built) still answers problem+json.
def _internal_error(error: Exception) -> flask.Response | werkzeug.exceptions.HTTPException:
    if isinstance(error, werkzeug.exceptions.HTTPException):
        return error
    _log.error("request failed before the service could answer", exc_info=error)
    return _flask_response(
        HttpResponse.from_problem(
            problem(500, "internal-error", "the request failed; it is logged for the operators")
        )
    )


functions_framework.errorhandler(Exception)(_internal_error)


def _answer(request: flask.Request) -> flask.Response:
    answer = service.get().handle(
        HttpRequest(
            method=request.method,
            raw_path=request.environ.get("RAW_URI")
            or request.environ.get("REQUEST_URI")
            or request.path,
            content_type=request.headers.get("Content-Type"),
            content_length=request.content_length,
            body=request.stream,
            headers=dict(request.headers),
        )
    )
    # functions-framework reads whatever is left of the body into memory before it
    # answers; a rejected 300 MB body cost 300 MB. Left empty, there is nothing to buffer.
    discard_rest(request.stream)
    return _flask_response(answer)


def _flask_response(answer: HttpResponse) -> flask.Response:
    return flask.Response(answer.body, status=answer.status, headers=dict(answer.headers))
