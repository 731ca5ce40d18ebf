"""An :class:`~shared.api.service.ApiService` as an HTTP Cloud Function: Flask in, Flask out.

Both HTTP functions (ingest, pos) are this adapter around their own service.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import flask
import functions_framework
import werkzeug.exceptions

from shared.api.service import ApiService
from shared.domain.http import HttpRequest, HttpResponse, discard_rest
from shared.domain.problems import problem
from shared.lazy import Lazy


def http_function(
    service: Lazy[ApiService], log: logging.Logger
) -> Callable[[flask.Request], flask.Response]:
    """The function's entry point; registers the error handlers that keep answers problem+json."""

    def answer(request: flask.Request) -> flask.Response:
        response = service.get().handle(
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
        return _flask_response(response)

    # Some requests never reach the function: werkzeug's router matches no path with a
    # newline in it (an id of "a%0Ab"), and functions-framework keeps /robots.txt and
    # /favicon.ico for itself. Flask would answer those with an HTML 404; the service
    # answers them as it answers everything, with problem+json.
    def not_routed(error: werkzeug.exceptions.NotFound) -> flask.Response:
        return answer(flask.request)

    # What escapes the service (its clients could not be built) still answers problem+json.
    def internal_error(error: Exception) -> flask.Response | werkzeug.exceptions.HTTPException:
        if isinstance(error, werkzeug.exceptions.HTTPException):
            return error
        log.error("request failed before the service could answer", exc_info=error)
        return _flask_response(
            HttpResponse.from_problem(
                problem(500, "internal-error", "the request failed; it is logged for the operators")
            )
        )

    functions_framework.errorhandler(werkzeug.exceptions.NotFound)(not_routed)
    functions_framework.errorhandler(Exception)(internal_error)
    return answer


def _flask_response(answer: HttpResponse) -> flask.Response:
    return flask.Response(answer.body, status=answer.status, headers=dict(answer.headers))
