"""HTTP Cloud Function ``ingest``: the OMS PUTs customer orders here.

The composition root and a thin adapter: Flask request in,
:func:`shared.api.oms.oms_api` decides, Flask response out.
"""

from __future__ import annotations

import flask
import functions_framework
import werkzeug.exceptions

from shared import log
from shared.api.oms import oms_api
from shared.api.service import ApiService
from shared.config import Settings
from shared.domain.http import HttpRequest, HttpResponse, discard_rest
from shared.domain.problems import problem
from shared.domain.stored_order import (
    OrderRecord,
    OrderSummary,
    Revision,
    StoredOrder,
    StoredVersion,
)
from shared.lazy import Lazy
from shared.ports import OrderStore

# Read at start, so that a bad deployment fails to start instead of failing the first PUT.
settings = Settings.from_env()
log.configure()
_log = log.get_logger("ingest")


class _StoreOnFirstRead(OrderStore):
    """The Firestore store, built by the first GET or search.

    A PUT needs no Firestore: importing its client cost the first PUT of an
    instance about 100 ms of its cold start (README "Performance", row 4).
    """

    def __init__(self) -> None:
        self._store = Lazy(self._new_store)

    @staticmethod
    def _new_store() -> OrderStore:
        from shared.adapters.firestore import FirestoreOrderStore

        return FirestoreOrderStore.from_settings(settings)

    def read_version(self, business_unit_id: str, customer_order_id: str) -> StoredVersion | None:
        return self._store.get().read_version(business_unit_id, customer_order_id)

    def get(self, business_unit_id: str, customer_order_id: str) -> StoredOrder | None:
        return self._store.get().get(business_unit_id, customer_order_id)

    def write(self, record: OrderRecord, *, replacing: Revision | None) -> None:
        self._store.get().write(record, replacing=replacing)

    def find_by_customer(
        self, business_unit_id: str, customer_id: str, *, limit: int, after: str | None
    ) -> list[OrderSummary]:
        return self._store.get().find_by_customer(
            business_unit_id, customer_id, limit=limit, after=after
        )


def _new_service() -> ApiService:
    # The adapters bring the Google clients; importing them here keeps the gRPC
    # stack off the import path until the first request needs it.
    from shared.adapters.pubsub import PubSubOrderPublisher

    return oms_api(
        PubSubOrderPublisher.from_settings(settings),
        _StoreOnFirstRead(),
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
